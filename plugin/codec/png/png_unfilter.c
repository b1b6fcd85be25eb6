/* png_unfilter.c: portable PNG row-filter undo (None/Sub/Up/Average/Paeth) and the SIMD dispatcher.
 *
 * Each filter is written once as an always-inline function of a constant
 * `bpp`, then instantiated per pixel size, so GCC -O2 unrolls the per-pixel
 * channel loop and vectorises what has no serial dependency (Up fully, the
 * channels of one pixel for Sub/Average/Paeth at 3-8 bytes per pixel). */
#include "png_unfilter.h"

#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define UNF_INLINE static inline __attribute__((always_inline))
#else
#define UNF_INLINE static inline
#endif

UNF_INLINE void unf_none(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (dst != src) memcpy(dst, src, n);
}

/* dst[i] = src[i] + prev[i]; dst may equal src, so no restrict. */
static void unf_up(uint8_t *dst, const uint8_t *src, const uint8_t *prev, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = (uint8_t)(src[i] + prev[i]);
}

UNF_INLINE void unf_sub(uint8_t *dst, const uint8_t *src, size_t n, const unsigned bpp)
{
    if (n < bpp) { unf_none(dst, src, n); return; }
    for (unsigned k = 0; k < bpp; k++) dst[k] = src[k];
    size_t i = bpp;
    for (; i + bpp <= n; i += bpp)
        for (unsigned k = 0; k < bpp; k++) dst[i + k] = (uint8_t)(src[i + k] + dst[i + k - bpp]);
    for (; i < n; i++) dst[i] = (uint8_t)(src[i] + dst[i - bpp]);
}

UNF_INLINE void unf_avg(uint8_t *dst, const uint8_t *src, const uint8_t *prev, size_t n, const unsigned bpp)
{
    size_t i = 0;
    if (prev) {
        for (; i < bpp && i < n; i++) dst[i] = (uint8_t)(src[i] + (prev[i] >> 1));
        for (; i + bpp <= n; i += bpp)
            for (unsigned k = 0; k < bpp; k++)
                dst[i + k] = (uint8_t)(src[i + k] + ((dst[i + k - bpp] + prev[i + k]) >> 1));
        for (; i < n; i++) dst[i] = (uint8_t)(src[i] + ((dst[i - bpp] + prev[i]) >> 1));
    } else {
        for (; i < bpp && i < n; i++) dst[i] = src[i];
        for (; i < n; i++) dst[i] = (uint8_t)(src[i] + (dst[i - bpp] >> 1));
    }
}

/* Paeth predictor, branch-free: pa = |b-c| picks a, pb = |a-c| picks b,
 * pc = |a+b-2c| picks c, ties in the order a, b, c. */
UNF_INLINE uint8_t paeth(int a, int b, int c)
{
    int p = b - c, q = a - c;
    int pa = abs(p), pb = abs(q), pc = abs(p + q);
    int m = pb < pa;
    a = m ? b : a;
    pa = m ? pb : pa;
    return (uint8_t)(pc < pa ? c : a);
}

UNF_INLINE void unf_paeth(uint8_t *dst, const uint8_t *src, const uint8_t *prev, size_t n, const unsigned bpp)
{
    size_t i = 0;
    /* First pixel: a = c = 0, so the predictor is b. */
    for (; i < bpp && i < n; i++) dst[i] = (uint8_t)(src[i] + prev[i]);
    for (; i + bpp <= n; i += bpp)
        for (unsigned k = 0; k < bpp; k++)
            dst[i + k] = (uint8_t)(src[i + k] + paeth(dst[i + k - bpp], prev[i + k], prev[i + k - bpp]));
    for (; i < n; i++) dst[i] = (uint8_t)(src[i] + paeth(dst[i - bpp], prev[i], prev[i - bpp]));
}

#define UNF_INSTANCES(B)                                                                                          \
    static void unf_sub##B(uint8_t *dst, const uint8_t *src, size_t n) { unf_sub(dst, src, n, B); }               \
    static void unf_avg##B(uint8_t *dst, const uint8_t *src, const uint8_t *prev, size_t n)                     \
    {                                                                                                             \
        unf_avg(dst, src, prev, n, B);                                                                            \
    }                                                                                                             \
    static void unf_paeth##B(uint8_t *dst, const uint8_t *src, const uint8_t *prev, size_t n)                   \
    {                                                                                                             \
        unf_paeth(dst, src, prev, n, B);                                                                          \
    }
UNF_INSTANCES(1)
UNF_INSTANCES(2)
UNF_INSTANCES(3)
UNF_INSTANCES(4)
UNF_INSTANCES(6)
UNF_INSTANCES(8)

int h5img_png_unfilter_row_portable(unsigned filter, unsigned bpp, uint8_t *dst, const uint8_t *src,
                                    const uint8_t *prev, size_t n)
{
    if (filter > 4) return -1;
    /* Without a previous row (all zero): Up is None, Paeth is Sub. */
    if (!prev) {
        if (filter == 2) filter = 0;
        else if (filter == 4) filter = 1;
    }
    switch (filter) {
    case 0: unf_none(dst, src, n); return 0;
    case 2: unf_up(dst, src, prev, n); return 0;
    default: break;
    }
#define UNF_CASE(B)                                                                                               \
    case B:                                                                                                       \
        if (filter == 1) unf_sub##B(dst, src, n);                                                                 \
        else if (filter == 3) unf_avg##B(dst, src, prev, n);                                                      \
        else if (B == 1) h5img_png_paeth1(dst, src, prev, n, 0, 0);                                                 \
        else unf_paeth##B(dst, src, prev, n);                                                                     \
        return 0;
    switch (bpp) {
        UNF_CASE(1)
        UNF_CASE(2)
        UNF_CASE(3)
        UNF_CASE(4)
        UNF_CASE(6)
        UNF_CASE(8)
    default: return -1;
    }
#undef UNF_CASE
}

/* ---- dispatch ---- */

typedef int unfilter_fn(unsigned, unsigned, uint8_t *, const uint8_t *, const uint8_t *, size_t);

static int force_state = -1; /* -1: environment not read yet; 0: SIMD allowed; 1: portable forced */

static int simd_available(void)
{
#ifdef H5IMG_UNFILTER_HAVE_SSE
    return __builtin_cpu_supports("ssse3");
#else
    return 0;
#endif
}

static unfilter_fn *select_impl(void)
{
    int force = __atomic_load_n(&force_state, __ATOMIC_RELAXED);
    if (force < 0) {
        const char *env = getenv("H5IMG_FORCE_PORTABLE");
        force = env && env[0] && strcmp(env, "0") != 0;
        __atomic_store_n(&force_state, force, __ATOMIC_RELAXED);
    }
#ifdef H5IMG_UNFILTER_HAVE_SSE
    if (!force && simd_available()) return h5img_png_unfilter_row_ssse3;
#endif
    return h5img_png_unfilter_row_portable;
}

void h5img_png_unfilter_force_portable(int force)
{
    __atomic_store_n(&force_state, force ? 1 : 0, __ATOMIC_RELAXED);
}

int h5img_png_unfilter_simd_active(void)
{
    return select_impl() != h5img_png_unfilter_row_portable;
}

int h5img_png_unfilter_row(unsigned filter, unsigned bpp, uint8_t *dst, const uint8_t *src, const uint8_t *prev,
                           size_t n)
{
    return select_impl()(filter, bpp, dst, src, prev, n);
}
