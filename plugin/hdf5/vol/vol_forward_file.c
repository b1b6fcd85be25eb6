/* vol_forward_file.c: file callbacks (where the connector underneath and the rules are chosen), and the introspection, request, blob, token and catch-all callbacks. */
#include "hdf5/vol/vol_internal.h"

#include <stdio.h>

#define O(obj) ((h5img_vol_object *)(obj))

/* ---- files ---- */

/* A copy of `fapl_id` that names the connector underneath, and the rules
 * of our info in it; -1 when the rules do not parse (error pushed). */
static hid_t under_fapl(hid_t fapl_id, h5img_vol_info **info, h5img_vol_rules **rules)
{
    char why[320];
    *info = NULL;
    *rules = NULL;
    if (H5API->H5Pget_vol_info(fapl_id, (void **)info) < 0) return -1;
    if (h5img_vol_rules_parse(*info ? (*info)->rules : NULL, rules, why, sizeof why) < 0) {
        h5img_vol_info_free(*info);
        *info = NULL;
        H5IMG_VOL_ERROR(*H5API->H5E_VOL_g, *H5API->H5E_BADVALUE_g, "%s", why);
        return -1;
    }
    hid_t copy = H5API->H5Pcopy(fapl_id);
    if (copy >= 0 && H5API->H5Pset_vol(copy, h5img_vol_under_id(*info), h5img_vol_under_info(*info)) < 0) {
        H5API->H5Pclose(copy);
        copy = -1;
    }
    if (copy < 0) {
        h5img_vol_info_free(*info);
        h5img_vol_rules_unref(*rules);
        *info = NULL;
        *rules = NULL;
    }
    return copy;
}

/* Cleanup that must not clear an error the connector beneath just pushed. */
static void drop_fapl(hid_t fapl, h5img_vol_info *info)
{
    hid_t errors = h5img_vol_errors_aside();
    H5API->H5Pclose(fapl);
    h5img_vol_info_free(info);
    h5img_vol_errors_back(errors);
}

static void *file_create(const char *name, unsigned flags, hid_t fcpl_id, hid_t fapl_id, hid_t dxpl_id, void **req)
{
    h5img_vol_info *info;
    h5img_vol_rules *rules;
    hid_t fapl = under_fapl(fapl_id, &info, &rules);
    if (fapl < 0) return NULL;
    hid_t under_id = h5img_vol_under_id(info);
    void *under = H5API->H5VLfile_create(name, flags, fcpl_id, fapl, dxpl_id, req);
    h5img_vol_object *file = under ? h5img_vol_wrap(under, under_id, rules) : NULL;
    h5img_vol_wrap_request(req, under_id);
    drop_fapl(fapl, info);
    h5img_vol_rules_unref(rules);
    return file;
}

static void *file_open(const char *name, unsigned flags, hid_t fapl_id, hid_t dxpl_id, void **req)
{
    h5img_vol_info *info;
    h5img_vol_rules *rules;
    hid_t fapl = under_fapl(fapl_id, &info, &rules);
    if (fapl < 0) return NULL;
    hid_t under_id = h5img_vol_under_id(info);
    void *under = H5API->H5VLfile_open(name, flags, fapl, dxpl_id, req);
    h5img_vol_object *file = under ? h5img_vol_wrap(under, under_id, rules) : NULL;
    h5img_vol_wrap_request(req, under_id);
    drop_fapl(fapl, info);
    h5img_vol_rules_unref(rules);
    return file;
}

static herr_t file_get(void *file, H5VL_file_get_args_t *args, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLfile_get(O(file)->under_object, O(file)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(file)->under_vol_id);
    return status;
}

/* "Is this file accessible" and "delete this file" come with a fapl naming
 * us, not an object: the connector beneath must be told through a copy. */
static herr_t file_specific_by_fapl(H5VL_file_specific_args_t *args, hid_t *fapl_slot, hid_t dxpl_id, void **req)
{
    h5img_vol_info *info;
    h5img_vol_rules *rules;
    H5VL_file_specific_args_t forwarded = *args;
    hid_t *forwarded_slot = args->op_type == H5VL_FILE_IS_ACCESSIBLE ? &forwarded.args.is_accessible.fapl_id
                                                                      : &forwarded.args.del.fapl_id;
    hid_t fapl = under_fapl(*fapl_slot, &info, &rules);
    if (fapl < 0) return -1;
    *forwarded_slot = fapl;
    hid_t under_id = h5img_vol_under_id(info);
    herr_t status = H5API->H5VLfile_specific(NULL, under_id, &forwarded, dxpl_id, req);
    h5img_vol_wrap_request(req, under_id);
    h5img_vol_rules_unref(rules);
    drop_fapl(fapl, info);
    return status;
}

static herr_t file_specific(void *file, H5VL_file_specific_args_t *args, hid_t dxpl_id, void **req)
{
    if (args->op_type == H5VL_FILE_IS_ACCESSIBLE) {
        /* HDF5 asks every VOL plugin this when an H5Fopen has just failed;
         * the errors of that failure (h5py's FileNotFoundError comes from
         * them) must survive the API calls made here. The answer is the flag. */
        hid_t saved = h5img_vol_stack_aside();
        herr_t status = file_specific_by_fapl(args, &args->args.is_accessible.fapl_id, dxpl_id, req);
        h5img_vol_stack_back(saved);
        return status;
    }
    if (args->op_type == H5VL_FILE_DELETE) return file_specific_by_fapl(args, &args->args.del.fapl_id, dxpl_id, req);
    herr_t status = H5API->H5VLfile_specific(O(file)->under_object, O(file)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(file)->under_vol_id);
    if (status >= 0 && args->op_type == H5VL_FILE_REOPEN && *args->args.reopen.file)
        *args->args.reopen.file = h5img_vol_child(O(file), *args->args.reopen.file);
    return status;
}

static herr_t file_optional(void *file, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLfile_optional(O(file)->under_object, O(file)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(file)->under_vol_id);
    return status;
}

static herr_t file_close(void *file, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLfile_close(O(file)->under_object, O(file)->under_vol_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(file)->under_vol_id);
    if (status >= 0) h5img_vol_release(O(file));
    return status;
}

const H5VL_file_class_t h5img_vol_file_class = {file_create,   file_open,     file_get,
                                                file_specific, file_optional, file_close};

/* ---- introspection ---- */

static herr_t introspect_get_conn_cls(void *obj, H5VL_get_conn_lvl_t level, const H5VL_class_t **conn_cls)
{
    if (level == H5VL_GET_CONN_LVL_CURR) {
        *conn_cls = h5img_vol_class();
        return 0;
    }
    return H5API->H5VLintrospect_get_conn_cls(O(obj)->under_object, O(obj)->under_vol_id, level, conn_cls);
}

static herr_t introspect_get_cap_flags(const void *info, uint64_t *cap_flags)
{
    /* What lies beneath can do, this connector can do: it adds no storage. */
    return H5API->H5VLintrospect_get_cap_flags(h5img_vol_under_info(info), h5img_vol_under_id(info), cap_flags);
}

static herr_t introspect_opt_query(void *obj, H5VL_subclass_t subcls, int opt_type, uint64_t *flags)
{
    return H5API->H5VLintrospect_opt_query(O(obj)->under_object, O(obj)->under_vol_id, subcls, opt_type, flags);
}

const H5VL_introspect_class_t h5img_vol_introspect_class = {introspect_get_conn_cls, introspect_get_cap_flags,
                                                            introspect_opt_query};

/* ---- asynchronous requests ---- */

static herr_t request_wait(void *req, uint64_t timeout, H5VL_request_status_t *status)
{
    herr_t result = H5API->H5VLrequest_wait(O(req)->under_object, O(req)->under_vol_id, timeout, status);
    if (result >= 0 && *status != H5VL_REQUEST_STATUS_IN_PROGRESS) h5img_vol_release(O(req));
    return result;
}

static herr_t request_notify(void *req, H5VL_request_notify_t cb, void *ctx)
{
    herr_t result = H5API->H5VLrequest_notify(O(req)->under_object, O(req)->under_vol_id, cb, ctx);
    if (result >= 0) h5img_vol_release(O(req));
    return result;
}

static herr_t request_cancel(void *req, H5VL_request_status_t *status)
{
    herr_t result = H5API->H5VLrequest_cancel(O(req)->under_object, O(req)->under_vol_id, status);
    if (result >= 0) h5img_vol_release(O(req));
    return result;
}

static herr_t request_specific(void *req, H5VL_request_specific_args_t *args)
{
    return H5API->H5VLrequest_specific(O(req)->under_object, O(req)->under_vol_id, args);
}

static herr_t request_optional(void *req, H5VL_optional_args_t *args)
{
    return H5API->H5VLrequest_optional(O(req)->under_object, O(req)->under_vol_id, args);
}

static herr_t request_free(void *req)
{
    herr_t result = H5API->H5VLrequest_free(O(req)->under_object, O(req)->under_vol_id);
    if (result >= 0) h5img_vol_release(O(req));
    return result;
}

const H5VL_request_class_t h5img_vol_request_class = {request_wait,     request_notify,   request_cancel,
                                                      request_specific, request_optional, request_free};

/* ---- blobs (variable-length data) ---- */

static herr_t blob_put(void *obj, const void *buf, size_t size, void *blob_id, void *ctx)
{
    return H5API->H5VLblob_put(O(obj)->under_object, O(obj)->under_vol_id, buf, size, blob_id, ctx);
}

static herr_t blob_get(void *obj, const void *blob_id, void *buf, size_t size, void *ctx)
{
    return H5API->H5VLblob_get(O(obj)->under_object, O(obj)->under_vol_id, blob_id, buf, size, ctx);
}

static herr_t blob_specific(void *obj, void *blob_id, H5VL_blob_specific_args_t *args)
{
    return H5API->H5VLblob_specific(O(obj)->under_object, O(obj)->under_vol_id, blob_id, args);
}

static herr_t blob_optional(void *obj, void *blob_id, H5VL_optional_args_t *args)
{
    return H5API->H5VLblob_optional(O(obj)->under_object, O(obj)->under_vol_id, blob_id, args);
}

const H5VL_blob_class_t h5img_vol_blob_class = {blob_put, blob_get, blob_specific, blob_optional};

/* ---- object tokens ---- */

static herr_t token_cmp(void *obj, const H5O_token_t *token1, const H5O_token_t *token2, int *cmp_value)
{
    return H5API->H5VLtoken_cmp(O(obj)->under_object, O(obj)->under_vol_id, token1, token2, cmp_value);
}

static herr_t token_to_str(void *obj, H5I_type_t obj_type, const H5O_token_t *token, char **token_str)
{
    return H5API->H5VLtoken_to_str(O(obj)->under_object, obj_type, O(obj)->under_vol_id, token, token_str);
}

static herr_t token_from_str(void *obj, H5I_type_t obj_type, const char *token_str, H5O_token_t *token)
{
    return H5API->H5VLtoken_from_str(O(obj)->under_object, obj_type, O(obj)->under_vol_id, token_str, token);
}

const H5VL_token_class_t h5img_vol_token_class = {token_cmp, token_to_str, token_from_str};

/* ---- anything else ---- */

herr_t h5img_vol_optional(void *obj, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLoptional(O(obj)->under_object, O(obj)->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return status;
}
