/* ops/dilate.c: n x n square dilation of 8-bit images, bit-identical to cv2.dilate, as two running maxima. */
#include "core/decoder_state.h"
#include "ops/ops_private.h"

#include <stdlib.h>
#include <string.h>

/* GCC's -O2 vectorizes only loops whose trip count it knows; these loops are
 * plain byte maxima that vectorize well at any length (clang does at -O2). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

static inline uint8_t max8(uint8_t a, uint8_t b)
{
    return a > b ? a : b;
}

/* dst[i] = max(a[i], b[i]); a and dst may be the same row. */
static void max_rows(uint8_t *dst, const uint8_t *a, const uint8_t *restrict b, size_t count)
{
    for (size_t i = 0; i < count; i++) dst[i] = max8(a[i], b[i]);
}

/* The running maximum over a window of n along one axis, by doubling:
 * after the step of width w each element holds the maximum of w + w
 * elements starting at it, so log2(n) steps reach the largest power of two
 * w <= n, and two overlapping windows of w cover the n wanted. `line`
 * holds `length` = count + n - 1 elements `stride` apart, zero-padded:
 * since every sample is >= 0, zero padding is the same as OpenCV's border,
 * which never wins the maximum. With stride 1 this runs along a row; with
 * stride = the row length over whole rows at once (count rows of width
 * `span`). Returns the w reached. */
static size_t window_steps(uint8_t *line, size_t length, size_t n, size_t stride, size_t span)
{
    size_t w = 1;
    for (; 2 * w <= n; w *= 2)
        for (size_t i = 0; i + w < length; i++) max_rows(line + i * stride, line + i * stride, line + (i + w) * stride, span);
    return w;
}

/* Rows: each row padded into `line` (width + n - 1 bytes, the first n/2
 * and last n - 1 - n/2 zero), stepped, then folded into `out`'s row. */
static void dilate_rows(const uint8_t *src, uint8_t *out, size_t out_stride, uint32_t height, uint32_t width,
                        size_t n, uint8_t *line)
{
    size_t before = n / 2, length = (size_t)width + n - 1;
    for (uint32_t y = 0; y < height; y++) {
        memset(line, 0, before);
        memcpy(line + before, src + (size_t)y * width, width);
        memset(line + before + width, 0, length - before - width);
        /* A byte-wise doubling pass per step: vectorized along the row. */
        size_t w = 1;
        for (; 2 * w <= n; w *= 2)
            for (size_t i = 0; i + w < length; i++) line[i] = max8(line[i], line[i + w]);
        max_rows(out + (size_t)y * out_stride, line, line + (n - w), width);
    }
}

h5img_status h5img_dilate(const uint8_t *src, uint8_t *dst, uint32_t height, uint32_t width, uint32_t n, char *message,
                          size_t message_size)
{
    if (!src || !dst)
        return h5img_ops_fail(message, message_size, H5IMG_E_ARGUMENT, "dilation: NULL %s", src ? "output" : "input");
    if (n < 1 || n > H5IMG_MAX_DILATE)
        return h5img_ops_fail(message, message_size, H5IMG_E_ARGUMENT,
                              "dilation kernel side %u is outside 1..%u", n, H5IMG_MAX_DILATE);
    size_t pixels = 0;
    h5img_status status = h5img_ops_check_size(height, width, "dilation", &pixels, message, message_size);
    if (status != H5IMG_OK) return status;
    if (n == 1) {
        if (dst != src) memmove(dst, src, pixels);
        return H5IMG_OK;
    }
    /* The column pass works on the rows' result padded with n - 1 zero
     * rows (n/2 above, the rest below), so the image and one padded row
     * are all the memory taken. */
    size_t before = n / 2, rows = (size_t)height + n - 1, padded = 0;
    if (!h5img_mul_size(&padded, rows, width, 1, 1) || padded + width + n < padded)
        return h5img_ops_fail(message, message_size, H5IMG_E_LIMIT,
                              "dilation of a %ux%u image by %u: its %zu-row working image is too large", width, height,
                              n, rows);
    uint8_t *work = malloc(padded);
    uint8_t *line = malloc((size_t)width + n - 1);
    if (!work || !line) {
        free(work);
        free(line);
        return h5img_ops_fail(message, message_size, H5IMG_E_NOMEM,
                              "dilation of a %ux%u image by %u: cannot allocate %zu bytes", width, height, n,
                              padded + width + n - 1);
    }
    memset(work, 0, before * width);
    memset(work + (before + height) * (size_t)width, 0, (rows - before - height) * (size_t)width);
    dilate_rows(src, work + before * (size_t)width, width, height, width, n, line);
    size_t w = window_steps(work, rows, n, width, width);
    for (uint32_t y = 0; y < height; y++)
        max_rows(dst + (size_t)y * width, work + (size_t)y * width, work + (y + n - w) * (size_t)width, width);
    free(work);
    free(line);
    return H5IMG_OK;
}
