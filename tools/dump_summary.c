/* dump_summary.c: the one-screen summary of a file (text or --json): root attributes, image groups aggregated, other datasets. */
#include "dump.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------- */
/* A growable string, so text and JSON share the renderers                   */
/* ------------------------------------------------------------------------- */

struct sbuf {
    char *data;
    size_t length, capacity;
};

static void sb_printf(struct sbuf *b, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int need = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (need < 0) return;
    if (b->length + (size_t)need + 1 > b->capacity) {
        size_t capacity = (b->length + (size_t)need + 1) * 2;
        char *grown = realloc(b->data, capacity);
        if (!grown) return;
        b->data = grown;
        b->capacity = capacity;
    }
    va_start(args, format);
    vsnprintf(b->data + b->length, b->capacity - b->length, format, args);
    va_end(args);
    b->length += (size_t)need;
}

static const char *sb_str(const struct sbuf *b)
{
    return b->data ? b->data : "";
}

/* A JSON string literal; also used in text mode, where quoting makes
 * strings with spaces or control characters unambiguous. */
static void sb_quote(struct sbuf *b, const char *s, size_t n)
{
    sb_printf(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t len = tool_utf8_length((const unsigned char *)s + i, n - i);
        if (c == '"' || c == '\\') sb_printf(b, "\\%c", c);
        else if (c == '\n') sb_printf(b, "\\n");
        else if (c == '\t') sb_printf(b, "\\t");
        else if (c == '\r') sb_printf(b, "\\r");
        else if (c < 0x20 || c == 0x7f || len == 0) sb_printf(b, "\\u%04x", c); /* a lone byte reads back as U+00XX */
        else {
            sb_printf(b, "%.*s", (int)len, s + i);
            i += len - 1;
        }
    }
    sb_printf(b, "\"");
}

static void sb_quote_str(struct sbuf *b, const char *s)
{
    sb_quote(b, s, strlen(s));
}

/* ------------------------------------------------------------------------- */
/* Types and values                                                          */
/* ------------------------------------------------------------------------- */

static void type_name(hid_t type, char *out, size_t size)
{
    size_t bytes = H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_INTEGER:
        snprintf(out, size, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bytes * 8);
        break;
    case H5T_FLOAT: snprintf(out, size, "float%zu", bytes * 8); break;
    case H5T_STRING: snprintf(out, size, "%s", H5Tis_variable_str(type) > 0 ? "string" : "fixed-string"); break;
    case H5T_COMPOUND: snprintf(out, size, "compound"); break;
    case H5T_ENUM: snprintf(out, size, "enum"); break;
    case H5T_ARRAY: snprintf(out, size, "array"); break;
    case H5T_VLEN: snprintf(out, size, "vlen"); break;
    case H5T_OPAQUE: snprintf(out, size, "opaque"); break;
    case H5T_REFERENCE: snprintf(out, size, "reference"); break;
    case H5T_BITFIELD: snprintf(out, size, "bitfield%zu", bytes * 8); break;
    default: snprintf(out, size, "other"); break;
    }
}

static void render_number(struct sbuf *b, hid_t type, const void *values, size_t i)
{
    if (H5Tget_class(type) == H5T_FLOAT) {
        double v = ((const double *)values)[i];
        if (isfinite(v)) sb_printf(b, "%.17g", v);
        else sb_printf(b, "null");
    } else if (H5Tget_sign(type) == H5T_SGN_NONE) {
        sb_printf(b, "%llu", ((const unsigned long long *)values)[i]);
    } else {
        sb_printf(b, "%lld", ((const long long *)values)[i]);
    }
}

static int read_numbers(hid_t attr, hid_t type, size_t n, struct sbuf *b, int as_list)
{
    hid_t memory = H5Tget_class(type) == H5T_FLOAT ? H5T_NATIVE_DOUBLE
                   : H5Tget_sign(type) == H5T_SGN_NONE ? H5T_NATIVE_ULLONG
                                                       : H5T_NATIVE_LLONG;
    void *values = calloc(n, 8);
    if (!values || H5Aread(attr, memory, values) < 0) {
        free(values);
        return -1;
    }
    if (as_list) sb_printf(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i) sb_printf(b, ", ");
        render_number(b, type, values, i);
    }
    if (as_list) sb_printf(b, "]");
    free(values);
    return 0;
}

static size_t trimmed_length(const char *s, size_t n, H5T_str_t pad)
{
    size_t length = strnlen(s, n);
    if (pad == H5T_STR_SPACEPAD)
        while (length && s[length - 1] == ' ') length--;
    return length;
}

static int read_strings(hid_t attr, hid_t type, size_t n, struct sbuf *b, int as_list)
{
    hid_t memory = H5Tcopy(type);
    int variable = H5Tis_variable_str(type) > 0;
    size_t size = variable ? sizeof(char *) : H5Tget_size(type);
    char *values = calloc(n, size);
    int ok = memory >= 0 && values && H5Aread(attr, memory, values) >= 0;
    if (ok) {
        H5T_str_t pad = H5Tget_strpad(type);
        if (as_list) sb_printf(b, "[");
        for (size_t i = 0; i < n; i++) {
            if (i) sb_printf(b, ", ");
            const char *s = variable ? ((char **)values)[i] : values + i * size;
            if (!s) s = "";
            sb_quote(b, s, variable ? strlen(s) : trimmed_length(s, size, pad));
        }
        if (as_list) sb_printf(b, "]");
    }
    if (ok && variable) {
        hid_t space = H5Aget_space(attr);
        H5Dvlen_reclaim(memory, space, H5P_DEFAULT, values);
        H5Sclose(space);
    }
    free(values);
    if (memory >= 0) H5Tclose(memory);
    return ok ? 0 : -1;
}

/* Scalars as values, small arrays as lists, anything else described. */
static void render_attribute(hid_t attr, struct sbuf *b)
{
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    hssize_t points = H5Sget_simple_extent_npoints(space);
    int list = H5Sget_simple_extent_ndims(space) > 0;
    H5T_class_t cls = H5Tget_class(type);
    char name[32];
    type_name(type, name, sizeof name);
    int done = -1;
    if (H5Sget_simple_extent_type(space) == H5S_NULL) {
        sb_printf(b, "null"); /* an empty attribute (h5py.Empty): no value at all */
        done = 0;
    } else if (points >= 0 && points <= 16) {
        if (cls == H5T_INTEGER || cls == H5T_FLOAT) done = read_numbers(attr, type, (size_t)points, b, list);
        else if (cls == H5T_STRING) done = read_strings(attr, type, (size_t)points, b, list);
    }
    if (done != 0) {
        char description[96];
        snprintf(description, sizeof description, "<%s, %lld element(s)>", name, (long long)points);
        sb_quote_str(b, description);
    }
    H5Sclose(space);
    H5Tclose(type);
}

/* ------------------------------------------------------------------------- */
/* Aggregation                                                               */
/* ------------------------------------------------------------------------- */

struct image_group {
    char *path;
    uint64_t frames, legacy, repacked, unreadable, stored_bytes;
    uint64_t codecs[3]; /* PNG, JPEG, unknown */
    h5img_layout shape; /* first readable frame's; rule/flags for repacked only */
    /* mixed_shape is any difference; the others say which, so the text
     * does not call a channel-count difference a size difference. */
    int have_shape, mixed_shape, mixed_size, mixed_channels, mixed_depth, mixed_rule;
};

struct other_group {
    char *key; /* path with numeric components replaced by '*' */
    uint64_t count, stored_bytes;
    char dtype[32];
    int rank;
    hsize_t dims[H5IMG_DESC_MAX_RANK];
    int mixed;
    uint64_t unreadable; /* 1-D uint8 datasets whose bytes HDF5 could not read: frames, for all we know */
};

struct summary {
    hid_t file;
    int fd;               /* the file's descriptor (sec2 driver) for header peeks, or -1 */
    unsigned long long base; /* userblock size: HDF5 addresses are relative to it */
    unsigned char *chunk;
    size_t chunk_capacity;
    struct image_group *images;
    size_t nimages, images_capacity;
    struct other_group *others;
    size_t nothers, others_capacity;
    int out_of_memory;
};

/* Find or append an entry keyed by its first field (a string); datasets
 * arrive group by group, so the last entry is checked first. */
static void *find_or_add(void **array, size_t *count, size_t *capacity, size_t item, const char *key, int *oom)
{
    char *base = *array;
    for (size_t i = *count; i-- > 0;)
        if (strcmp(*(char **)(base + i * item), key) == 0) return base + i * item;
    if (*count == *capacity) {
        size_t grown_capacity = *capacity ? *capacity * 2 : 64;
        char *grown = realloc(base, grown_capacity * item);
        if (!grown) return *oom = 1, NULL;
        *array = base = grown;
        *capacity = grown_capacity;
    }
    char *entry = base + (*count) * item;
    memset(entry, 0, item);
    if (!(*(char **)entry = strdup(key))) return *oom = 1, NULL;
    (*count)++;
    return entry;
}

static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? strndup(path, (size_t)(slash - path)) : strdup("/");
}

static char *numbers_as_stars(const char *path)
{
    char *key = malloc(strlen(path) + 1), *out = key;
    if (!key) return NULL;
    for (const char *p = path; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        size_t digits = strspn(p, "0123456789");
        if (n > 0 && digits == n) *out++ = '*';
        else memcpy(out, p, n), out += n;
        if (!end) break;
        *out++ = '/';
        p = end + 1;
    }
    *out = '\0';
    return key;
}

static void note_shape(struct image_group *g, const h5img_layout *shape, int repacked)
{
    if (!g->have_shape) {
        g->shape = *shape;
        g->have_shape = 1;
        return;
    }
    if (g->shape.width != shape->width || g->shape.height != shape->height) g->mixed_size = 1;
    if (g->shape.channels != shape->channels) g->mixed_channels = 1;
    if (g->shape.element_size != shape->element_size) g->mixed_depth = 1;
    g->mixed_shape = g->mixed_size || g->mixed_channels || g->mixed_depth;
    if (repacked && (g->shape.rule != shape->rule || g->shape.flags != shape->flags)) g->mixed_rule = 1;
}

static int codec_slot(h5img_codec codec)
{
    return codec == H5IMG_CODEC_PNG ? 0 : codec == H5IMG_CODEC_JPEG ? 1 : 2;
}

/* The codec of a repacked chunk from its first bytes, read straight from
 * the file when the chunk's address is known (a summary must not read
 * gigabytes); else the whole chunk through HDF5. */
static h5img_codec repacked_codec(struct summary *S, hid_t dataset, const h5img_dataset_desc *desc)
{
    hsize_t origin[H5IMG_DESC_MAX_RANK] = {0};
    unsigned mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t size = 0;
    if (S->fd >= 0 && H5Dget_chunk_info_by_coord(dataset, origin, &mask, &address, &size) >= 0 &&
        address != HADDR_UNDEF && size >= 8) {
        unsigned char head[8];
        if (pread(S->fd, head, sizeof head, (off_t)(address + S->base)) == (ssize_t)sizeof head) {
            h5img_codec codec = h5img_detect(head, sizeof head);
            if (codec != H5IMG_CODEC_UNKNOWN) return codec;
        }
    }
    size_t stored = 0;
    char message[256];
    if (h5img_read_stored(dataset, desc, &S->chunk, &S->chunk_capacity, &stored, message, sizeof message) != H5IMG_OK)
        return H5IMG_CODEC_UNKNOWN;
    return h5img_detect(S->chunk, stored);
}

static struct image_group *image_group_for(struct summary *S, const char *path)
{
    char *parent = parent_of(path);
    if (!parent) return S->out_of_memory = 1, NULL;
    struct image_group *g = find_or_add((void **)&S->images, &S->nimages, &S->images_capacity, sizeof *g, parent,
                                        &S->out_of_memory);
    free(parent);
    return g;
}

static int add_repacked(struct summary *S, hid_t dataset, const char *path, const h5img_dataset_desc *desc)
{
    struct image_group *g = image_group_for(S, path);
    if (!g) return -1;
    g->frames++, g->repacked++;
    size_t stored = 0;
    char message[256];
    if (desc->params_status != H5IMG_OK ||
        h5img_stored_size(dataset, desc, &stored, message, sizeof message) != H5IMG_OK || stored == 0) {
        g->unreadable++;
        return 0;
    }
    g->stored_bytes += stored;
    g->codecs[codec_slot(repacked_codec(S, dataset, desc))]++;
    note_shape(g, &desc->params.layout, 1);
    return 0;
}

/* Returns 1 when the dataset is a legacy frame, 0 when it is just bytes,
 * LEGACY_UNREADABLE when HDF5 could not read its bytes to tell. */
#define LEGACY_UNREADABLE 2
static int add_legacy(struct summary *S, hid_t dataset, const char *path, const h5img_dataset_desc *desc)
{
    h5img_info info;
    h5img_status probe_status;
    h5img_codec codec = dump_probe_legacy(dataset, desc, &info, &probe_status);
    if (codec == H5IMG_CODEC_UNKNOWN) return probe_status == H5IMG_E_HDF5 ? LEGACY_UNREADABLE : 0;
    struct image_group *g = image_group_for(S, path);
    if (!g) return -1;
    g->frames++, g->legacy++;
    g->stored_bytes += desc->dims[0];
    g->codecs[codec_slot(codec)]++;
    if (probe_status != H5IMG_OK) {
        g->unreadable++;
        return 1;
    }
    h5img_layout shape = {info.height, info.width, info.channels, info.element_size, H5IMG_RULE_NATIVE, 0};
    note_shape(g, &shape, 0);
    return 1;
}

static int add_other(struct summary *S, hid_t dataset, const char *path, const h5img_dataset_desc *desc,
                     int unreadable)
{
    char *key = numbers_as_stars(path);
    if (!key) return S->out_of_memory = 1, -1;
    struct other_group *o = find_or_add((void **)&S->others, &S->nothers, &S->others_capacity, sizeof *o, key,
                                        &S->out_of_memory);
    free(key);
    if (!o) return -1;
    char dtype[32] = "?";
    hid_t type = H5Dget_type(dataset);
    if (type >= 0) type_name(type, dtype, sizeof dtype), H5Tclose(type);
    if (o->count == 0) {
        snprintf(o->dtype, sizeof o->dtype, "%s", dtype);
        o->rank = desc->rank;
        memcpy(o->dims, desc->dims, sizeof o->dims);
    } else if (strcmp(o->dtype, dtype) != 0 || o->rank != desc->rank ||
               memcmp(o->dims, desc->dims, sizeof o->dims) != 0) {
        o->mixed = 1;
    }
    o->count++;
    o->unreadable += unreadable != 0;
    o->stored_bytes += H5Dget_storage_size(dataset);
    return 0;
}

static int visit_dataset(void *user, const char *path)
{
    struct summary *S = user;
    hid_t dataset = H5Dopen2(S->file, path, H5P_DEFAULT);
    if (dataset < 0) {
        tool_warning("%s: cannot open the dataset; left out of the summary", path);
        return 0;
    }
    h5img_dataset_desc desc;
    int result = 0;
    if (h5img_describe_dataset(dataset, &desc) != H5IMG_OK) {
        tool_warning("%s: %s", path, desc.message);
    } else if (desc.storage == H5IMG_STORAGE_REPACKED) {
        result = add_repacked(S, dataset, path, &desc);
    } else {
        int image = desc.storage == H5IMG_STORAGE_LEGACY ? add_legacy(S, dataset, path, &desc) : 0;
        if (image < 0)
            result = image;
        else if (image != 1)
            result = add_other(S, dataset, path, &desc, image == LEGACY_UNREADABLE);
    }
    H5Dclose(dataset);
    return result < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------- */
/* Rendering                                                                 */
/* ------------------------------------------------------------------------- */

static const char *storage_name(const struct image_group *g)
{
    return g->legacy && g->repacked ? "mixed" : g->repacked ? "repacked" : "legacy";
}

static void codecs_text(const struct image_group *g, struct sbuf *b)
{
    static const char *names[3] = {"PNG", "JPEG", "unknown"};
    int first = 1;
    for (int i = 0; i < 3; i++)
        if (g->codecs[i]) sb_printf(b, "%s%s", first ? "" : "+", names[i]), first = 0;
    if (first) sb_printf(b, "?");
}

static void image_line(const struct image_group *g, struct sbuf *b)
{
    char size[32];
    tool_format_bytes(g->stored_bytes, size, sizeof size);
    sb_printf(b, "  %s: %llu frame%s, ", g->path, (unsigned long long)g->frames, g->frames == 1 ? "" : "s");
    codecs_text(g, b);
    if (g->have_shape) {
        sb_printf(b, " %ux%ux%u%s", g->shape.width, g->shape.height, g->shape.channels,
                  g->shape.element_size == 2 ? " uint16" : "");
        if (g->mixed_shape) {
            const char *what[3];
            int n = 0;
            if (g->mixed_size) what[n++] = "sizes vary";
            if (g->mixed_channels) what[n++] = "channel count varies";
            if (g->mixed_depth) what[n++] = "sample type varies";
            sb_printf(b, " (");
            for (int i = 0; i < n; i++) sb_printf(b, "%s%s", i ? ", " : "", what[i]);
            sb_printf(b, ")");
        }
    }
    sb_printf(b, ", %s", size);
    if (g->repacked) {
        sb_printf(b, ", %s", storage_name(g));
        if (g->have_shape && !g->mixed_rule)
            sb_printf(b, " (%s rule%s)", h5img_rule_name(g->shape.rule), g->shape.flags & H5IMG_FLAG_BGR ? ", BGR" : "");
    }
    if (g->unreadable) sb_printf(b, ", %llu unreadable", (unsigned long long)g->unreadable);
    sb_printf(b, "\n");
}

static void shape_text(const struct other_group *o, struct sbuf *b, int json)
{
    sb_printf(b, json ? "[" : "(");
    for (int i = 0; i < o->rank && i < H5IMG_DESC_MAX_RANK; i++)
        sb_printf(b, "%s%llu", i ? ", " : "", (unsigned long long)o->dims[i]);
    if (!json && o->rank == 1) sb_printf(b, ",");
    sb_printf(b, json ? "]" : ")");
}

static void other_line(const struct other_group *o, struct sbuf *b)
{
    sb_printf(b, "  %s: ", o->key);
    if (o->count > 1) sb_printf(b, "%llu datasets, ", (unsigned long long)o->count);
    if (o->mixed)
        sb_printf(b, "types or shapes vary");
    else
        sb_printf(b, "%s ", o->dtype), shape_text(o, b, 0);
    if (o->unreadable) sb_printf(b, ", %llu unreadable (HDF5 cannot read the bytes)", (unsigned long long)o->unreadable);
    sb_printf(b, "\n");
}

struct attr_list {
    struct sbuf *b;
    int json, count;
};

static herr_t attribute_entry(hid_t location, const char *name, const H5A_info_t *info, void *data)
{
    struct attr_list *list = data;
    hid_t attr = H5Aopen(location, name, H5P_DEFAULT);
    if (attr < 0) return 0;
    if (list->json) {
        sb_printf(list->b, "%s\n    ", list->count ? "," : "");
        sb_quote_str(list->b, name);
        sb_printf(list->b, ": ");
    } else {
        sb_printf(list->b, "  %s = ", name);
    }
    render_attribute(attr, list->b);
    if (!list->json) sb_printf(list->b, "\n");
    list->count++;
    H5Aclose(attr);
    return 0;
}

static int compare_images(const void *a, const void *b)
{
    return dump_natural_compare(((const struct image_group *)a)->path, ((const struct image_group *)b)->path);
}

static int compare_others(const void *a, const void *b)
{
    return dump_natural_compare(((const struct other_group *)a)->key, ((const struct other_group *)b)->key);
}

static void render_text(struct summary *S, const dump_options *options, struct sbuf *b)
{
    char size[32];
    hsize_t file_size = 0;
    H5Fget_filesize(S->file, &file_size);
    tool_format_bytes(file_size, size, sizeof size);
    sb_printf(b, "%s (%s)\n", options->file, size);
    sb_printf(b, "Attributes:\n");
    struct attr_list list = {b, 0, 0};
    H5Aiterate2(S->file, H5_INDEX_NAME, H5_ITER_INC, NULL, attribute_entry, &list);
    if (!list.count) sb_printf(b, "  (none)\n");
    uint64_t frames = 0;
    for (size_t i = 0; i < S->nimages; i++) frames += S->images[i].frames;
    sb_printf(b, "Image datasets: %llu frame%s in %zu group%s\n", (unsigned long long)frames, frames == 1 ? "" : "s",
              S->nimages, S->nimages == 1 ? "" : "s");
    for (size_t i = 0; i < S->nimages; i++) image_line(&S->images[i], b);
    sb_printf(b, "Other datasets:%s\n", S->nothers ? "" : " (none)");
    for (size_t i = 0; i < S->nothers; i++) other_line(&S->others[i], b);
}

static void image_json(const struct image_group *g, struct sbuf *b)
{
    static const char *names[3] = {"PNG", "JPEG", "unknown"};
    sb_printf(b, "{\"path\": ");
    sb_quote_str(b, g->path);
    sb_printf(b, ", \"frames\": %llu, \"storage\": \"%s\", \"codecs\": {", (unsigned long long)g->frames,
              storage_name(g));
    int first = 1;
    for (int i = 0; i < 3; i++)
        if (g->codecs[i]) sb_printf(b, "%s\"%s\": %llu", first ? "" : ", ", names[i], (unsigned long long)g->codecs[i]), first = 0;
    sb_printf(b, "}");
    if (g->have_shape) {
        sb_printf(b, ", \"width\": %u, \"height\": %u, \"channels\": %u, \"dtype\": \"%s\", \"uniform_shape\": %s",
                  g->shape.width, g->shape.height, g->shape.channels, g->shape.element_size == 2 ? "uint16" : "uint8",
                  g->mixed_shape ? "false" : "true");
    } else {
        sb_printf(b, ", \"width\": null, \"height\": null, \"channels\": null, \"dtype\": null, \"uniform_shape\": null");
    }
    if (g->repacked && g->have_shape && !g->mixed_rule)
        sb_printf(b, ", \"rule\": \"%s\", \"bgr\": %s", h5img_rule_name(g->shape.rule),
                  g->shape.flags & H5IMG_FLAG_BGR ? "true" : "false");
    else
        sb_printf(b, ", \"rule\": null, \"bgr\": null");
    sb_printf(b, ", \"stored_bytes\": %llu, \"unreadable\": %llu}", (unsigned long long)g->stored_bytes,
              (unsigned long long)g->unreadable);
}

static void other_json(const struct other_group *o, struct sbuf *b)
{
    sb_printf(b, "{\"path\": ");
    sb_quote_str(b, o->key);
    sb_printf(b, ", \"count\": %llu, \"dtype\": ", (unsigned long long)o->count);
    if (o->mixed) {
        sb_printf(b, "null, \"shape\": null");
    } else {
        sb_quote_str(b, o->dtype);
        sb_printf(b, ", \"shape\": ");
        shape_text(o, b, 1);
    }
    sb_printf(b, ", \"stored_bytes\": %llu, \"unreadable\": %llu}", (unsigned long long)o->stored_bytes,
              (unsigned long long)o->unreadable);
}

static void render_json(struct summary *S, const dump_options *options, struct sbuf *b)
{
    hsize_t file_size = 0;
    H5Fget_filesize(S->file, &file_size);
    sb_printf(b, "{\n  \"file\": ");
    sb_quote_str(b, options->file);
    sb_printf(b, ",\n  \"file_size\": %llu,\n  \"attributes\": {", (unsigned long long)file_size);
    struct attr_list list = {b, 1, 0};
    H5Aiterate2(S->file, H5_INDEX_NAME, H5_ITER_INC, NULL, attribute_entry, &list);
    sb_printf(b, "%s},\n  \"image_groups\": [", list.count ? "\n  " : "");
    for (size_t i = 0; i < S->nimages; i++) {
        sb_printf(b, "%s\n    ", i ? "," : "");
        image_json(&S->images[i], b);
    }
    sb_printf(b, "%s],\n  \"datasets\": [", S->nimages ? "\n  " : "");
    for (size_t i = 0; i < S->nothers; i++) {
        sb_printf(b, "%s\n    ", i ? "," : "");
        other_json(&S->others[i], b);
    }
    sb_printf(b, "%s]\n}\n", S->nothers ? "\n  " : "");
}

/* ------------------------------------------------------------------------- */
/* Entry                                                                     */
/* ------------------------------------------------------------------------- */

/* The sec2 descriptor and userblock size, for reading chunk headers directly. */
static void open_peek(struct summary *S)
{
    S->fd = -1;
    hid_t fapl = H5Fget_access_plist(S->file);
    void *handle = NULL;
    if (fapl >= 0 && H5Pget_driver(fapl) == H5FD_SEC2 && H5Fget_vfd_handle(S->file, fapl, &handle) >= 0 && handle)
        S->fd = *(int *)handle;
    if (fapl >= 0) H5Pclose(fapl);
    hid_t fcpl = H5Fget_create_plist(S->file);
    hsize_t userblock = 0;
    if (fcpl >= 0 && H5Pget_userblock(fcpl, &userblock) >= 0) S->base = userblock;
    if (fcpl >= 0) H5Pclose(fcpl);
}

static void free_summary(struct summary *S)
{
    for (size_t i = 0; i < S->nimages; i++) free(S->images[i].path);
    for (size_t i = 0; i < S->nothers; i++) free(S->others[i].key);
    free(S->images);
    free(S->others);
    free(S->chunk);
}

int dump_summary(hid_t file, const dump_options *options)
{
    struct summary S;
    memset(&S, 0, sizeof S);
    S.file = file;
    open_peek(&S);
    int walk = dump_walk(file, visit_dataset, &S);
    if (walk < 0 || S.out_of_memory) {
        tool_error("%s", S.out_of_memory ? "out of memory" : "cannot walk the objects of the file");
        free_summary(&S);
        return TOOL_EXIT_FAILURE;
    }
    /* qsort's pointer must be valid even for zero elements (UBSan holds us to it). */
    if (S.nimages) qsort(S.images, S.nimages, sizeof *S.images, compare_images);
    if (S.nothers) qsort(S.others, S.nothers, sizeof *S.others, compare_others);
    struct sbuf b = {NULL, 0, 0};
    if (options->json) render_json(&S, options, &b);
    else render_text(&S, options, &b);
    int failed = fputs(sb_str(&b), stdout) < 0 || fflush(stdout) != 0;
    free(b.data);
    free_summary(&S);
    if (failed) tool_error("cannot write the summary to standard output");
    return failed ? TOOL_EXIT_FAILURE : TOOL_EXIT_OK;
}
