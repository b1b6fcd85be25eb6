/* vol_internal.h: the VOL connector's objects, its info, and the functions its callback files share. */
#ifndef H5IMG_VOL_INTERNAL_H
#define H5IMG_VOL_INTERNAL_H

#include "h5img.h"
#include "hdf5/vol/vol_hdf5.h"

#include <stddef.h>
#include <stdint.h>

#define H5IMG_VOL_NAME "h5img"
#define H5IMG_VOL_VALUE 49301 /* the filter's number; 256-65535 is for connectors not registered with The HDF Group */
#define H5IMG_VOL_VERSION 1

/* Rules chosen by the info string (rules=PATTERN:RULE,...), shared by every
 * object of the files opened with it. */
typedef struct h5img_vol_rules h5img_vol_rules;

/* The connector's info: what lies underneath, and the rule overrides as
 * they were written (parsed once per file open). */
typedef struct h5img_vol_info {
    hid_t under_vol_id;
    void *under_vol_info;
    char *rules; /* "PATTERN:RULE,..." or NULL */
} h5img_vol_info;

/* What an opened dataset looks like through the connector. */
typedef enum h5img_vol_kind {
    H5IMG_VOL_UNKNOWN = 0, /* not looked at yet: most datasets are only opened for attributes */
    H5IMG_VOL_PLAIN,       /* passed through unchanged */
    H5IMG_VOL_DECODED      /* a legacy frame shown as its decoded image */
} h5img_vol_kind;

typedef struct h5img_vol_view {
    h5img_info info;
    h5img_layout layout;  /* what a read produces */
    uint64_t encoded_size; /* bytes of the 1-D dataset */
    char path[240];        /* as opened, for messages (may be cut short) */
} h5img_vol_view;

/* Every object the connector hands to HDF5 wraps the one underneath. */
typedef struct h5img_vol_object {
    void *under_object;
    hid_t under_vol_id;
    h5img_vol_rules *rules; /* shared; may be NULL */
    uint64_t serial;        /* unique for the process's lifetime: pointers are reused */
    h5img_vol_kind kind;    /* datasets only */
    h5img_vol_view view;    /* valid when kind is DECODED */
} h5img_vol_object;

typedef struct h5img_vol_wrap_ctx {
    void *under_wrap_ctx;
    hid_t under_vol_id;
    h5img_vol_rules *rules;
} h5img_vol_wrap_ctx;

/* ---- vol_object.c ---- */
h5img_vol_object *h5img_vol_wrap(void *under_object, hid_t under_vol_id, h5img_vol_rules *rules);
/* The wrapper of a new object made from `parent`'s connector and rules;
 * NULL (the under object stays with HDF5's error) when `under` is NULL. */
h5img_vol_object *h5img_vol_child(const h5img_vol_object *parent, void *under);
void h5img_vol_release(h5img_vol_object *object);
/* An asynchronous request from below is wrapped like any object. */
void h5img_vol_wrap_request(void **req, hid_t under_vol_id);
/* Around API calls made where HDF5 may be in the middle of a failing call
 * of the caller's (looking for a connector that can open a file it could
 * not): the caller's error stack is set aside, and put back afterwards,
 * dropping anything pushed meanwhile. */
hid_t h5img_vol_stack_aside(void);
void h5img_vol_stack_back(hid_t saved);
/* Around cleanup (closing, releasing references) that may run while an
 * error unwinds: the caller's error stack is kept from the clearing every
 * HDF5 API call does on entry. It is set aside only when it holds
 * something: copying it costs more than the cleanup, which runs on every
 * callback (HDF5 makes and frees a wrap context for each). */
hid_t h5img_vol_errors_aside(void);
void h5img_vol_errors_back(hid_t saved);
/* Push one message on the caller's error stack. Last thing a failing
 * callback does: any later HDF5 API call would clear the stack. */
void h5img_vol_error(const char *file, const char *func, unsigned line, hid_t major, hid_t minor, const char *format,
                     ...) __attribute__((format(printf, 6, 7)));
#define H5IMG_VOL_ERROR(major, minor, ...) \
    h5img_vol_error(__FILE__, __func__, __LINE__, (major), (minor), __VA_ARGS__)

/* ---- vol_info.c ---- */
void *h5img_vol_info_copy(const void *info);
herr_t h5img_vol_info_cmp(int *cmp_value, const void *info1, const void *info2);
herr_t h5img_vol_info_free(void *info);
herr_t h5img_vol_info_to_str(const void *info, char **str);
herr_t h5img_vol_str_to_info(const char *str, void **info);
/* The connector underneath for `info` (NULL info: the native connector). */
hid_t h5img_vol_under_id(const h5img_vol_info *info);
void *h5img_vol_under_info(const h5img_vol_info *info);

/* ---- vol_rules.c ---- */
/* Besides the decode rules, an override may say "keep": matching frames stay bytes. */
#define H5IMG_VOL_RULE_KEEP ((h5img_rule)-1)
/* Parse "PATTERN:RULE,..." (NULL or "" gives no rules). NULL with the reason
 * in `why` when it does not parse; *rules NULL means none. */
int h5img_vol_rules_parse(const char *text, h5img_vol_rules **rules, char *why, size_t why_size);
h5img_vol_rules *h5img_vol_rules_ref(h5img_vol_rules *rules);
void h5img_vol_rules_unref(h5img_vol_rules *rules);
/* The rule for a frame at `path`: the last matching override, else the
 * shared default (image_detect.h). */
h5img_rule h5img_vol_rule_for(const h5img_vol_rules *rules, const char *path);

/* ---- vol_view.c ---- */
/* Decide, once, whether the dataset is a decoded view: from its type and
 * dataspace, then its first bytes and path. A dataset that cannot be looked
 * at stays plain. */
h5img_vol_kind h5img_vol_examine(h5img_vol_object *dataset, hid_t dxpl_id);
/* HDF5's native uint8 (bytes 1) or uint16 (bytes 2). */
hid_t h5img_vol_native_uint(size_t bytes);
/* The decoded view's dataspace, type and creation properties. */
hid_t h5img_vol_view_space(const h5img_vol_view *view);
hid_t h5img_vol_view_type(const h5img_vol_view *view);
hid_t h5img_vol_view_memory_type(const h5img_vol_view *view);
herr_t h5img_vol_view_dcpl(h5img_vol_object *dataset, hid_t dxpl_id, hid_t *dcpl_id);

/* ---- vol_prefix.c ---- */
/* The dataset's first `count` of its `length` bytes into `buf`: 1, or 0
 * when they cannot be read. */
int h5img_vol_read_prefix(h5img_vol_object *dataset, uint64_t length, size_t count, void *buf, hid_t dxpl_id);

/* ---- vol_read.c ---- */
/* Drop the dataset's decoded frame kept for partial reads, if any. */
void h5img_vol_forget(const h5img_vol_object *dataset);
/* Read one decoded dataset with the caller's selections and memory type. */
herr_t h5img_vol_read_decoded(h5img_vol_object *dataset, hid_t mem_type_id, hid_t mem_space_id, hid_t file_space_id,
                              hid_t dxpl_id, void *buf);

/* ---- the callback tables (vol_forward_*.c, vol_dataset.c, vol_file.c) ---- */
extern const H5VL_attr_class_t h5img_vol_attr_class;
extern const H5VL_dataset_class_t h5img_vol_dataset_class;
extern const H5VL_datatype_class_t h5img_vol_datatype_class;
extern const H5VL_file_class_t h5img_vol_file_class;
extern const H5VL_group_class_t h5img_vol_group_class;
extern const H5VL_link_class_t h5img_vol_link_class;
extern const H5VL_object_class_t h5img_vol_object_class;
extern const H5VL_introspect_class_t h5img_vol_introspect_class;
extern const H5VL_request_class_t h5img_vol_request_class;
extern const H5VL_blob_class_t h5img_vol_blob_class;
extern const H5VL_token_class_t h5img_vol_token_class;
extern const H5VL_wrap_class_t h5img_vol_wrap_class;
herr_t h5img_vol_optional(void *obj, H5VL_optional_args_t *args, hid_t dxpl_id, void **req);
/* The class itself (vol_class.c). */
const H5VL_class_t *h5img_vol_class(void);

#endif /* H5IMG_VOL_INTERNAL_H */
