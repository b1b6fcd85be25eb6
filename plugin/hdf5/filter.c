/* filter.c: the HDF5 boundary: can_apply, set_local and the filter function; the only code that turns statuses into H5Epush. */
#include "filter.h"
#include "core/decoder_state.h"
#include "core/huge_pages.h"
#include "hdf5/hdf5_api.h"
#include "hdf5/last_error.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REASON_SIZE 384
/* The bound HDF5 (hdf5_api.h): never NULL inside a callback, since HDF5 can
 * only call one after the plugin's entry points bound it. */
#define HDF5 (h5img_hdf5_api())
#define MAX_CHUNK_RANK 32 /* H5S_MAX_RANK */

/* ------------------------------------------------------------------------- */
/* Error reporting                                                           */
/* ------------------------------------------------------------------------- */

/* Every refusal goes onto the error stack of the HDF5 that called us (the
 * bound table's H5Epush2) with the numbers in it, so h5py/h5dump users see
 * why, not just "filter returned failure"; and it is kept as the thread's
 * h5img_last_error(), for HDF5 versions that pause the stack around a filter.
 * Callers push last: any later HDF5 API call would clear the stack. */
typedef enum minor_error { MINOR_CANAPPLY, MINOR_SETLOCAL, MINOR_CANTFILTER } minor_error;

__attribute__((format(printf, 4, 5))) static void push_error(const char *func, unsigned line, minor_error minor,
                                                             const char *format, ...)
{
    char text[REASON_SIZE];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    h5img_last_error_set(text);
    const h5img_hdf5 *hdf5 = h5img_hdf5_api();
    if (!hdf5) return;
    hid_t minor_id = minor == MINOR_CANAPPLY   ? hdf5->H5E_CANAPPLY_g
                     : minor == MINOR_SETLOCAL ? hdf5->H5E_SETLOCAL_g
                                               : hdf5->H5E_CANTFILTER_g;
    hdf5->H5Epush2(H5E_DEFAULT, __FILE__, func, line, hdf5->H5E_ERR_CLS_g, hdf5->H5E_PLINE_g, minor_id, "%s", text);
}

#define PUSH_ERROR(minor, ...) push_error(__func__, __LINE__, (minor), __VA_ARGS__)

static const char *rule_name(unsigned rule)
{
    switch (rule) {
    case H5IMG_RULE_AUTO: return "auto";
    case H5IMG_RULE_NATIVE: return "native";
    case H5IMG_RULE_COLOR: return "colour";
    case H5IMG_RULE_MASK: return "mask";
    case H5IMG_RULE_LUMA: return "luma";
    default: return "unknown";
    }
}

static const char *sample_name(uint32_t element_size)
{
    return element_size == 2 ? "uint16" : "uint8";
}

/* ------------------------------------------------------------------------- */
/* What a dataset looks like to h5img                                        */
/* ------------------------------------------------------------------------- */

static void format_dims(int rank, const hsize_t *dims, char *text, size_t size)
{
    size_t used = (size_t)snprintf(text, size, "(");
    for (int i = 0; i < rank && used < size; i++)
        used += (size_t)snprintf(text + used, size - used, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
    if (used < size) snprintf(text + used, size - used, ")");
}

/* THE interpretation of a chunk as one image, used by can_apply and
 * set_local alike so they can never disagree:
 *   rank 2                      -> (H, W), C = 1
 *   rank >= 3, last dim 1, 3, 4 -> (..., H, W, C)
 *   rank >= 3, otherwise        -> (..., H, W), C = 1
 *   every dimension before H must be 1 (one image per chunk), so a stack
 *   (N, H, W, C) chunked (1, H, W, C) stores one image per frame.
 * A W of 3 or 4 in a rank-3 chunk is therefore read as channels: such
 * narrow images need an explicit channel dimension, (1, H, 3, 1). */
static int chunk_as_image(int rank, const hsize_t *dims, h5img_layout *layout, char *why, size_t why_size)
{
    char shape[160];
    format_dims(rank, dims, shape, sizeof shape);
    if (rank < 2) {
        snprintf(why, why_size, "chunk %s is not one image: an image needs at least 2 dimensions (H, W)", shape);
        return 0;
    }
    hsize_t last = dims[rank - 1];
    int has_channels = rank >= 3 && (last == 1 || last == 3 || last == 4);
    int h = rank - (has_channels ? 3 : 2);
    for (int i = 0; i < h; i++) {
        if (dims[i] != 1) {
            /* (H, W, 2) reads as a stack of H images 2 pixels wide; what its writer meant is 2 channels. */
            if (rank >= 3 && last == 2)
                snprintf(why, why_size,
                         "chunk %s is not one image: its last dimension would be 2 channels, and h5img stores 1, 3 "
                         "or 4 (a gray+alpha PNG reads as 4 under the native rule)", shape);
            else
                snprintf(why, why_size, "chunk %s is not one image: leading dimensions must be 1", shape);
            return 0;
        }
    }
    if (dims[h] > H5IMG_MAX_DIMENSION || dims[h + 1] > H5IMG_MAX_DIMENSION) {
        snprintf(why, why_size, "chunk %s is not one image: height and width must be at most %u", shape,
                 H5IMG_MAX_DIMENSION);
        return 0;
    }
    layout->height = (uint32_t)dims[h];
    layout->width = (uint32_t)dims[h + 1];
    layout->channels = has_channels ? (uint32_t)last : 1;
    return 1;
}

static void describe_type(hid_t type, H5T_class_t type_class, size_t bytes, char *text, size_t size)
{
    size_t bits = bytes * 8;
    switch (type_class) {
    case H5T_INTEGER:
        snprintf(text, size, "%zu-bit %s integer", bits, HDF5->H5Tget_sign(type) == H5T_SGN_NONE ? "unsigned" : "signed");
        break;
    case H5T_FLOAT: snprintf(text, size, "%zu-bit float", bits); break;
    case H5T_STRING: snprintf(text, size, "string"); break;
    case H5T_BITFIELD: snprintf(text, size, "%zu-bit bitfield", bits); break;
    case H5T_OPAQUE: snprintf(text, size, "opaque"); break;
    case H5T_COMPOUND: snprintf(text, size, "compound"); break;
    case H5T_REFERENCE: snprintf(text, size, "reference"); break;
    case H5T_ENUM: snprintf(text, size, "%zu-bit enum", bits); break;
    case H5T_VLEN: snprintf(text, size, "variable-length"); break;
    case H5T_ARRAY: snprintf(text, size, "array"); break;
    default: snprintf(text, size, "%zu-byte value of an unknown class", bytes); break;
    }
}

/* uint8 or uint16 only: those are the sample types PNG/JPEG decode to. The
 * byte order of a uint16 type decides H5IMG_FLAG_BIG_ENDIAN. */
static int type_as_samples(hid_t type, h5img_layout *layout, char *why, size_t why_size)
{
    H5T_class_t type_class = HDF5->H5Tget_class(type);
    size_t bytes = HDF5->H5Tget_size(type);
    if (type_class == H5T_NO_CLASS || bytes == 0) {
        snprintf(why, why_size, "cannot query the dataset type");
        return -1;
    }
    if (type_class != H5T_INTEGER || HDF5->H5Tget_sign(type) != H5T_SGN_NONE || (bytes != 1 && bytes != 2)) {
        char name[64];
        describe_type(type, type_class, bytes, name, sizeof name);
        snprintf(why, why_size, "dataset type is %s; h5img stores uint8 or uint16", name);
        return 0;
    }
    layout->element_size = (uint32_t)bytes;
    layout->flags = bytes == 2 && HDF5->H5Tget_order(type) == H5T_ORDER_BE ? H5IMG_FLAG_BIG_ENDIAN : 0;
    return 1;
}

/* 1 with the layout's shape, sample size and byte order filled in; 0 when
 * h5img cannot store this dataset; -1 when HDF5 could not be queried. */
static int dataset_as_image(hid_t dcpl, hid_t type, h5img_layout *layout, char *why, size_t why_size)
{
    hsize_t dims[MAX_CHUNK_RANK];
    memset(layout, 0, sizeof *layout);
    if (HDF5->H5Pget_layout(dcpl) != H5D_CHUNKED) {
        snprintf(why, why_size, "dataset is not chunked; h5img stores one image per chunk");
        return 0;
    }
    int rank = HDF5->H5Pget_chunk(dcpl, MAX_CHUNK_RANK, dims);
    if (rank < 0) {
        snprintf(why, why_size, "cannot query the chunk dimensions");
        return -1;
    }
    if (!chunk_as_image(rank, dims, layout, why, why_size)) return 0;
    return type_as_samples(type, layout, why, why_size);
}

/* ------------------------------------------------------------------------- */
/* can_apply and set_local                                                   */
/* ------------------------------------------------------------------------- */

static htri_t h5img_can_apply(hid_t dcpl, hid_t type, hid_t space)
{
    h5img_last_error_clear();
    h5img_layout layout;
    char why[REASON_SIZE];
    int fits = dataset_as_image(dcpl, type, &layout, why, sizeof why);
    if (fits <= 0) PUSH_ERROR(MINOR_CANAPPLY, "%s", why);
    return fits > 0 ? 1 : fits;
}

/* The writer's slots 0-4, checked one by one so the message says which
 * value is wrong. Slots 5-8 are never trusted: a dcpl copied from another
 * dataset carries that dataset's shape. */
static int writer_values_valid(const unsigned *user, size_t count, char *why, size_t why_size)
{
    unsigned version = count > H5IMG_CD_VERSION_SLOT ? user[H5IMG_CD_VERSION_SLOT] : 0;
    unsigned rule = count > H5IMG_CD_RULE ? user[H5IMG_CD_RULE] : 0;
    unsigned flags = count > H5IMG_CD_FLAGS ? user[H5IMG_CD_FLAGS] : 0;
    unsigned codec = count > H5IMG_CD_CODEC ? user[H5IMG_CD_CODEC] : 0;
    unsigned level = count > H5IMG_CD_LEVEL ? user[H5IMG_CD_LEVEL] : 0;
    if (count > H5IMG_CD_COUNT)
        snprintf(why, why_size, "%zu cd_values given; h5img takes at most %d", count, H5IMG_CD_COUNT);
    else if (version > H5IMG_CD_VERSION)
        snprintf(why, why_size, "cd_values version %u is newer than this h5img's version %u", version, H5IMG_CD_VERSION);
    else if (rule > H5IMG_RULE_LUMA)
        snprintf(why, why_size, "rule %u is not 0 (auto), 1 (native), 2 (colour), 3 (mask) or 4 (luma)", rule);
    else if (flags & ~H5IMG_FLAGS_KNOWN)
        snprintf(why, why_size, "flags 0x%x have unknown bits; a writer may set only 0x%x (BGR)", flags, H5IMG_FLAG_BGR);
    else if (codec != H5IMG_CODEC_PNG && codec != H5IMG_CODEC_JPEG)
        snprintf(why, why_size, "codec %u is not 0 (PNG) or 1 (JPEG)", codec);
    else if (codec == H5IMG_CODEC_PNG && level > 9)
        snprintf(why, why_size, "PNG level %u is not 0-9 (0 = default %d)", level, H5IMG_DEFAULT_PNG_LEVEL);
    else if (codec == H5IMG_CODEC_JPEG && level > 100)
        snprintf(why, why_size, "JPEG quality %u is not 0-100 (0 = default %d)", level, H5IMG_DEFAULT_JPEG_QUALITY);
    else
        return 1;
    return 0;
}

/* The stored array: the writer's choices, AUTO resolved, shape and byte
 * order from the dataset. */
static void complete_values(const unsigned *user, size_t count, const h5img_layout *shape, unsigned *cd)
{
    unsigned given[H5IMG_CD_COUNT] = {0};
    memcpy(given, user, (count < H5IMG_CD_COUNT ? count : H5IMG_CD_COUNT) * sizeof *given);
    unsigned rule = given[H5IMG_CD_RULE];
    if (rule == H5IMG_RULE_AUTO) rule = h5img_resolve_rule(shape->channels, shape->element_size);
    cd[H5IMG_CD_VERSION_SLOT] = H5IMG_CD_VERSION;
    cd[H5IMG_CD_RULE] = rule;
    cd[H5IMG_CD_FLAGS] = (given[H5IMG_CD_FLAGS] & H5IMG_FLAG_BGR) | shape->flags;
    cd[H5IMG_CD_CODEC] = given[H5IMG_CD_CODEC];
    cd[H5IMG_CD_LEVEL] = given[H5IMG_CD_LEVEL];
    cd[H5IMG_CD_HEIGHT] = shape->height;
    cd[H5IMG_CD_WIDTH] = shape->width;
    cd[H5IMG_CD_CHANNELS] = shape->channels;
    cd[H5IMG_CD_ELEMSIZE] = shape->element_size;
}

static void describe_layout(const h5img_layout *layout, char *text, size_t size)
{
    snprintf(text, size, "(%u, %u, %u) %s", layout->height, layout->width, layout->channels,
             sample_name(layout->element_size));
}

/* Why stored cd_values are refused, naming the values: one sentence for
 * set_local (the completed array) and for every read and write (the stored
 * one), so that both directions refuse alike and say so alike. Returns 1 when
 * h5img_params_from_cd, the one validator, accepts them. */
static int cd_values_valid(const unsigned *cd, size_t count, h5img_params *params, char *why, size_t why_size)
{
    h5img_status status = h5img_params_from_cd(cd, count, params);
    if (status == H5IMG_OK) return 1;
    if (!cd || count == 0) {
        snprintf(why, why_size, "h5img filter has no cd_values (set_local stores %d when the dataset is created)",
                 H5IMG_CD_COUNT);
        return 0;
    }
    if (status == H5IMG_E_CD_VERSION) {
        snprintf(why, why_size,
                 "dataset was written with h5img cd_values version %u; this h5img reads up to version %u (upgrade h5img)",
                 cd[H5IMG_CD_VERSION_SLOT], H5IMG_CD_VERSION);
        return 0;
    }
    if (count != H5IMG_CD_COUNT) {
        snprintf(why, why_size, "h5img filter has %zu cd_values but version %u stores exactly %d (set_local stores them "
                 "when the dataset is created)", count, H5IMG_CD_VERSION, H5IMG_CD_COUNT);
        return 0;
    }
    h5img_layout layout = {.height = cd[H5IMG_CD_HEIGHT], .width = cd[H5IMG_CD_WIDTH],
                           .channels = cd[H5IMG_CD_CHANNELS], .element_size = cd[H5IMG_CD_ELEMSIZE],
                           .rule = (h5img_rule)cd[H5IMG_CD_RULE], .flags = cd[H5IMG_CD_FLAGS]};
    char shape[96], problem[192];
    describe_layout(&layout, shape, sizeof shape);
    if (cd[H5IMG_CD_CODEC] == H5IMG_CODEC_JPEG && (layout.element_size != 1 || layout.channels == 4))
        snprintf(problem, sizeof problem, "JPEG stores only uint8 images with 1 or 3 channels, but the chunk is %s", shape);
    else if (cd[H5IMG_CD_CODEC] == H5IMG_CODEC_JPEG &&
             (layout.width > H5IMG_JPEG_MAX_SIDE || layout.height > H5IMG_JPEG_MAX_SIDE))
        snprintf(problem, sizeof problem, "JPEG sides are at most %u pixels (libjpeg), but the chunk is %s",
                 H5IMG_JPEG_MAX_SIDE, shape);
    else if (layout.rule == H5IMG_RULE_COLOR && (layout.channels != 3 || layout.element_size != 1))
        snprintf(problem, sizeof problem, "rule colour needs a 3-channel uint8 chunk, but the chunk is %s", shape);
    else if ((layout.rule == H5IMG_RULE_MASK || layout.rule == H5IMG_RULE_LUMA) &&
             (layout.channels != 1 || layout.element_size != 1))
        snprintf(problem, sizeof problem, "rule %s needs a 1-channel uint8 chunk, but the chunk is %s",
                 rule_name(layout.rule), shape);
    else if (status == H5IMG_E_LIMIT)
        snprintf(problem, sizeof problem, "chunk %s exceeds the limits of %llu pixels and %zu bytes", shape,
                 (unsigned long long)h5img_max_pixels(), h5img_max_chunk_bytes());
    else
        snprintf(problem, sizeof problem, "the values are inconsistent");
    /* The numbers themselves, since a hostile or damaged file can hold any. */
    snprintf(why, why_size,
             "%s (h5img cd_values: version %u, rule %u, flags 0x%x, codec %u, level %u, %ux%ux%u, %u-byte samples)",
             problem, cd[0], cd[1], cd[2], cd[3], cd[4], cd[H5IMG_CD_WIDTH], cd[H5IMG_CD_HEIGHT], cd[H5IMG_CD_CHANNELS],
             cd[H5IMG_CD_ELEMSIZE]);
    return 0;
}

static herr_t h5img_set_local(hid_t dcpl, hid_t type, hid_t space)
{
    h5img_layout shape;
    char why[REASON_SIZE];
    unsigned user[H5IMG_CD_COUNT] = {0}, cd[H5IMG_CD_COUNT];
    unsigned filter_flags = 0;
    size_t count = H5IMG_CD_COUNT;

    h5img_last_error_clear();
    /* can_apply may have been skipped (an optional filter), so check again. */
    int fits = dataset_as_image(dcpl, type, &shape, why, sizeof why);
    if (fits <= 0) {
        PUSH_ERROR(MINOR_SETLOCAL, "%s", why);
        return -1;
    }
    if (HDF5->H5Pget_filter_by_id2(dcpl, H5IMG_FILTER_ID, &filter_flags, &count, user, 0, NULL, NULL) < 0) {
        PUSH_ERROR(MINOR_SETLOCAL, "cannot read the h5img filter's cd_values from the creation property list");
        return -1;
    }
    if (!writer_values_valid(user, count, why, sizeof why)) {
        PUSH_ERROR(MINOR_SETLOCAL, "%s", why);
        return -1;
    }
    complete_values(user, count, &shape, cd);
    h5img_params params;
    if (!cd_values_valid(cd, H5IMG_CD_COUNT, &params, why, sizeof why)) {
        PUSH_ERROR(MINOR_SETLOCAL, "%s", why);
        return -1;
    }
    if (HDF5->H5Pmodify_filter(dcpl, H5IMG_FILTER_ID, filter_flags, H5IMG_CD_COUNT, cd) < 0) {
        PUSH_ERROR(MINOR_SETLOCAL, "cannot store the h5img filter's cd_values");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Per-thread decoder                                                        */
/* ------------------------------------------------------------------------- */

/* A decoder keeps its inflate state and scratch buffer, so one per thread
 * is reused across chunks. It lives only in a pthread key, not in a
 * _Thread_local: a dlopen()ed module's dynamic TLS outlives the module when
 * H5close dlclose()s plugins, and LeakSanitizer crashed scanning it. The key
 * frees the decoder when its thread exits; the module destructor deletes the
 * key so that no destructor points into an unloaded plugin, and later calls
 * (if any) fall back to a decoder per call. A decoder whose scratch grew past
 * KEEP_SCRATCH_BYTES is not kept: one huge frame should not pin its memory. */
#define KEEP_SCRATCH_BYTES ((size_t)64 * 1024 * 1024)

static pthread_key_t decoder_key;
static pthread_once_t decoder_key_once = PTHREAD_ONCE_INIT;
static int decoder_key_live;

static void free_thread_decoder(void *decoder)
{
    h5img_decoder_free(decoder);
}

static void create_decoder_key(void)
{
    decoder_key_live = pthread_key_create(&decoder_key, free_thread_decoder) == 0;
}

static h5img_decoder *kept_decoder(void)
{
    return decoder_key_live ? pthread_getspecific(decoder_key) : NULL;
}

__attribute__((destructor)) static void delete_decoder_key(void)
{
    if (!decoder_key_live) return;
    h5img_decoder *decoder = kept_decoder();
    decoder_key_live = 0;
    pthread_setspecific(decoder_key, NULL);
    pthread_key_delete(decoder_key);
    h5img_decoder_free(decoder);
}

static h5img_decoder *acquire_decoder(void)
{
    pthread_once(&decoder_key_once, create_decoder_key);
    h5img_decoder *decoder = kept_decoder();
    if (decoder) return decoder;
    decoder = h5img_decoder_new();
    if (decoder && decoder_key_live) pthread_setspecific(decoder_key, decoder);
    return decoder;
}

static void release_decoder(h5img_decoder *decoder)
{
    if (decoder == kept_decoder()) {
        if (decoder->scratch_size <= KEEP_SCRATCH_BYTES) return;
        pthread_setspecific(decoder_key, NULL);
    }
    h5img_decoder_free(decoder);
}

/* ------------------------------------------------------------------------- */
/* The filter function                                                       */
/* ------------------------------------------------------------------------- */


/* HDF5 releases the filter's output with free() unless it was built with its
 * allocation sanity check, which expects H5allocate_memory's own header; on
 * other systems the plugin's C runtime may not be HDF5's. Only the plain case
 * can take a buffer aligned for huge pages. */
#if defined(__linux__) && !defined(H5_MEMORY_ALLOC_SANITY_CHECK)
#define DECODED_BUFFER_FROM_LIBC 1
#else
#define DECODED_BUFFER_FROM_LIBC 0
#endif

/* The buffer is faulted in by the decode (h5img_decoder_fault_in_later),
 * which knows when that overlaps best with the rest of its work. */
static void *allocate_decoded(size_t size, size_t *capacity)
{
    *capacity = size;
    void *out = DECODED_BUFFER_FROM_LIBC ? h5img_alloc_huge_aligned(size, capacity) : HDF5->H5allocate_memory(size, 0);
    h5img_advise_huge_pages(out, *capacity);
    return out;
}

static void free_decoded(void *out)
{
    if (DECODED_BUFFER_FROM_LIBC)
        free(out);
    else
        HDF5->H5free_memory(out);
}

/* Read: the chunk's encoded bytes become exactly one decoded image. */
static size_t decode_chunk(const h5img_params *params, size_t decoded_bytes, size_t nbytes, size_t *buf_size,
                           void **buf)
{
    size_t capacity = 0;
    void *out = allocate_decoded(decoded_bytes, &capacity);
    if (!out) {
        PUSH_ERROR(MINOR_CANTFILTER, "cannot allocate %zu bytes for a decoded %ux%ux%u image", decoded_bytes,
                   params->layout.width, params->layout.height, params->layout.channels);
        return 0;
    }
    h5img_decoder *decoder = acquire_decoder();
    if (decoder) h5img_decoder_fault_in_later(decoder, out, capacity);
    h5img_status status = decoder ? h5img_decoder_decode(decoder, *buf, nbytes, &params->layout, out, decoded_bytes)
                                  : H5IMG_E_NOMEM;
    if (status != H5IMG_OK) {
        char why[REASON_SIZE];
        snprintf(why, sizeof why, "%s", decoder && h5img_decoder_message(decoder)[0] ? h5img_decoder_message(decoder) : h5img_strerror(status));
        if (decoder) release_decoder(decoder);
        free_decoded(out);
        PUSH_ERROR(MINOR_CANTFILTER, "cannot decode h5img chunk: %s", why);
        return 0;
    }
    release_decoder(decoder);
    HDF5->H5free_memory(*buf);
    *buf = out;
    *buf_size = decoded_bytes;
    return decoded_bytes;
}

/* Write: one decoded image becomes the chunk's encoded bytes. */
static size_t encode_chunk(const h5img_params *params, size_t decoded_bytes, size_t nbytes, size_t *buf_size,
                           void **buf)
{
    const h5img_layout *layout = &params->layout;
    if (nbytes != decoded_bytes) {
        PUSH_ERROR(MINOR_CANTFILTER, "chunk holds %zu bytes but a %ux%ux%u image of %u-byte samples needs %zu", nbytes,
                   layout->width, layout->height, layout->channels, layout->element_size, decoded_bytes);
        return 0;
    }
    void *encoded = NULL;
    size_t encoded_size = 0;
    char why[H5IMG_MESSAGE_SIZE];
    h5img_status status =
        h5img_encode(*buf, nbytes, layout, params->codec, params->level, &encoded, &encoded_size, why, sizeof why);
    /* Incompressible pixels can encode larger than they are: a chunk over the
     * limit would be stored and then refused by every read. Failing here lets
     * an optional filter store the chunk unfiltered instead. */
    if (status == H5IMG_OK && encoded_size > h5img_max_chunk_bytes()) {
        h5img_free(encoded);
        PUSH_ERROR(MINOR_CANTFILTER, "a %ux%ux%u image encoded as %s takes %zu bytes, over the %zu-byte chunk limit",
                   layout->width, layout->height, layout->channels, h5img_codec_name(params->codec), encoded_size,
                   h5img_max_chunk_bytes());
        return 0;
    }
    void *out = status == H5IMG_OK ? HDF5->H5allocate_memory(encoded_size, 0) : NULL;
    if (out) memcpy(out, encoded, encoded_size);
    h5img_free(encoded);
    if (status != H5IMG_OK) {
        PUSH_ERROR(MINOR_CANTFILTER, "cannot encode a %ux%ux%u image as %s: %s", layout->width, layout->height,
                   layout->channels, h5img_codec_name(params->codec), why[0] ? why : h5img_strerror(status));
        return 0;
    }
    if (!out) {
        PUSH_ERROR(MINOR_CANTFILTER, "cannot allocate %zu bytes for an encoded chunk", encoded_size);
        return 0;
    }
    HDF5->H5free_memory(*buf);
    *buf = out;
    *buf_size = encoded_size;
    return encoded_size;
}

static size_t h5img_filter(unsigned int flags, size_t cd_nelmts, const unsigned int cd_values[], size_t nbytes,
                           size_t *buf_size, void **buf)
{
    h5img_params params;
    char why[REASON_SIZE];
    h5img_last_error_clear();
    /* Count and version first: a newer file must be refused before any of
     * its other values are interpreted. */
    if (!cd_values_valid(cd_values, cd_nelmts, &params, why, sizeof why)) {
        PUSH_ERROR(MINOR_CANTFILTER, "%s", why);
        return 0;
    }
    size_t decoded_bytes = h5img_layout_bytes(&params.layout);
    if (decoded_bytes == 0) {
        PUSH_ERROR(MINOR_CANTFILTER, "a %ux%ux%u image of %u-byte samples does not fit in memory", params.layout.width,
                   params.layout.height, params.layout.channels, params.layout.element_size);
        return 0;
    }
    if (!buf || !*buf || !buf_size) {
        PUSH_ERROR(MINOR_CANTFILTER, "HDF5 passed no chunk buffer");
        return 0;
    }
    if (flags & H5Z_FLAG_REVERSE) return decode_chunk(&params, decoded_bytes, nbytes, buf_size, buf);
    return encode_chunk(&params, decoded_bytes, nbytes, buf_size, buf);
}

static const H5Z_class2_t filter_class = {
    .version = H5Z_CLASS_T_VERS,
    .id = H5IMG_FILTER_ID,
    .encoder_present = 1,
    .decoder_present = 1,
    .name = H5IMG_FILTER_NAME,
    .can_apply = h5img_can_apply,
    .set_local = h5img_set_local,
    .filter = h5img_filter,
};

const H5Z_class2_t *h5img_filter_class(void)
{
    return &filter_class;
}
