/* frame_candidate.c: the facts the shared image detector needs about a dataset, asked of the HDF5 the tools link. */
#include "frame_candidate.h"
#include "hdf5/image_detect.h"

int tool_frame_is_candidate(hid_t dataset)
{
    hid_t type = H5Dget_type(dataset);
    hid_t space = H5Dget_space(dataset);
    h5img_frame_shape shape = {0};
    if (type >= 0 && space >= 0) {
        hssize_t points = H5Sget_simple_extent_npoints(space);
        shape.integer_class = H5Tget_class(type) == H5T_INTEGER;
        shape.type_size = H5Tget_size(type);
        shape.is_unsigned = H5Tget_sign(type) == H5T_SGN_NONE;
        shape.simple = H5Sget_simple_extent_type(space) == H5S_SIMPLE;
        shape.rank = H5Sget_simple_extent_ndims(space);
        shape.points = points > 0 ? (uint64_t)points : 0;
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    return h5img_frame_is_candidate(&shape);
}
