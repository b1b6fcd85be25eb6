/* vol_forward_objects.c: attribute, named datatype and group callbacks: each passes straight to the connector underneath. */
#include "hdf5/vol/vol_internal.h"

#define O(obj) ((h5img_vol_object *)(obj))

/* ---- attributes ---- */

static void *attr_create(void *obj, const H5VL_loc_params_t *loc_params, const char *name, hid_t type_id,
                         hid_t space_id, hid_t acpl_id, hid_t aapl_id, hid_t dxpl_id, void **req)
{
    void *under = H5API->H5VLattr_create(O(obj)->under_object, loc_params, O(obj)->under_vol_id, name, type_id,
                                         space_id, acpl_id, aapl_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return h5img_vol_child(O(obj), under);
}

static void *attr_open(void *obj, const H5VL_loc_params_t *loc_params, const char *name, hid_t aapl_id,
                       hid_t dxpl_id, void **req)
{
    void *under =
        H5API->H5VLattr_open(O(obj)->under_object, loc_params, O(obj)->under_vol_id, name, aapl_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return h5img_vol_child(O(obj), under);
}

static herr_t attr_read(void *attr, hid_t mem_type_id, void *buf, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLattr_read(O(attr)->under_object, O(attr)->under_vol_id, mem_type_id, buf, dxpl_id, req);
    h5img_vol_wrap_request(req, O(attr)->under_vol_id);
    return status;
}

static herr_t attr_write(void *attr, hid_t mem_type_id, const void *buf, hid_t dxpl_id, void **req)
{
    herr_t status =
        H5API->H5VLattr_write(O(attr)->under_object, O(attr)->under_vol_id, mem_type_id, buf, dxpl_id, req);
    h5img_vol_wrap_request(req, O(attr)->under_vol_id);
    return status;
}

static herr_t attr_get(void *obj, H5VL_attr_get_args_t *args, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLattr_get(O(obj)->under_object, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t attr_specific(void *obj, const H5VL_loc_params_t *loc_params, H5VL_attr_specific_args_t *args,
                            hid_t dxpl_id, void **req)
{
    herr_t status =
        H5API->H5VLattr_specific(O(obj)->under_object, loc_params, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t attr_optional(void *obj, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLattr_optional(O(obj)->under_object, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t attr_close(void *attr, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLattr_close(O(attr)->under_object, O(attr)->under_vol_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(attr)->under_vol_id);
    if (status >= 0) h5img_vol_release(O(attr));
    return status;
}

const H5VL_attr_class_t h5img_vol_attr_class = {attr_create, attr_open,     attr_read,     attr_write,
                                                attr_get,    attr_specific, attr_optional, attr_close};

/* ---- named datatypes ---- */

static void *datatype_commit(void *obj, const H5VL_loc_params_t *loc_params, const char *name, hid_t type_id,
                             hid_t lcpl_id, hid_t tcpl_id, hid_t tapl_id, hid_t dxpl_id, void **req)
{
    void *under = H5API->H5VLdatatype_commit(O(obj)->under_object, loc_params, O(obj)->under_vol_id, name, type_id,
                                             lcpl_id, tcpl_id, tapl_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return h5img_vol_child(O(obj), under);
}

static void *datatype_open(void *obj, const H5VL_loc_params_t *loc_params, const char *name, hid_t tapl_id,
                           hid_t dxpl_id, void **req)
{
    void *under =
        H5API->H5VLdatatype_open(O(obj)->under_object, loc_params, O(obj)->under_vol_id, name, tapl_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return h5img_vol_child(O(obj), under);
}

static herr_t datatype_get(void *dt, H5VL_datatype_get_args_t *args, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLdatatype_get(O(dt)->under_object, O(dt)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(dt)->under_vol_id);
    return status;
}

static herr_t datatype_specific(void *obj, H5VL_datatype_specific_args_t *args, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLdatatype_specific(O(obj)->under_object, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t datatype_optional(void *obj, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLdatatype_optional(O(obj)->under_object, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t datatype_close(void *dt, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLdatatype_close(O(dt)->under_object, O(dt)->under_vol_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(dt)->under_vol_id);
    if (status >= 0) h5img_vol_release(O(dt));
    return status;
}

const H5VL_datatype_class_t h5img_vol_datatype_class = {datatype_commit,   datatype_open,     datatype_get,
                                                        datatype_specific, datatype_optional, datatype_close};

/* ---- groups ---- */

static void *group_create(void *obj, const H5VL_loc_params_t *loc_params, const char *name, hid_t lcpl_id,
                          hid_t gcpl_id, hid_t gapl_id, hid_t dxpl_id, void **req)
{
    void *under = H5API->H5VLgroup_create(O(obj)->under_object, loc_params, O(obj)->under_vol_id, name, lcpl_id,
                                          gcpl_id, gapl_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return h5img_vol_child(O(obj), under);
}

static void *group_open(void *obj, const H5VL_loc_params_t *loc_params, const char *name, hid_t gapl_id,
                        hid_t dxpl_id, void **req)
{
    void *under =
        H5API->H5VLgroup_open(O(obj)->under_object, loc_params, O(obj)->under_vol_id, name, gapl_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return h5img_vol_child(O(obj), under);
}

static herr_t group_get(void *obj, H5VL_group_get_args_t *args, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLgroup_get(O(obj)->under_object, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t group_specific(void *obj, H5VL_group_specific_args_t *args, hid_t dxpl_id, void **req)
{
    /* A mount hands over one of our files: the one below is what it mounts. */
    H5VL_group_specific_args_t forwarded = *args;
    if (args->op_type == H5VL_GROUP_MOUNT) forwarded.args.mount.child_file = O(args->args.mount.child_file)->under_object;
    herr_t status = H5API->H5VLgroup_specific(O(obj)->under_object, O(obj)->under_vol_id, &forwarded, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t group_optional(void *obj, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLgroup_optional(O(obj)->under_object, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}

static herr_t group_close(void *grp, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLgroup_close(O(grp)->under_object, O(grp)->under_vol_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(grp)->under_vol_id);
    if (status >= 0) h5img_vol_release(O(grp));
    return status;
}

const H5VL_group_class_t h5img_vol_group_class = {group_create,   group_open,     group_get,
                                                  group_specific, group_optional, group_close};
