/* repack_frame.c: turn one encoded 1-D uint8 dataset into a filtered image dataset, and back (--unpack). */
#include "frame_candidate.h"
#include "hdf5/image_detect.h"
#include "repack.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The H5IMG_ORIGINAL attribute is one line of space-separated key=value
 * tokens, readable in h5dump, e.g.
 *   format=1 size=80213 order=le layout=chunked chunk=80213 maxdims=unlimited
 *   alloc=2 fill_time=0 attr_order=0 filter=1,0,4 added=CLASS,IMAGE_VERSION
 * The chunk itself is the original bytes, so only the dataset creation
 * properties and the names of the attributes repack added are recorded. */
#define ORIGINAL_FORMAT 1
#define MAX_FILTERS 16
#define MAX_CD 32

struct original_filter {
    unsigned id;
    unsigned flags;
    size_t cd_count;
    unsigned cd[MAX_CD];
};

struct original {
    uint64_t size;
    int big_endian;
    H5D_layout_t layout;
    hsize_t chunk;
    hsize_t maxdim; /* H5S_UNLIMITED allowed */
    int alloc_time;
    int fill_time;
    int fill_defined; /* a user-defined fill value was set */
    unsigned fill;
    unsigned attr_order;
    size_t filter_count;
    struct original_filter filters[MAX_FILTERS];
    char added[256]; /* comma-separated attribute names repack wrote */
    hsize_t attr_count; /* not recorded: spares the attribute look-ups on frames that have none */
};

static hsize_t dataset_length(hid_t dataset);
static int read_prefix(hid_t dataset, hsize_t count, void *buf);

static const char *const IMAGE_ATTRS[] = {"CLASS", "IMAGE_VERSION", "IMAGE_SUBCLASS", "INTERLACE_MODE", NULL};

/* ------------------------------------------------------------------------- */
/* Small dataset helpers                                                     */
/* ------------------------------------------------------------------------- */


static int has_h5img_filter(hid_t dataset)
{
    hid_t dcpl = H5Dget_create_plist(dataset);
    if (dcpl < 0) return 0;
    unsigned flags = 0, config = 0;
    size_t cd_count = 0;
    int yes = H5Pget_filter_by_id2(dcpl, H5IMG_FILTER_ID, &flags, &cd_count, NULL, 0, NULL, &config) >= 0;
    H5Pclose(dcpl);
    return yes;
}

/* The shared detector's first question: a PNG or JPEG signature at all. */
static int has_signature(const unsigned char *head, size_t head_size, uint64_t length)
{
    h5img_info info;
    h5img_layout layout;
    h5img_status status;
    return h5img_frame_examine(head, head_size, length, H5IMG_RULE_NATIVE, 0, &info, &layout, &status) !=
           H5IMG_FRAME_NOT_IMAGE;
}

int repack_looks_encoded(hid_t dataset)
{
    unsigned char head[8];
    hsize_t length = dataset_length(dataset);
    hsize_t head_size = length < sizeof head ? length : sizeof head;
    return tool_frame_is_candidate(dataset) && read_prefix(dataset, head_size, head) == 0 &&
           has_signature(head, (size_t)head_size, length);
}

int repack_is_converted(hid_t dataset)
{
    return H5Aexists(dataset, REPACK_ORIGINAL_ATTR) > 0 && has_h5img_filter(dataset);
}

static int has_committed_type(hid_t dataset)
{
    hid_t type = H5Dget_type(dataset);
    int committed = type >= 0 && H5Tcommitted(type) > 0;
    if (type >= 0) H5Tclose(type);
    return committed;
}

static hsize_t dataset_length(hid_t dataset)
{
    hid_t space = H5Dget_space(dataset);
    hssize_t points = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (space >= 0) H5Sclose(space);
    return points > 0 ? (hsize_t)points : 0;
}

/* Read the first `count` bytes of a 1-D uint8 dataset. */
static int read_prefix(hid_t dataset, hsize_t count, void *buf)
{
    hsize_t start = 0;
    hid_t file_space = H5Dget_space(dataset);
    hid_t mem_space = H5Screate_simple(1, &count, NULL);
    int rc = -1;
    if (file_space >= 0 && mem_space >= 0 &&
        H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, NULL, &count, NULL) >= 0)
        rc = H5Dread(dataset, H5T_NATIVE_UCHAR, mem_space, file_space, H5P_DEFAULT, buf) < 0 ? -1 : 0;
    if (mem_space >= 0) H5Sclose(mem_space);
    if (file_space >= 0) H5Sclose(file_space);
    return rc;
}

static enum repack_outcome keep_raw(struct repack_ctx *ctx, hid_t src_group, hid_t dst_group, const char *name,
                                    const char *path, hid_t lcpl, const char *reason)
{
    /* Not the frame's fault: OUT is lost. HDF5 1.10 can crash in H5Ocopy
     * after a failed write, and OUT is deleted anyway. */
    if (repack_output_failed(ctx)) return REPACK_FAILED;
    if (repack_copy_dataset(ctx, src_group, dst_group, name, path, lcpl) < 0) {
        tool_error("%s: cannot copy the dataset as it is (after: %s)", path, reason);
        return REPACK_FAILED;
    }
    repack_problem(ctx, path, "%s", reason);
    ctx->stats.kept_raw++;
    return REPACK_KEPT_RAW;
}

/* ------------------------------------------------------------------------- */
/* The original's creation properties                                        */
/* ------------------------------------------------------------------------- */

static int describe_filters(hid_t dcpl, struct original *orig)
{
    int count = H5Pget_nfilters(dcpl);
    if (count < 0 || count > MAX_FILTERS) return -1;
    for (int i = 0; i < count; i++) {
        struct original_filter *f = &orig->filters[i];
        unsigned config = 0;
        f->cd_count = MAX_CD;
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &f->flags, &f->cd_count, f->cd, 0, NULL, &config);
        if (id < 0 || f->cd_count > MAX_CD) return -1;
        f->id = (unsigned)id;
    }
    orig->filter_count = (size_t)count;
    return 0;
}

static int describe_fill(hid_t dcpl, struct original *orig)
{
    H5D_alloc_time_t alloc;
    H5D_fill_time_t fill_time;
    H5D_fill_value_t status;
    if (H5Pget_alloc_time(dcpl, &alloc) < 0 || H5Pget_fill_time(dcpl, &fill_time) < 0 ||
        H5Pfill_value_defined(dcpl, &status) < 0)
        return -1;
    orig->alloc_time = (int)alloc;
    orig->fill_time = (int)fill_time;
    orig->fill_defined = status == H5D_FILL_VALUE_USER_DEFINED;
    unsigned char fill = 0;
    if (orig->fill_defined && H5Pget_fill_value(dcpl, H5T_NATIVE_UCHAR, &fill) < 0) return -1;
    orig->fill = fill;
    return 0;
}

static int describe_space(hid_t dataset, struct original *orig)
{
    hsize_t dim = 0, maxdim = 0;
    hid_t space = H5Dget_space(dataset);
    int ok = space >= 0 && H5Sget_simple_extent_dims(space, &dim, &maxdim) == 1;
    if (space >= 0) H5Sclose(space);
    hid_t type = H5Dget_type(dataset);
    if (type >= 0) {
        orig->big_endian = H5Tget_order(type) == H5T_ORDER_BE;
        H5Tclose(type);
    }
    orig->size = dim;
    orig->maxdim = maxdim;
    return ok ? 0 : -1;
}

/* Fill `orig` from the source dataset. Returns -1 for layouts repack does
 * not convert (virtual, external storage): those stay as they are. */
static int describe_original(hid_t dataset, struct original *orig)
{
    memset(orig, 0, sizeof *orig);
    hid_t dcpl = H5Dget_create_plist(dataset);
    if (dcpl < 0) return -1;
    int rc = -1;
    orig->layout = H5Pget_layout(dcpl);
    if (orig->layout != H5D_CONTIGUOUS && orig->layout != H5D_CHUNKED && orig->layout != H5D_COMPACT) goto done;
    if (H5Pget_external_count(dcpl) != 0) goto done;
    if (orig->layout == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, &orig->chunk) != 1) goto done;
    if (H5Pget_attr_creation_order(dcpl, &orig->attr_order) < 0) goto done;
    if (describe_fill(dcpl, orig) < 0 || describe_filters(dcpl, orig) < 0) goto done;
    H5O_info_t info;
    if (H5Oget_info2(dataset, &info, H5O_INFO_NUM_ATTRS) < 0) goto done;
    orig->attr_count = info.num_attrs;
    rc = describe_space(dataset, orig);
done:
    H5Pclose(dcpl);
    return rc;
}

static const char *layout_name(H5D_layout_t layout)
{
    return layout == H5D_CHUNKED ? "chunked" : layout == H5D_COMPACT ? "compact" : "contiguous";
}

static void append(char *out, size_t out_size, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void append(char *out, size_t out_size, const char *format, ...)
{
    size_t used = strlen(out);
    if (used >= out_size) return;
    va_list args;
    va_start(args, format);
    vsnprintf(out + used, out_size - used, format, args);
    va_end(args);
}

static void format_original(const struct original *orig, char *out, size_t out_size)
{
    out[0] = '\0';
    append(out, out_size, "format=%d size=%" PRIu64 " order=%s layout=%s", ORIGINAL_FORMAT, orig->size,
           orig->big_endian ? "be" : "le", layout_name(orig->layout));
    if (orig->layout == H5D_CHUNKED) append(out, out_size, " chunk=%llu", (unsigned long long)orig->chunk);
    if (orig->maxdim == H5S_UNLIMITED)
        append(out, out_size, " maxdims=unlimited");
    else
        append(out, out_size, " maxdims=%llu", (unsigned long long)orig->maxdim);
    append(out, out_size, " alloc=%d fill_time=%d attr_order=%u", orig->alloc_time, orig->fill_time, orig->attr_order);
    if (orig->fill_defined) append(out, out_size, " fill=%u", orig->fill);
    for (size_t i = 0; i < orig->filter_count; i++) {
        const struct original_filter *f = &orig->filters[i];
        append(out, out_size, " filter=%u,%u", f->id, f->flags);
        for (size_t j = 0; j < f->cd_count; j++) append(out, out_size, ",%u", f->cd[j]);
    }
    append(out, out_size, " added=%s", orig->added);
}

static int parse_filter(const char *value, struct original *orig)
{
    if (orig->filter_count >= MAX_FILTERS) return -1;
    struct original_filter *f = &orig->filters[orig->filter_count++];
    char *end = NULL;
    f->id = (unsigned)strtoul(value, &end, 10);
    if (*end != ',') return -1;
    f->flags = (unsigned)strtoul(end + 1, &end, 10);
    while (*end == ',') {
        if (f->cd_count >= MAX_CD) return -1;
        f->cd[f->cd_count++] = (unsigned)strtoul(end + 1, &end, 10);
    }
    return *end == '\0' ? 0 : -1;
}

static int parse_token(const char *key, const char *value, struct original *orig)
{
    char *end = NULL;
    if (strcmp(key, "format") == 0) return atoi(value) == ORIGINAL_FORMAT ? 0 : -1;
    if (strcmp(key, "size") == 0) orig->size = strtoull(value, &end, 10);
    else if (strcmp(key, "order") == 0) orig->big_endian = strcmp(value, "be") == 0;
    else if (strcmp(key, "layout") == 0)
        orig->layout = strcmp(value, "chunked") == 0 ? H5D_CHUNKED : strcmp(value, "compact") == 0 ? H5D_COMPACT : H5D_CONTIGUOUS;
    else if (strcmp(key, "chunk") == 0) orig->chunk = strtoull(value, &end, 10);
    else if (strcmp(key, "maxdims") == 0)
        orig->maxdim = strcmp(value, "unlimited") == 0 ? H5S_UNLIMITED : strtoull(value, &end, 10);
    else if (strcmp(key, "alloc") == 0) orig->alloc_time = atoi(value);
    else if (strcmp(key, "fill_time") == 0) orig->fill_time = atoi(value);
    else if (strcmp(key, "attr_order") == 0) orig->attr_order = (unsigned)atoi(value);
    else if (strcmp(key, "fill") == 0) {
        orig->fill_defined = 1;
        orig->fill = (unsigned)atoi(value);
    } else if (strcmp(key, "filter") == 0) return parse_filter(value, orig);
    else if (strcmp(key, "added") == 0) snprintf(orig->added, sizeof orig->added, "%s", value);
    /* Unknown keys are ignored so a later minor addition stays readable. */
    return end && *end ? -1 : 0;
}

static int parse_original(const char *text, struct original *orig)
{
    memset(orig, 0, sizeof *orig);
    orig->maxdim = 0;
    char *copy = strdup(text);
    if (!copy) return -1;
    int rc = 0, saw_format = 0;
    char *save = NULL;
    for (char *token = strtok_r(copy, " ", &save); token && rc == 0; token = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(token, '=');
        if (!eq) {
            rc = -1;
            break;
        }
        *eq = '\0';
        saw_format |= strcmp(token, "format") == 0;
        rc = parse_token(token, eq + 1, orig);
    }
    free(copy);
    if (!saw_format || orig->size == 0) rc = -1;
    if (orig->maxdim == 0) orig->maxdim = orig->size;
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Repack: bytes -> image dataset                                            */
/* ------------------------------------------------------------------------- */

/* Rule from --rule (last match wins), else the shared default (MASK for mask paths, NATIVE otherwise). */
static int choose_rule(const struct repack_options *opt, const char *path)
{
    for (size_t i = opt->rule_count; i-- > 0;)
        if (tool_path_match(opt->rules[i].pattern, path)) return opt->rules[i].rule;
    return h5img_frame_default_rule(path);
}

static const char *codec_label(h5img_codec codec)
{
    return codec == H5IMG_CODEC_PNG ? "PNG" : codec == H5IMG_CODEC_JPEG ? "JPEG" : "image";
}

/* Decode once, discarding the pixels: only the verdict matters. */
static int verify_frame(struct repack_ctx *ctx, const void *bytes, size_t size, const h5img_layout *layout,
                        char *reason, size_t reason_size)
{
    size_t out_size = h5img_layout_bytes(layout);
    void *pixels = malloc(out_size ? out_size : 1);
    if (!pixels) {
        snprintf(reason, reason_size, "out of memory while verifying");
        return -1;
    }
    h5img_status status = h5img_decoder_decode(ctx->decoder, bytes, size, layout, pixels, out_size);
    free(pixels);
    if (status == H5IMG_OK) return 0;
    const char *detail = h5img_decoder_message(ctx->decoder);
    snprintf(reason, reason_size, "does not decode: %s%s%s", h5img_strerror(status), *detail ? ": " : "", detail);
    return -1;
}

static int add_image_attrs(hid_t dataset, hid_t src, const h5img_layout *layout, struct original *orig)
{
    const char *values[4] = {"IMAGE", "1.2", NULL, NULL};
    if (layout->channels == 1) values[2] = "IMAGE_GRAYSCALE";
    else if (layout->channels == 3) {
        values[2] = "IMAGE_TRUECOLOR";
        values[3] = "INTERLACE_PIXEL";
    } else {
        return 0; /* the Image specification has no 4-channel class */
    }
    for (int i = 0; i < 4 && values[i]; i++) {
        if (orig->attr_count && H5Aexists(src, IMAGE_ATTRS[i]) > 0) continue; /* never overwrite what the file had */
        if (repack_write_string_attr(dataset, IMAGE_ATTRS[i], values[i]) < 0) return -1;
        append(orig->added, sizeof orig->added, "%s%s", orig->added[0] ? "," : "", IMAGE_ATTRS[i]);
    }
    return 0;
}

static hid_t image_dcpl(const h5img_layout *layout, h5img_codec codec, const struct original *orig)
{
    hsize_t dims[3] = {layout->height, layout->width, layout->channels};
    int rank = layout->channels == 1 ? 2 : 3;
    unsigned cd[H5IMG_CD_COUNT] = {0};
    cd[H5IMG_CD_VERSION_SLOT] = H5IMG_CD_VERSION;
    cd[H5IMG_CD_RULE] = layout->rule;
    cd[H5IMG_CD_FLAGS] = layout->flags;
    cd[H5IMG_CD_CODEC] = codec;
    cd[H5IMG_CD_LEVEL] = 0;
    cd[H5IMG_CD_HEIGHT] = layout->height;
    cd[H5IMG_CD_WIDTH] = layout->width;
    cd[H5IMG_CD_CHANNELS] = layout->channels;
    cd[H5IMG_CD_ELEMSIZE] = layout->element_size;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0) return -1;
    if (H5Pset_chunk(dcpl, rank, dims) < 0 ||
        H5Pset_filter(dcpl, H5IMG_FILTER_ID, H5Z_FLAG_MANDATORY, H5IMG_CD_COUNT, cd) < 0 ||
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0 || H5Pset_attr_creation_order(dcpl, orig->attr_order) < 0 ||
        H5Pset_obj_track_times(dcpl, 0) < 0) { /* same input, same output bytes */
        H5Pclose(dcpl);
        return -1;
    }
    return dcpl;
}

/* Create the image dataset and store the bytes as its only chunk. */
static hid_t write_image(struct repack_ctx *ctx, hid_t dst_group, const char *name, hid_t lcpl,
                         const h5img_layout *layout, h5img_codec codec, const struct original *orig,
                         const void *bytes, size_t size)
{
    hsize_t dims[3] = {layout->height, layout->width, layout->channels};
    hsize_t offset[3] = {0, 0, 0};
    hid_t space = H5Screate_simple(layout->channels == 1 ? 2 : 3, dims, NULL);
    hid_t dcpl = image_dcpl(layout, codec, orig);
    hid_t type = layout->element_size == 2 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT8;
    hid_t dataset = -1;
    if (space >= 0 && dcpl >= 0) dataset = H5Dcreate2(dst_group, name, type, space, lcpl, dcpl, H5P_DEFAULT);
    if (dataset >= 0 && H5Dwrite_chunk(dataset, H5P_DEFAULT, 0, offset, size, bytes) < 0) {
        H5Dclose(dataset);
        if (!ctx->output.error) H5Ldelete(dst_group, name, H5P_DEFAULT); /* a lost OUT needs no tidying */
        dataset = -1;
    }
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return dataset;
}

static int finish_attributes(struct repack_ctx *ctx, hid_t dataset, hid_t src, const h5img_layout *layout, struct original *orig)
{
    if (orig->attr_count && repack_copy_attributes(ctx, src, dataset, NULL, NULL) < 0) return -1;
    if (add_image_attrs(dataset, src, layout, orig) < 0) return -1;
    /* Many filters with many values outgrow any fixed buffer, and a cut
     * record would make --unpack rebuild a different dataset: grow until
     * the whole record fits (append stops short when it does not). */
    for (size_t size = 2048; size <= ((size_t)1 << 24); size *= 2) {
        char *record = malloc(size);
        if (!record) return -1;
        format_original(orig, record, size);
        if (strlen(record) + 1 < size) {
            int rc = repack_write_string_attr(dataset, REPACK_ORIGINAL_ATTR, record);
            free(record);
            return rc;
        }
        free(record);
    }
    return -1;
}

/* Everything after the bytes are in memory and known to be an image. */
static enum repack_outcome convert_bytes(struct repack_ctx *ctx, hid_t src, hid_t src_group, hid_t dst_group,
                                         const char *name, const char *path, hid_t lcpl, int rule,
                                         const void *bytes, size_t size, struct original *orig)
{
    char reason[512];
    h5img_info info;
    h5img_layout layout;
    h5img_status status;
    uint32_t flags = ctx->opt->bgr ? H5IMG_FLAG_BGR : 0;
    h5img_frame_verdict verdict =
        h5img_frame_examine(bytes, size, size, (h5img_rule)rule, flags, &info, &layout, &status);
    if (verdict == H5IMG_FRAME_UNPARSEABLE || verdict == H5IMG_FRAME_NOT_IMAGE) {
        snprintf(reason, sizeof reason, "%s header cannot be parsed: %s", codec_label(h5img_detect(bytes, size)),
                 h5img_strerror(status));
        return keep_raw(ctx, src_group, dst_group, name, path, lcpl, reason);
    }
    if (verdict != H5IMG_FRAME_IMAGE) {
        snprintf(reason, sizeof reason, "%ux%ux%u %s cannot be stored under this rule: %s", info.width, info.height,
                 info.channels, codec_label(info.codec), h5img_strerror(status));
        return keep_raw(ctx, src_group, dst_group, name, path, lcpl, reason);
    }
    if (ctx->decoder && verify_frame(ctx, bytes, size, &layout, reason, sizeof reason) < 0)
        return keep_raw(ctx, src_group, dst_group, name, path, lcpl, reason);
    hid_t dataset = write_image(ctx, dst_group, name, lcpl, &layout, info.codec, orig, bytes, size);
    if (dataset < 0)
        return keep_raw(ctx, src_group, dst_group, name, path, lcpl, "HDF5 refused the image dataset");
    int rc = finish_attributes(ctx, dataset, src, &layout, orig);
    H5Dclose(dataset);
    if (rc < 0) {
        tool_error("%s: cannot write the attributes of the converted dataset", path);
        return REPACK_FAILED;
    }
    ctx->stats.converted[info.codec == H5IMG_CODEC_PNG ? 0 : 1]++;
    tool_verbose("%s: %s %ux%ux%u%s -> image (%zu bytes)", path, codec_label(info.codec), info.width, info.height,
                 layout.channels, layout.element_size == 2 ? " uint16" : "", size);
    return REPACK_DONE;
}

static enum repack_outcome convert_dataset(struct repack_ctx *ctx, hid_t dataset, hid_t src_group, hid_t dst_group,
                                           const char *name, const char *path, hid_t lcpl)
{
    unsigned char head[8];
    hsize_t length = dataset_length(dataset);
    hsize_t head_size = length < sizeof head ? length : sizeof head;
    struct original orig;
    if (describe_original(dataset, &orig) < 0) return REPACK_NOT_FRAME;
    /* Bytes still in IN's mapping are never copied by this process: HDF5 is
     * handed the mapped address and OUT's driver has the kernel move them. */
    const unsigned char *mapped =
        orig.layout == H5D_CONTIGUOUS ? repack_source_bytes(&ctx->source, dataset, length) : NULL;
    if (mapped)
        memcpy(head, mapped, (size_t)head_size);
    else if (read_prefix(dataset, head_size, head) < 0)
        return REPACK_NOT_FRAME;
    if (!has_signature(head, (size_t)head_size, length)) return REPACK_NOT_FRAME;
    int rule = choose_rule(ctx->opt, path);
    if (rule == REPACK_RULE_KEEP) return REPACK_NOT_FRAME;

    ctx->stats.frames_seen++;
    repack_progress(ctx, length);
    if (orig.attr_count && H5Aexists(dataset, REPACK_ORIGINAL_ATTR) > 0)
        return keep_raw(ctx, src_group, dst_group, name, path, lcpl, "already carries " REPACK_ORIGINAL_ATTR);
    if (length > h5img_max_chunk_bytes())
        return keep_raw(ctx, src_group, dst_group, name, path, lcpl, "larger than the chunk size limit");
    /* The image dataset's type is the filter's, and --unpack writes plain bytes. */
    if (has_committed_type(dataset))
        return keep_raw(ctx, src_group, dst_group, name, path, lcpl, "its datatype is a committed (named) one");
    if (mapped)
        return convert_bytes(ctx, dataset, src_group, dst_group, name, path, lcpl, rule, mapped, (size_t)length,
                             &orig);
    void *bytes = malloc((size_t)length);
    if (!bytes) {
        tool_error("%s: out of memory (%llu bytes)", path, (unsigned long long)length);
        return REPACK_FAILED;
    }
    enum repack_outcome outcome;
    if (H5Dread(dataset, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes) < 0)
        outcome = keep_raw(ctx, src_group, dst_group, name, path, lcpl, "its bytes cannot be read");
    else
        outcome = convert_bytes(ctx, dataset, src_group, dst_group, name, path, lcpl, rule, bytes, (size_t)length,
                                &orig);
    free(bytes);
    return outcome;
}

enum repack_outcome repack_convert_frame(struct repack_ctx *ctx, hid_t src_group, hid_t dst_group, const char *name,
                                         const char *path, hid_t lcpl)
{
    hid_t dataset = H5Dopen2(src_group, name, H5P_DEFAULT);
    if (dataset < 0) return REPACK_NOT_FRAME;
    enum repack_outcome outcome = REPACK_NOT_FRAME;
    if (tool_frame_is_candidate(dataset)) outcome = convert_dataset(ctx, dataset, src_group, dst_group, name, path, lcpl);
    H5Dclose(dataset);
    return outcome;
}

/* ------------------------------------------------------------------------- */
/* Unpack: image dataset -> bytes                                            */
/* ------------------------------------------------------------------------- */

static hid_t original_dcpl(const struct original *orig)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0) return -1;
    int ok = H5Pset_layout(dcpl, orig->layout) >= 0 && H5Pset_attr_creation_order(dcpl, orig->attr_order) >= 0 &&
             H5Pset_alloc_time(dcpl, (H5D_alloc_time_t)orig->alloc_time) >= 0 &&
             H5Pset_fill_time(dcpl, (H5D_fill_time_t)orig->fill_time) >= 0;
    if (ok && orig->layout == H5D_CHUNKED) ok = H5Pset_chunk(dcpl, 1, &orig->chunk) >= 0;
    if (ok && orig->fill_defined) {
        unsigned char fill = (unsigned char)orig->fill;
        ok = H5Pset_fill_value(dcpl, H5T_NATIVE_UCHAR, &fill) >= 0;
    }
    for (size_t i = 0; ok && i < orig->filter_count; i++) {
        const struct original_filter *f = &orig->filters[i];
        ok = H5Pset_filter(dcpl, (H5Z_filter_t)f->id, f->flags, f->cd_count, f->cd) >= 0;
    }
    if (!ok) {
        H5Pclose(dcpl);
        return -1;
    }
    return dcpl;
}

static int write_bytes(hid_t dst_group, const char *name, hid_t lcpl, const struct original *orig, const void *bytes)
{
    hsize_t dim = orig->size, maxdim = orig->maxdim;
    hid_t space = H5Screate_simple(1, &dim, &maxdim);
    hid_t dcpl = original_dcpl(orig);
    hid_t dataset = -1;
    int rc = -1;
    if (space >= 0 && dcpl >= 0)
        dataset = H5Dcreate2(dst_group, name, orig->big_endian ? H5T_STD_U8BE : H5T_STD_U8LE, space, lcpl, dcpl,
                             H5P_DEFAULT);
    if (dataset >= 0) rc = H5Dwrite(dataset, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes) < 0 ? -1 : 0;
    if (dataset >= 0) H5Dclose(dataset);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return rc;
}

static enum repack_outcome restore_dataset(struct repack_ctx *ctx, hid_t dataset, hid_t src_group, hid_t dst_group,
                                           const char *name, const char *path, hid_t lcpl)
{
    struct original orig;
    char *record = repack_read_string_attr(dataset, REPACK_ORIGINAL_ATTR);
    int parsed = record ? parse_original(record, &orig) : -1;
    free(record);
    if (parsed < 0) return keep_raw(ctx, src_group, dst_group, name, path, lcpl, REPACK_ORIGINAL_ATTR " is unreadable");
    hsize_t offset[3] = {0, 0, 0};
    hsize_t stored = 0;
    if (H5Dget_chunk_storage_size(dataset, offset, &stored) < 0 || stored != orig.size)
        return keep_raw(ctx, src_group, dst_group, name, path, lcpl, "stored chunk size differs from " REPACK_ORIGINAL_ATTR);
    ctx->stats.frames_seen++;
    repack_progress(ctx, stored);
    void *bytes = malloc((size_t)stored);
    uint32_t mask = 0;
    if (!bytes || H5Dread_chunk(dataset, H5P_DEFAULT, offset, &mask, bytes) < 0) {
        free(bytes);
        return keep_raw(ctx, src_group, dst_group, name, path, lcpl, "the chunk cannot be read");
    }
    int rc = write_bytes(dst_group, name, lcpl, &orig, bytes);
    free(bytes);
    if (rc < 0) {
        if (!ctx->output.error) H5Ldelete(dst_group, name, H5P_DEFAULT);
        return keep_raw(ctx, src_group, dst_group, name, path, lcpl, "HDF5 refused the original dataset layout");
    }
    static const char *const skip[] = {REPACK_ORIGINAL_ATTR, NULL};
    hid_t restored = H5Dopen2(dst_group, name, H5P_DEFAULT);
    rc = restored >= 0 ? repack_copy_attributes(ctx, dataset, restored, skip, orig.added) : -1;
    if (restored >= 0) H5Dclose(restored);
    if (rc < 0) {
        tool_error("%s: cannot copy the attributes back", path);
        return REPACK_FAILED;
    }
    ctx->stats.restored++;
    tool_verbose("%s: image -> %llu bytes", path, (unsigned long long)stored);
    return REPACK_DONE;
}

enum repack_outcome repack_restore_frame(struct repack_ctx *ctx, hid_t src_group, hid_t dst_group, const char *name,
                                         const char *path, hid_t lcpl)
{
    hid_t dataset = H5Dopen2(src_group, name, H5P_DEFAULT);
    if (dataset < 0) return REPACK_NOT_FRAME;
    enum repack_outcome outcome = REPACK_NOT_FRAME;
    if (repack_is_converted(dataset)) outcome = restore_dataset(ctx, dataset, src_group, dst_group, name, path, lcpl);
    H5Dclose(dataset);
    return outcome;
}
