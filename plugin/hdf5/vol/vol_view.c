/* vol_view.c: decides, from a dataset's type, shape, first bytes and path (the shared detector), whether it shows as a decoded image, and describes that image. */
#include "hdf5/image_detect.h"
#include "hdf5/vol/vol_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static herr_t get_from_below(h5img_vol_object *dataset, H5VL_dataset_get_args_t *args, hid_t dxpl_id)
{
    return H5API->H5VLdataset_get(dataset->under_object, dataset->under_vol_id, args, dxpl_id, NULL);
}

/* The facts image_detect.h decides from; 0 when HDF5 cannot say. */
static int stored_shape(h5img_vol_object *dataset, hid_t dxpl_id, h5img_frame_shape *shape)
{
    H5VL_dataset_get_args_t type_args = {.op_type = H5VL_DATASET_GET_TYPE};
    H5VL_dataset_get_args_t space_args = {.op_type = H5VL_DATASET_GET_SPACE};
    memset(shape, 0, sizeof *shape);
    if (get_from_below(dataset, &type_args, dxpl_id) < 0) return 0;
    hid_t type = type_args.args.get_type.type_id;
    if (get_from_below(dataset, &space_args, dxpl_id) < 0) {
        H5API->H5Tclose(type);
        return 0;
    }
    hid_t space = space_args.args.get_space.space_id;
    hssize_t points = H5API->H5Sget_simple_extent_npoints(space);
    shape->integer_class = H5API->H5Tget_class(type) == H5T_INTEGER;
    shape->type_size = H5API->H5Tget_size(type);
    shape->is_unsigned = H5API->H5Tget_sign(type) == H5T_SGN_NONE;
    shape->simple = H5API->H5Sget_simple_extent_type(space) == H5S_SIMPLE;
    shape->rank = H5API->H5Sget_simple_extent_ndims(space);
    shape->points = points > 0 ? (uint64_t)points : 0;
    H5API->H5Tclose(type);
    H5API->H5Sclose(space);
    return 1;
}

/* The path HDF5 opened the dataset by (what the mask convention looks at);
 * "" when it has none, e.g. opened through a reference. malloc()ed. */
static char *dataset_path(h5img_vol_object *dataset, hid_t dxpl_id)
{
    H5VL_loc_params_t self = {.obj_type = H5I_DATASET, .type = H5VL_OBJECT_BY_SELF};
    size_t length = 0;
    H5VL_object_get_args_t args = {.op_type = H5VL_OBJECT_GET_NAME};
    args.args.get_name.buf_size = 0;
    args.args.get_name.buf = NULL;
    args.args.get_name.name_len = &length;
    char *path = NULL;
    if (H5API->H5VLobject_get(dataset->under_object, &self, dataset->under_vol_id, &args, dxpl_id, NULL) >= 0 &&
        (path = malloc(length + 1)) != NULL) {
        args.args.get_name.buf_size = length + 1;
        args.args.get_name.buf = path;
        if (H5API->H5VLobject_get(dataset->under_object, &self, dataset->under_vol_id, &args, dxpl_id, NULL) < 0)
            path[0] = '\0';
        path[length] = '\0';
    }
    if (!path && (path = malloc(1)) != NULL) path[0] = '\0';
    return path;
}

/* HDF5 sets its predefined types when its datatype code is first called,
 * not when the library starts, and the connector may be reached before
 * that: one H5T call makes sure they are set. */
hid_t h5img_vol_native_uint(size_t bytes)
{
    static int types_ready;
    if (!__atomic_load_n(&types_ready, __ATOMIC_ACQUIRE)) {
        hid_t probe = H5API->H5Tcreate(H5T_OPAQUE, 1);
        if (probe >= 0) H5API->H5Tclose(probe);
        __atomic_store_n(&types_ready, 1, __ATOMIC_RELEASE);
    }
    return bytes == 2 ? *H5API->H5T_NATIVE_UINT16_g : *H5API->H5T_NATIVE_UINT8_g;
}

static h5img_vol_kind decide(h5img_vol_object *dataset, hid_t dxpl_id)
{
    h5img_frame_shape shape;
    if (!stored_shape(dataset, dxpl_id, &shape) || !h5img_frame_is_candidate(&shape)) return H5IMG_VOL_PLAIN;
    char *path = dataset_path(dataset, dxpl_id);
    h5img_rule rule = h5img_vol_rule_for(dataset->rules, path);
    h5img_vol_view *view = &dataset->view;
    snprintf(view->path, sizeof view->path, "%s", path ? path : "");
    free(path);
    if (rule == H5IMG_VOL_RULE_KEEP) return H5IMG_VOL_PLAIN;

    h5img_frame_verdict verdict = H5IMG_FRAME_NOT_IMAGE;
    unsigned char *head = NULL;
    size_t want = h5img_frame_next_prefix(shape.points, 0);
    while (want) {
        unsigned char *grown = realloc(head, want);
        if (!grown || !h5img_vol_read_prefix(dataset, shape.points, want, grown, dxpl_id)) {
            head = grown ? grown : head;
            verdict = H5IMG_FRAME_NOT_IMAGE;
            break;
        }
        head = grown;
        h5img_status status;
        verdict = h5img_frame_examine(head, want, shape.points, rule, 0, &view->info, &view->layout, &status);
        if (verdict != H5IMG_FRAME_NEED_MORE) break;
        want = h5img_frame_next_prefix(shape.points, want);
    }
    free(head);
    if (verdict != H5IMG_FRAME_IMAGE) return H5IMG_VOL_PLAIN;
    view->encoded_size = shape.points;
    return H5IMG_VOL_DECODED;
}

h5img_vol_kind h5img_vol_examine(h5img_vol_object *dataset, hid_t dxpl_id)
{
    if (dataset->kind == H5IMG_VOL_UNKNOWN) dataset->kind = decide(dataset, dxpl_id);
    return dataset->kind;
}

/* ------------------------------------------------------------------------- */
/* What the decoded view looks like                                          */
/* ------------------------------------------------------------------------- */

hid_t h5img_vol_view_space(const h5img_vol_view *view)
{
    hsize_t dims[3] = {view->layout.height, view->layout.width, view->layout.channels};
    return H5API->H5Screate_simple(view->layout.channels == 1 ? 2 : 3, dims, NULL);
}

hid_t h5img_vol_view_memory_type(const h5img_vol_view *view)
{
    return h5img_vol_native_uint(view->layout.element_size);
}

hid_t h5img_vol_view_type(const h5img_vol_view *view)
{
    /* Decoded samples are in this machine's order, so that is the view's type. */
    return H5API->H5Tcopy(h5img_vol_view_memory_type(view));
}

/* The stored creation properties, minus what describes the encoded bytes'
 * storage and would contradict the decoded shape: a 1-D chunk and the
 * filters. Storage size and offset queries still describe the bytes. */
herr_t h5img_vol_view_dcpl(h5img_vol_object *dataset, hid_t dxpl_id, hid_t *dcpl_id)
{
    H5VL_dataset_get_args_t args = {.op_type = H5VL_DATASET_GET_DCPL};
    if (get_from_below(dataset, &args, dxpl_id) < 0) return -1;
    hid_t dcpl = args.args.get_dcpl.dcpl_id;
    int ok = 1;
    if (H5API->H5Pget_nfilters(dcpl) > 0) ok = H5API->H5Premove_filter(dcpl, H5Z_FILTER_ALL) >= 0;
    if (ok && H5API->H5Pget_layout(dcpl) == H5D_CHUNKED) ok = H5API->H5Pset_layout(dcpl, H5D_CONTIGUOUS) >= 0;
    if (!ok) {
        H5API->H5Pclose(dcpl);
        H5IMG_VOL_ERROR(*H5API->H5E_DATASET_g, *H5API->H5E_CANTGET_g,
                        "cannot describe the decoded view's creation properties");
        return -1;
    }
    *dcpl_id = dcpl;
    return 0;
}
