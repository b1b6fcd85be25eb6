/* vol_object.c: the connector's wrapper objects, HDF5's wrap/unwrap callbacks for them, and the one way a callback reports an error. */
#include "hdf5/vol/vol_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

h5img_vol_object *h5img_vol_wrap(void *under_object, hid_t under_vol_id, h5img_vol_rules *rules)
{
    if (!under_object) return NULL;
    h5img_vol_object *object = calloc(1, sizeof *object);
    if (!object) return NULL;
    object->under_object = under_object;
    object->under_vol_id = under_vol_id;
    object->rules = h5img_vol_rules_ref(rules);
    static uint64_t next_serial;
    object->serial = __atomic_add_fetch(&next_serial, 1, __ATOMIC_RELAXED);
    H5API->H5Iinc_ref(under_vol_id);
    return object;
}

h5img_vol_object *h5img_vol_child(const h5img_vol_object *parent, void *under)
{
    return h5img_vol_wrap(under, parent->under_vol_id, parent->rules);
}

void h5img_vol_release(h5img_vol_object *object)
{
    if (!object) return;
    hid_t errors = h5img_vol_errors_aside();
    H5API->H5Idec_ref(object->under_vol_id);
    h5img_vol_errors_back(errors);
    h5img_vol_rules_unref(object->rules);
    free(object);
}

hid_t h5img_vol_stack_aside(void)
{
    return H5API->H5Eget_current_stack(); /* takes the stack, leaving an empty one */
}

void h5img_vol_stack_back(hid_t saved)
{
    if (saved >= 0) H5API->H5Eset_current_stack(saved);
}

hid_t h5img_vol_errors_aside(void)
{
    return H5API->H5Eget_num(H5E_DEFAULT) > 0 ? H5API->H5Eget_current_stack() : H5I_INVALID_HID;
}

void h5img_vol_errors_back(hid_t saved)
{
    if (saved >= 0) H5API->H5Eset_current_stack(saved);
}

void h5img_vol_wrap_request(void **req, hid_t under_vol_id)
{
    if (req && *req) *req = h5img_vol_wrap(*req, under_vol_id, NULL);
}

void h5img_vol_error(const char *file, const char *func, unsigned line, hid_t major, hid_t minor, const char *format,
                     ...)
{
    char text[640];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    H5API->H5Epush2(H5E_DEFAULT, file, func, line, *H5API->H5E_ERR_CLS_g, major, minor, "h5img: %s", text);
}

/* ------------------------------------------------------------------------- */
/* HDF5's wrap class                                                         */
/* ------------------------------------------------------------------------- */

static void *get_object(const void *obj)
{
    const h5img_vol_object *object = obj;
    return H5API->H5VLget_object(object->under_object, object->under_vol_id);
}

static herr_t get_wrap_ctx(const void *obj, void **wrap_ctx)
{
    const h5img_vol_object *object = obj;
    h5img_vol_wrap_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return -1;
    if (H5API->H5VLget_wrap_ctx(object->under_object, object->under_vol_id, &ctx->under_wrap_ctx) < 0) {
        free(ctx);
        return -1;
    }
    ctx->under_vol_id = object->under_vol_id;
    ctx->rules = h5img_vol_rules_ref(object->rules);
    H5API->H5Iinc_ref(ctx->under_vol_id);
    *wrap_ctx = ctx;
    return 0;
}

static void *wrap_object(void *obj, H5I_type_t obj_type, void *wrap_ctx)
{
    h5img_vol_wrap_ctx *ctx = wrap_ctx;
    void *under = H5API->H5VLwrap_object(obj, obj_type, ctx->under_vol_id, ctx->under_wrap_ctx);
    return h5img_vol_wrap(under, ctx->under_vol_id, ctx->rules);
}

static void *unwrap_object(void *obj)
{
    h5img_vol_object *object = obj;
    void *under = H5API->H5VLunwrap_object(object->under_object, object->under_vol_id);
    if (under) h5img_vol_release(object);
    return under;
}

static herr_t free_wrap_ctx(void *wrap_ctx)
{
    h5img_vol_wrap_ctx *ctx = wrap_ctx;
    hid_t errors = h5img_vol_errors_aside();
    herr_t status = ctx->under_wrap_ctx ? H5API->H5VLfree_wrap_ctx(ctx->under_wrap_ctx, ctx->under_vol_id) : 0;
    H5API->H5Idec_ref(ctx->under_vol_id);
    h5img_vol_errors_back(errors);
    h5img_vol_rules_unref(ctx->rules);
    free(ctx);
    return status;
}

const H5VL_wrap_class_t h5img_vol_wrap_class = {
    .get_object = get_object,
    .get_wrap_ctx = get_wrap_ctx,
    .wrap_object = wrap_object,
    .unwrap_object = unwrap_object,
    .free_wrap_ctx = free_wrap_ctx,
};
