/* status.c: status sentences, limits from the environment, and overflow-safe size arithmetic. */
#include "core/decoder_state.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

const char *h5img_strerror(h5img_status status)
{
    switch (status) {
    case H5IMG_OK: return "success";
    case H5IMG_E_ARGUMENT: return "invalid argument";
    case H5IMG_E_NOMEM: return "out of memory";
    case H5IMG_E_UNKNOWN_FORMAT: return "bytes are neither PNG nor JPEG";
    case H5IMG_E_TRUNCATED: return "encoded image is truncated";
    case H5IMG_E_CORRUPT: return "encoded image is corrupt";
    case H5IMG_E_SHAPE: return "image shape differs from the dataset chunk";
    case H5IMG_E_DEPTH: return "image sample depth cannot be returned in this dataset type";
    case H5IMG_E_UNSUPPORTED: return "image kind is not supported";
    case H5IMG_E_LIMIT: return "image exceeds the configured size limits";
    case H5IMG_E_CD_VERSION: return "filter parameters come from a newer h5img format version";
    case H5IMG_E_CD_VALUES: return "filter parameters are missing or inconsistent";
    case H5IMG_E_ENCODE: return "image encoding failed";
    case H5IMG_E_HDF5: return "an HDF5 call failed";
    case H5IMG_E_IO: return "file input/output failed";
    }
    return "unknown h5img status";
}

const char *h5img_codec_name(h5img_codec codec)
{
    switch (codec) {
    case H5IMG_CODEC_PNG: return "PNG";
    case H5IMG_CODEC_JPEG: return "JPEG";
    default: return "unknown";
    }
}

const char *h5img_rule_name(h5img_rule rule)
{
    switch (rule) {
    case H5IMG_RULE_NATIVE: return "native";
    case H5IMG_RULE_COLOR: return "colour";
    case H5IMG_RULE_MASK: return "mask";
    case H5IMG_RULE_LUMA: return "luma";
    default: return "auto";
    }
}

/* Limits are read once: a filter may run on many threads at once and
 * getenv is not guaranteed to be safe against concurrent setenv. */
static uint64_t max_pixels = H5IMG_DEFAULT_MAX_PIXELS;
static size_t max_chunk_bytes = H5IMG_DEFAULT_MAX_CHUNK_BYTES;
static pthread_once_t limits_once = PTHREAD_ONCE_INIT;

static int parse_positive(const char *text, unsigned long long *value)
{
    char *end = NULL;
    if (!text || !*text) return 0;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v == 0) return 0;
    *value = v;
    return 1;
}

static void read_limits(void)
{
    unsigned long long v;
    if (parse_positive(getenv("H5IMG_MAX_PIXELS"), &v)) max_pixels = v;
    if (parse_positive(getenv("H5IMG_MAX_CHUNK_BYTES"), &v) && v <= SIZE_MAX) max_chunk_bytes = (size_t)v;
}

uint64_t h5img_max_pixels(void)
{
    pthread_once(&limits_once, read_limits);
    return max_pixels;
}

size_t h5img_max_chunk_bytes(void)
{
    pthread_once(&limits_once, read_limits);
    return max_chunk_bytes;
}

int h5img_mul_size(size_t *product, size_t a, size_t b, size_t c, size_t d)
{
    size_t p;
    if (__builtin_mul_overflow(a, b, &p) || __builtin_mul_overflow(p, c, &p) || __builtin_mul_overflow(p, d, &p))
        return 0;
    *product = p;
    return 1;
}

h5img_status h5img_fail(h5img_decoder *decoder, h5img_status status, const char *format, ...)
{
    if (decoder) {
        va_list args;
        va_start(args, format);
        vsnprintf(decoder->message, sizeof decoder->message, format, args);
        va_end(args);
    }
    return status;
}
