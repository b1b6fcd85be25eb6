/* png_unfilter.h: PNG row-filter undo for the fast path (internal, not installed). */
#ifndef H5IMG_PNG_UNFILTER_H
#define H5IMG_PNG_UNFILTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Undo PNG filter `filter` (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) on one
 * row of `n` bytes with `bpp` bytes per pixel (1, 2, 3, 4, 6 or 8): writes
 * dst[i] from src[i], the already unfiltered bytes of dst to its left and
 * the unfiltered previous row `prev` (NULL for the first row: all zero).
 * dst may equal src (in place) but must not otherwise overlap src or prev.
 * Returns 0, or -1 for a filter byte above 4 (dst untouched then). */
int h5img_png_unfilter_row(unsigned filter, unsigned bpp, uint8_t *dst, const uint8_t *src, const uint8_t *prev,
                           size_t n);

/* Select the implementation: force != 0 uses the portable C code only,
 * 0 lets the SIMD code run when the CPU has it. The environment variable
 * H5IMG_FORCE_PORTABLE=1 (read once, on first use) forces portable too.
 * Not thread-safe against concurrent decodes: for tests. */
void h5img_png_unfilter_force_portable(int force);

/* Non-zero when rows are currently undone with SIMD code. */
int h5img_png_unfilter_simd_active(void);

/* One-byte-per-pixel Paeth, continuing from the left byte `a` and the
 * previous row's left byte `c` (both 0 at a row start). Branchy on purpose:
 * in flat areas b == c, the predictor is always a and the branch is
 * predictable, so the chain is one add per byte. Shared by the portable and
 * SIMD files, inline so the SIMD file's per-block calls cost nothing. */
static inline void h5img_png_paeth1(uint8_t *dst, const uint8_t *src, const uint8_t *prev, size_t n, int a, int c)
{
    for (size_t i = 0; i < n; i++) {
        int b = prev[i], pred;
        if (b == c) {
            pred = a;
        } else {
            int p = b - c, q = a - c;
            int pa = abs(p), pb = abs(q), pc = abs(p + q);
            if (pa <= pb && pa <= pc) pred = a;
            else if (pb <= pc) pred = b;
            else pred = c;
        }
        a = (uint8_t)(src[i] + pred);
        dst[i] = (uint8_t)a;
        c = b;
    }
}

/* Portable implementation (always present), used by the dispatcher and
 * by the SIMD code for the cases it does not cover. */
int h5img_png_unfilter_row_portable(unsigned filter, unsigned bpp, uint8_t *dst, const uint8_t *src,
                                    const uint8_t *prev, size_t n);

#if defined(__x86_64__) && defined(__GNUC__)
#define H5IMG_UNFILTER_HAVE_SSE 1
/* SSSE3 implementation (png_unfilter_sse.c); call only when the CPU has SSSE3. */
int h5img_png_unfilter_row_ssse3(unsigned filter, unsigned bpp, uint8_t *dst, const uint8_t *src,
                                 const uint8_t *prev, size_t n);
#endif

#endif /* H5IMG_PNG_UNFILTER_H */
