/* vol_forward_links.c: link and object callbacks, passed to the connector underneath; an object opened as a dataset can become a decoded view later. */
#include "hdf5/vol/vol_internal.h"

#define O(obj) ((h5img_vol_object *)(obj))

/* Either object of a two-location call may be NULL (the library's own
 * "same location"); the connector beneath is the same for both. */
static hid_t under_id_of(const void *first, const void *second)
{
    return first ? O(first)->under_vol_id : O(second)->under_vol_id;
}

static void *under_of(void *obj)
{
    return obj ? O(obj)->under_object : NULL;
}

/* ---- links ---- */

static herr_t link_create(H5VL_link_create_args_t *args, void *obj, const H5VL_loc_params_t *loc_params,
                          hid_t lcpl_id, hid_t lapl_id, hid_t dxpl_id, void **req)
{
    H5VL_link_create_args_t forwarded = *args;
    void *target = args->op_type == H5VL_LINK_CREATE_HARD ? args->args.hard.curr_obj : NULL;
    if (target) forwarded.args.hard.curr_obj = O(target)->under_object;
    hid_t under_id = under_id_of(obj, target);
    herr_t status =
        H5API->H5VLlink_create(&forwarded, under_of(obj), loc_params, under_id, lcpl_id, lapl_id, dxpl_id, req);
    h5img_vol_wrap_request(req, under_id);
    return status;
}

static herr_t link_copy(void *src_obj, const H5VL_loc_params_t *loc_params1, void *dst_obj,
                        const H5VL_loc_params_t *loc_params2, hid_t lcpl_id, hid_t lapl_id, hid_t dxpl_id, void **req)
{
    hid_t under_id = under_id_of(src_obj, dst_obj);
    herr_t status = H5API->H5VLlink_copy(under_of(src_obj), loc_params1, under_of(dst_obj), loc_params2, under_id,
                                         lcpl_id, lapl_id, dxpl_id, req);
    h5img_vol_wrap_request(req, under_id);
    return status;
}

static herr_t link_move(void *src_obj, const H5VL_loc_params_t *loc_params1, void *dst_obj,
                        const H5VL_loc_params_t *loc_params2, hid_t lcpl_id, hid_t lapl_id, hid_t dxpl_id, void **req)
{
    hid_t under_id = under_id_of(src_obj, dst_obj);
    herr_t status = H5API->H5VLlink_move(under_of(src_obj), loc_params1, under_of(dst_obj), loc_params2, under_id,
                                         lcpl_id, lapl_id, dxpl_id, req);
    h5img_vol_wrap_request(req, under_id);
    return status;
}

static herr_t link_get(void *obj, const H5VL_loc_params_t *loc_params, H5VL_link_get_args_t *args, hid_t dxpl_id,
                       void **req)
{
    herr_t status = H5API->H5VLlink_get(O(obj)->under_object, loc_params, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t link_specific(void *obj, const H5VL_loc_params_t *loc_params, H5VL_link_specific_args_t *args,
                            hid_t dxpl_id, void **req)
{
    herr_t status =
        H5API->H5VLlink_specific(O(obj)->under_object, loc_params, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t link_optional(void *obj, const H5VL_loc_params_t *loc_params, H5VL_optional_args_t *args,
                            hid_t dxpl_id, void **req)
{
    herr_t status =
        H5API->H5VLlink_optional(O(obj)->under_object, loc_params, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

const H5VL_link_class_t h5img_vol_link_class = {link_create, link_copy,     link_move,
                                                link_get,    link_specific, link_optional};

/* ---- objects ---- */

/* h5ls and h5py open datasets this way (H5Oopen), not only through H5Dopen:
 * the wrapper starts UNKNOWN, so the dataset callbacks decide on first use. */
static void *object_open(void *obj, const H5VL_loc_params_t *loc_params, H5I_type_t *opened_type, hid_t dxpl_id,
                         void **req)
{
    void *under =
        H5API->H5VLobject_open(O(obj)->under_object, loc_params, O(obj)->under_vol_id, opened_type, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return h5img_vol_child(O(obj), under);
}

static herr_t object_copy(void *src_obj, const H5VL_loc_params_t *loc_params1, const char *src_name, void *dst_obj,
                          const H5VL_loc_params_t *loc_params2, const char *dst_name, hid_t ocpypl_id, hid_t lcpl_id,
                          hid_t dxpl_id, void **req)
{
    /* The copy is of the stored bytes: H5Ocopy never sees a decoded view. */
    herr_t status = H5API->H5VLobject_copy(O(src_obj)->under_object, loc_params1, src_name, O(dst_obj)->under_object,
                                           loc_params2, dst_name, O(src_obj)->under_vol_id, ocpypl_id, lcpl_id,
                                           dxpl_id, req);
    h5img_vol_wrap_request(req, O(src_obj)->under_vol_id);
    return status;
}

static herr_t object_get(void *obj, const H5VL_loc_params_t *loc_params, H5VL_object_get_args_t *args,
                         hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLobject_get(O(obj)->under_object, loc_params, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t object_specific(void *obj, const H5VL_loc_params_t *loc_params, H5VL_object_specific_args_t *args,
                              hid_t dxpl_id, void **req)
{
    herr_t status =
        H5API->H5VLobject_specific(O(obj)->under_object, loc_params, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t object_optional(void *obj, const H5VL_loc_params_t *loc_params, H5VL_optional_args_t *args,
                              hid_t dxpl_id, void **req)
{
    herr_t status =
        H5API->H5VLobject_optional(O(obj)->under_object, loc_params, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

const H5VL_object_class_t h5img_vol_object_class = {object_open, object_copy, object_get, object_specific,
                                                    object_optional};
