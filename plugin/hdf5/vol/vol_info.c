/* vol_info.c: the connector's info: parsed from "under_vol=N;under_info={...};rules=...", copied, compared, printed and freed. */
#include "hdf5/vol/vol_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The native connector's id, asked for once and kept: HDF5 1.14 names it
 * through H5VL_native_register(), 2.0 through a variable, both by value 0. */
static hid_t native_id(void)
{
    static hid_t kept = H5I_INVALID_HID;
    hid_t id = __atomic_load_n(&kept, __ATOMIC_ACQUIRE);
    if (id >= 0) return id;
    hid_t saved = h5img_vol_stack_aside(); /* first asked for in IS_ACCESSIBLE or get_cap_flags too */
    id = H5API->H5VLregister_connector_by_value((H5VL_class_value_t)H5_VOL_NATIVE, H5P_DEFAULT);
    h5img_vol_stack_back(saved);
    hid_t expected = H5I_INVALID_HID;
    if (id >= 0 && !__atomic_compare_exchange_n(&kept, &expected, id, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        H5API->H5Idec_ref(id); /* another thread kept one first */
        id = expected;
    }
    return id;
}

hid_t h5img_vol_under_id(const h5img_vol_info *info)
{
    /* No info string at all: HDF5 passes no info, and native lies beneath. */
    return info ? info->under_vol_id : native_id();
}

void *h5img_vol_under_info(const h5img_vol_info *info)
{
    return info ? info->under_vol_info : NULL;
}

static char *copy_text(const char *text)
{
    if (!text) return NULL;
    size_t size = strlen(text) + 1;
    char *copy = malloc(size);
    if (copy) memcpy(copy, text, size);
    return copy;
}

void *h5img_vol_info_copy(const void *source)
{
    const h5img_vol_info *from = source;
    h5img_vol_info *info = calloc(1, sizeof *info);
    if (!info) return NULL;
    info->under_vol_id = from->under_vol_id;
    if (from->rules && !(info->rules = copy_text(from->rules))) {
        free(info);
        return NULL;
    }
    if (from->under_vol_info &&
        H5API->H5VLcopy_connector_info(from->under_vol_id, &info->under_vol_info, from->under_vol_info) < 0) {
        free(info->rules);
        free(info);
        return NULL;
    }
    H5API->H5Iinc_ref(info->under_vol_id);
    return info;
}

herr_t h5img_vol_info_cmp(int *cmp_value, const void *first, const void *second)
{
    const h5img_vol_info *a = first, *b = second;
    *cmp_value = 0;
    if (H5API->H5VLcmp_connector_cls(cmp_value, a->under_vol_id, b->under_vol_id) < 0) return -1;
    if (*cmp_value) return 0;
    if (H5API->H5VLcmp_connector_info(cmp_value, a->under_vol_id, a->under_vol_info, b->under_vol_info) < 0) return -1;
    if (*cmp_value) return 0;
    *cmp_value = strcmp(a->rules ? a->rules : "", b->rules ? b->rules : "");
    return 0;
}

herr_t h5img_vol_info_free(void *data)
{
    h5img_vol_info *info = data;
    if (!info) return 0;
    hid_t errors = h5img_vol_errors_aside();
    if (info->under_vol_info) H5API->H5VLfree_connector_info(info->under_vol_id, info->under_vol_info);
    H5API->H5Idec_ref(info->under_vol_id);
    h5img_vol_errors_back(errors);
    free(info->rules);
    free(info);
    return 0;
}

herr_t h5img_vol_info_to_str(const void *data, char **str)
{
    const h5img_vol_info *info = data;
    H5VL_class_value_t value = 0;
    char *under = NULL;
    if (H5API->H5VLget_value(info->under_vol_id, &value) < 0) return -1;
    if (info->under_vol_info && H5API->H5VLconnector_info_to_str(info->under_vol_info, info->under_vol_id, &under) < 0)
        return -1;
    const char *rules = info->rules ? info->rules : "";
    size_t size = 64 + (under ? strlen(under) : 0) + strlen(rules);
    *str = H5API->H5allocate_memory(size, 0);
    if (*str)
        snprintf(*str, size, "under_vol=%u;under_info={%s}%s%s", (unsigned)value, under ? under : "",
                 rules[0] ? ";rules=" : "", rules);
    if (under) H5API->H5free_memory(under);
    return *str ? 0 : -1;
}

/* ------------------------------------------------------------------------- */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------- */

/* The end of a braced value starting at `open` ('{'), nested braces
 * included: the under connector's own info may hold ';' and '{'. */
static const char *closing_brace(const char *open)
{
    int depth = 0;
    for (const char *s = open; *s; s++) {
        if (*s == '{') depth++;
        if (*s == '}' && --depth == 0) return s;
    }
    return NULL;
}

typedef struct parsed_info {
    int has_under;
    unsigned under_value;
    char *under_text; /* inside the braces, or NULL */
    char *rules;
} parsed_info;

static int parse_fields(const char *str, parsed_info *out, char *why, size_t why_size)
{
    const char *s = str;
    while (*s) {
        while (*s == ';' || *s == ' ') s++;
        if (!*s) break;
        if (strncmp(s, "under_vol=", 10) == 0) {
            char *end = NULL;
            errno = 0;
            unsigned long value = strtoul(s + 10, &end, 10);
            if (end == s + 10 || errno || value > 65535 || (*end && *end != ';')) {
                snprintf(why, why_size, "under_vol must be a connector number (0 is native), not \"%.40s\"", s + 10);
                return -1;
            }
            out->has_under = 1;
            out->under_value = (unsigned)value;
            s = end;
        } else if (strncmp(s, "under_info=", 11) == 0) {
            const char *open = s + 11, *close = *open == '{' ? closing_brace(open) : NULL;
            if (!close) {
                snprintf(why, why_size, "under_info must be braced, as in under_info={}");
                return -1;
            }
            size_t length = (size_t)(close - open - 1);
            free(out->under_text);
            out->under_text = malloc(length + 1);
            if (!out->under_text) return -1;
            memcpy(out->under_text, open + 1, length);
            out->under_text[length] = '\0';
            s = close + 1;
        } else if (strncmp(s, "rules=", 6) == 0) {
            /* The rest of the string: patterns may hold anything but ','. */
            free(out->rules);
            if (!(out->rules = copy_text(s + 6))) return -1;
            break;
        } else {
            snprintf(why, why_size, "unknown setting \"%.40s\": the h5img connector takes under_vol=, under_info= "
                     "and rules=PATTERN:RULE,...", s);
            return -1;
        }
    }
    return 0;
}

herr_t h5img_vol_str_to_info(const char *str, void **result)
{
    parsed_info parsed = {0};
    char why[320] = "out of memory";
    h5img_vol_rules *rules = NULL;
    h5img_vol_info *info = NULL;
    hid_t under_id = -1;
    *result = NULL;
    if (parse_fields(str ? str : "", &parsed, why, sizeof why) < 0) goto fail;
    /* Checked now, so a mistyped rule fails the open instead of being ignored. */
    if (h5img_vol_rules_parse(parsed.rules, &rules, why, sizeof why) < 0) goto fail;
    h5img_vol_rules_unref(rules);
    under_id = H5API->H5VLregister_connector_by_value((H5VL_class_value_t)(parsed.has_under ? parsed.under_value : 0),
                                                      H5P_DEFAULT);
    if (under_id < 0) {
        snprintf(why, sizeof why, "no VOL connector numbered %u can be loaded to lie under h5img", parsed.under_value);
        goto fail;
    }
    info = calloc(1, sizeof *info);
    if (!info) goto fail;
    info->under_vol_id = under_id;
    info->rules = parsed.rules;
    parsed.rules = NULL;
    if (parsed.under_text && parsed.under_text[0] &&
        H5API->H5VLconnector_str_to_info(parsed.under_text, under_id, &info->under_vol_info) < 0) {
        snprintf(why, sizeof why, "the connector under h5img refused its info \"%.80s\"", parsed.under_text);
        goto fail;
    }
    free(parsed.under_text);
    *result = info;
    return 0;
fail:
    if (info) {
        free(info->rules);
        free(info);
    }
    if (under_id >= 0) H5API->H5Idec_ref(under_id);
    free(parsed.under_text);
    free(parsed.rules);
    H5IMG_VOL_ERROR(*H5API->H5E_VOL_g, *H5API->H5E_BADVALUE_g, "connector info \"%.120s\": %s", str ? str : "", why);
    return -1;
}
