/* repack_dataset.c: copy a dataset that is not a frame as it is, keeping the committed datatypes it uses. */
#include "repack.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>

static herr_t attribute_is_committed(hid_t location, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    (void)data;
    hid_t attr = H5Aopen(location, name, H5P_DEFAULT);
    hid_t type = attr >= 0 ? H5Aget_type(attr) : -1;
    htri_t committed = type >= 0 ? H5Tcommitted(type) : -1;
    if (type >= 0) H5Tclose(type);
    if (attr >= 0) H5Aclose(attr);
    return committed < 0 ? -1 : committed > 0;
}

/* 1 when the dataset's type or one of its attributes' is committed, 0 when
 * none is, -1 when HDF5 cannot say. */
static int uses_committed_types(hid_t dataset)
{
    hid_t type = H5Dget_type(dataset);
    htri_t committed = type >= 0 ? H5Tcommitted(type) : -1;
    if (type >= 0) H5Tclose(type);
    if (committed != 0) return committed < 0 ? -1 : 1;
    H5O_info_t info;
    if (H5Oget_info2(dataset, &info, H5O_INFO_NUM_ATTRS) < 0) return -1;
    if (info.num_attrs == 0) return 0;
    hsize_t index = 0;
    herr_t found = H5Aiterate2(dataset, H5_INDEX_NAME, H5_ITER_INC, &index, attribute_is_committed, NULL);
    return found < 0 ? -1 : found > 0;
}

/* Chunks as they are stored (filtered bytes and filter mask), unallocated
 * ones left so. Only for types whose bytes hold no pointer into IN's heap. */
static int copy_chunks(hid_t src, hid_t dst, hid_t space)
{
    hsize_t count = 0;
    if (H5Dget_num_chunks(src, space, &count) < 0) return -1;
    for (hsize_t i = 0; i < count; i++) {
        hsize_t offset[H5S_MAX_RANK], size = 0;
        unsigned mask = 0;
        haddr_t addr;
        if (H5Dget_chunk_info(src, space, i, offset, &mask, &addr, &size) < 0) return -1;
        if (size > SIZE_MAX) return -1;
        void *bytes = malloc(size ? (size_t)size : 1);
        uint32_t read_mask = 0;
        int rc = bytes && H5Dread_chunk(src, H5P_DEFAULT, offset, &read_mask, bytes) >= 0 &&
                         H5Dwrite_chunk(dst, H5P_DEFAULT, read_mask, offset, (size_t)size, bytes) >= 0
                     ? 0
                     : -1;
        free(bytes);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Every element through HDF5 in the type's own memory form. */
static int copy_elements(hid_t src, hid_t dst, hid_t space)
{
    hssize_t points = H5Sget_simple_extent_npoints(space);
    hid_t type = H5Dget_type(src);
    hid_t memory = type >= 0 ? H5Tcopy(type) : -1;
    size_t size = memory >= 0 ? H5Tget_size(memory) : 0;
    int rc = -1;
    if (type >= 0) H5Tclose(type);
    if (points >= 0 && size > 0 && (uint64_t)points <= SIZE_MAX / size) {
        void *buf = calloc(points ? (size_t)points : 1, size);
        if (buf && H5Dread(src, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) {
            rc = H5Dwrite(dst, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0 ? -1 : 0;
            H5Dvlen_reclaim(memory, space, H5P_DEFAULT, buf);
        }
        free(buf);
    }
    if (memory >= 0) H5Tclose(memory);
    return rc;
}

/* The data, unless the dataset has none to copy: never written, or stored
 * outside the file (external files and virtual mappings stay shared, as
 * H5Ocopy leaves them). */
static int copy_data(hid_t src, hid_t dst, hid_t dcpl, hid_t space)
{
    H5D_layout_t layout = H5Pget_layout(dcpl);
    H5D_space_status_t status;
    if (layout == H5D_VIRTUAL || H5Pget_external_count(dcpl) != 0) return 0;
    if (H5Dget_space_status(src, &status) < 0) return -1;
    if (status == H5D_SPACE_STATUS_NOT_ALLOCATED) return 0;
    hid_t type = H5Dget_type(src);
    htri_t pointers = type >= 0 ? H5Tdetect_class(type, H5T_VLEN) : -1;
    if (pointers == 0 && H5Tget_class(type) == H5T_STRING) pointers = H5Tis_variable_str(type);
    if (type >= 0) H5Tclose(type);
    if (pointers < 0) return -1;
    return layout == H5D_CHUNKED && !pointers ? copy_chunks(src, dst, space) : copy_elements(src, dst, space);
}

/* A new dataset in OUT with OUT's committed type, IN's creation properties,
 * data and attributes. */
static int rebuild(struct repack_ctx *ctx, hid_t src_group, hid_t dst_group, const char *name, const char *path,
                   hid_t lcpl)
{
    hid_t src = H5Dopen2(src_group, name, H5P_DEFAULT);
    hid_t type = src >= 0 ? H5Dget_type(src) : -1;
    hid_t space = src >= 0 ? H5Dget_space(src) : -1;
    hid_t dcpl = src >= 0 ? H5Dget_create_plist(src) : -1;
    hid_t out_type = -1, dst = -1;
    int rc = -1;
    if (type < 0 || space < 0 || dcpl < 0) {
        tool_error("%s: cannot read the dataset's definition", path);
        goto done;
    }
    if (repack_output_type(ctx, type, path, &out_type) < 0) goto done;
    dst = H5Dcreate2(dst_group, name, out_type >= 0 ? out_type : type, space, lcpl, dcpl, H5P_DEFAULT);
    if (dst < 0) {
        tool_error("%s: cannot create the dataset", path);
        goto done;
    }
    if (copy_data(src, dst, dcpl, space) < 0) {
        tool_error("%s: cannot copy the dataset's data", path);
        goto done;
    }
    rc = repack_copy_attributes(ctx, src, dst, NULL, NULL);
    if (rc < 0) tool_error("%s: cannot copy the dataset's attributes", path);
done:
    if (dst >= 0) H5Dclose(dst);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (src >= 0) H5Dclose(src);
    return rc;
}

int repack_copy_dataset(struct repack_ctx *ctx, hid_t src_group, hid_t dst_group, const char *name, const char *path,
                        hid_t lcpl)
{
    hid_t dataset = H5Dopen2(src_group, name, H5P_DEFAULT);
    int committed = dataset >= 0 ? uses_committed_types(dataset) : -1;
    if (dataset >= 0) H5Dclose(dataset);
    if (committed < 0) {
        tool_error("%s: cannot inspect the dataset's datatypes", path);
        return -1;
    }
    if (committed) return rebuild(ctx, src_group, dst_group, name, path, lcpl);
    if (H5Ocopy(src_group, name, dst_group, name, H5P_DEFAULT, lcpl) < 0) {
        tool_error("%s: cannot copy the dataset", path);
        return -1;
    }
    return 0;
}
