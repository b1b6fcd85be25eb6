/* dump_resize.c: area-average resizing of 8-bit images as OpenCV's INTER_AREA does it, separable, for --preview's tiles. */
#include "dump_resize.h"

#include <math.h>
#include <stdlib.h>

/* The source pixels one output pixel along one axis draws on, and their weights. */
struct axis {
    uint32_t *first;  /* per output index */
    uint32_t *count;  /* per output index */
    float *weights;   /* per output index, `stride` slots */
    uint32_t stride;
};

static void free_axis(struct axis *a)
{
    free(a->first);
    free(a->count);
    free(a->weights);
}

static int build_axis(struct axis *a, uint32_t src, uint32_t dst)
{
    double scale = (double)src / dst;
    a->stride = scale > 1 ? (uint32_t)ceil(scale) + 1 : 2;
    a->first = malloc(dst * sizeof *a->first);
    a->count = malloc(dst * sizeof *a->count);
    a->weights = malloc((size_t)dst * a->stride * sizeof *a->weights);
    if (!a->first || !a->count || !a->weights) return -1;
    for (uint32_t i = 0; i < dst; i++) {
        float *w = a->weights + (size_t)i * a->stride;
        if (scale > 1) {
            double start = i * scale, end = (i + 1) * scale;
            uint32_t j = (uint32_t)floor(start), n = 0;
            a->first[i] = j;
            for (; j < src && j < end && n < a->stride; j++, n++) {
                double lo = start > j ? start : j, hi = end < j + 1.0 ? end : j + 1.0;
                w[n] = (float)((hi - lo) / scale);
            }
            a->count[i] = n;
        } else {
            /* OpenCV's INTER_AREA when enlarging: source pixel floor(i *
             * scale), blended with the next one only across the boundary
             * between the two (so a whole factor replicates pixels). */
            uint32_t j = (uint32_t)floor(i * scale);
            double f = (i + 1) - (j + 1) / scale;
            f = f <= 0 ? 0 : f - floor(f);
            if (j >= src - 1) j = src - 1, f = 0;
            a->first[i] = j;
            a->count[i] = f > 0 ? 2 : 1;
            w[0] = (float)(1 - f);
            w[1] = (float)f;
        }
    }
    return 0;
}

h5img_status dump_resize(const uint8_t *src, uint32_t src_w, uint32_t src_h, uint32_t channels, uint8_t *dst,
                         uint32_t dst_w, uint32_t dst_h)
{
    struct axis x = {0}, y = {0};
    size_t row = (size_t)dst_w * channels;
    float *rows = malloc((size_t)src_h * row * sizeof *rows), *acc = NULL;
    h5img_status status = H5IMG_E_NOMEM;
    if (!rows || build_axis(&x, src_w, dst_w) || build_axis(&y, src_h, dst_h)) goto done;
    /* Columns first, into float rows, so each source row is read once. */
    for (uint32_t r = 0; r < src_h; r++) {
        const uint8_t *in = src + (size_t)r * src_w * channels;
        float *out = rows + (size_t)r * row;
        for (uint32_t i = 0; i < dst_w; i++) {
            const float *w = x.weights + (size_t)i * x.stride;
            const uint8_t *p = in + (size_t)x.first[i] * channels;
            uint32_t taps = x.count[i];
            if (channels == 3) {
                float red = 0, green = 0, blue = 0;
                for (uint32_t k = 0; k < taps; k++, p += 3) red += w[k] * p[0], green += w[k] * p[1], blue += w[k] * p[2];
                out[3 * i] = red, out[3 * i + 1] = green, out[3 * i + 2] = blue;
            } else {
                for (uint32_t c = 0; c < channels; c++) {
                    float sum = 0;
                    for (uint32_t k = 0; k < taps; k++) sum += w[k] * p[(size_t)k * channels + c];
                    out[(size_t)i * channels + c] = sum;
                }
            }
        }
    }
    acc = malloc(row * sizeof *acc);
    if (!acc) goto done;
    for (uint32_t i = 0; i < dst_h; i++) {
        const float *w = y.weights + (size_t)i * y.stride;
        for (size_t v = 0; v < row; v++) acc[v] = 0;
        for (uint32_t k = 0; k < y.count[i]; k++) {
            const float *in = rows + (size_t)(y.first[i] + k) * row;
            for (size_t v = 0; v < row; v++) acc[v] += w[k] * in[v];
        }
        uint8_t *out = dst + (size_t)i * row;
        for (size_t v = 0; v < row; v++) {
            /* Weights are positive and sum to 1, so acc lies in [0, 255]. */
            float value = acc[v] + 0.5f;
            out[v] = (uint8_t)(value >= 255.f ? 255 : (int)value);
        }
    }
    status = H5IMG_OK;
done:
    free(rows);
    free(acc);
    free_axis(&x);
    free_axis(&y);
    return status;
}
