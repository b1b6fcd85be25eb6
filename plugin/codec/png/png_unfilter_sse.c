/* png_unfilter_sse.c: SSSE3 PNG row-filter undo, chosen at run time by png_unfilter.c.
 *
 * Up runs 16 bytes at a time; Sub at 1, 2, 4 and 8 bytes per pixel is a
 * 16-byte prefix sum; Sub at 3 and 6, Average and Paeth at 3 to 8 bytes per
 * pixel work one pixel per step in a vector register (their dependency on
 * the pixel to the left is serial); Paeth at 1 byte per pixel takes flat
 * stretches of the previous row 16 bytes at a time (see sse_paeth1). Everything else
 * (Average at 1 or 2 bytes per pixel, Paeth at 2) falls back to the
 * portable code. */
#include "png_unfilter.h"

#ifdef H5IMG_UNFILTER_HAVE_SSE

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define SSE_FN static inline __attribute__((always_inline, target("ssse3")))
#define SSE_TARGET __attribute__((target("ssse3")))

SSE_FN __m128i load_px(const uint8_t *p, const unsigned bpp)
{
    uint64_t v = 0;
    memcpy(&v, p, bpp);
    return _mm_cvtsi64_si128((long long)v);
}

SSE_FN void store_px(uint8_t *p, __m128i x, const unsigned bpp)
{
    uint64_t v = (uint64_t)_mm_cvtsi128_si64(x);
    memcpy(p, &v, bpp);
}

static SSE_TARGET void sse_up(uint8_t *dst, const uint8_t *src, const uint8_t *prev, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(prev + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_add_epi8(x, b));
    }
    for (; i < n; i++) dst[i] = (uint8_t)(src[i] + prev[i]);
}

/* Sub as a prefix sum over 16 bytes: bpp is 1, 2, 4 or 8. */
SSE_FN void sse_sub_prefix(uint8_t *dst, const uint8_t *src, size_t n, const unsigned bpp)
{
    __m128i carry = _mm_setzero_si128();
    __m128i last;
    switch (bpp) {
    case 1: last = _mm_set1_epi8(15); break;
    case 2: last = _mm_set1_epi16(0x0f0e); break;
    case 4: last = _mm_set1_epi32(0x0f0e0d0c); break;
    default: last = _mm_set_epi8(15, 14, 13, 12, 11, 10, 9, 8, 15, 14, 13, 12, 11, 10, 9, 8); break;
    }
    const __m128i zero = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(src + i));
        /* Flat stretches (a mask's background) filter to zeros, and their
         * pixels are the carried one repeated: no sum needed. */
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(x, zero)) == 0xffff) {
            _mm_storeu_si128((__m128i *)(dst + i), carry);
            continue;
        }
        if (bpp <= 1) x = _mm_add_epi8(x, _mm_slli_si128(x, 1));
        if (bpp <= 2) x = _mm_add_epi8(x, _mm_slli_si128(x, 2));
        if (bpp <= 4) x = _mm_add_epi8(x, _mm_slli_si128(x, 4));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 8));
        x = _mm_add_epi8(x, carry);
        _mm_storeu_si128((__m128i *)(dst + i), x);
        carry = _mm_shuffle_epi8(x, last);
    }
    for (; i < n; i++) dst[i] = (uint8_t)(src[i] + (i >= bpp ? dst[i - bpp] : 0));
}

/* Sub one pixel per step (bpp 3 or 6). */
SSE_FN void sse_sub_px(uint8_t *dst, const uint8_t *src, size_t n, const unsigned bpp)
{
    __m128i a = _mm_setzero_si128();
    size_t i = 0;
    for (; i + bpp <= n; i += bpp) {
        a = _mm_add_epi8(load_px(src + i, bpp), a);
        store_px(dst + i, a, bpp);
    }
    for (; i < n; i++) dst[i] = (uint8_t)(src[i] + (i >= bpp ? dst[i - bpp] : 0));
}

/* Average with a previous row, one pixel per step. */
SSE_FN void sse_avg_px(uint8_t *dst, const uint8_t *src, const uint8_t *prev, size_t n, const unsigned bpp)
{
    const __m128i one = _mm_set1_epi8(1);
    __m128i a = _mm_setzero_si128();
    size_t i = 0;
    for (; i + bpp <= n; i += bpp) {
        __m128i b = load_px(prev + i, bpp);
        /* floor((a+b)/2) = pavgb (rounds up) minus the odd bit */
        __m128i avg = _mm_sub_epi8(_mm_avg_epu8(a, b), _mm_and_si128(_mm_xor_si128(a, b), one));
        a = _mm_add_epi8(load_px(src + i, bpp), avg);
        store_px(dst + i, a, bpp);
    }
    for (; i < n; i++) dst[i] = (uint8_t)(src[i] + (((i >= bpp ? dst[i - bpp] : 0) + prev[i]) >> 1));
}

/* Paeth with a previous row, one pixel per step in 16-bit lanes (bpp <= 8). */
SSE_FN void sse_paeth_px(uint8_t *dst, const uint8_t *src, const uint8_t *prev, size_t n, const unsigned bpp)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i a = zero, c = zero;
    size_t i = 0;
    for (; i + bpp <= n; i += bpp) {
        __m128i b = _mm_unpacklo_epi8(load_px(prev + i, bpp), zero);
        __m128i p = _mm_sub_epi16(b, c), q = _mm_sub_epi16(a, c);
        __m128i pa = _mm_abs_epi16(p), pb = _mm_abs_epi16(q), pc = _mm_abs_epi16(_mm_add_epi16(p, q));
        __m128i smallest = _mm_min_epi16(pc, _mm_min_epi16(pa, pb));
        __m128i mb = _mm_cmpeq_epi16(pb, smallest), ma = _mm_cmpeq_epi16(pa, smallest);
        __m128i pred = _mm_or_si128(_mm_and_si128(mb, b), _mm_andnot_si128(mb, c));
        pred = _mm_or_si128(_mm_and_si128(ma, a), _mm_andnot_si128(ma, pred));
        __m128i x = _mm_add_epi8(load_px(src + i, bpp), _mm_packus_epi16(pred, pred));
        store_px(dst + i, x, bpp);
        a = _mm_unpacklo_epi8(x, zero);
        c = b;
    }
    /* n is a multiple of bpp for every PNG row, so nothing is left here. */
    for (; i < n; i++) {
        int pa_ = dst[i - bpp], pb_ = prev[i], pc_ = prev[i - bpp];
        int pp = pa_ + pb_ - pc_, da = abs(pp - pa_), db = abs(pp - pb_), dc = abs(pp - pc_);
        dst[i] = (uint8_t)(src[i] + (da <= db && da <= dc ? pa_ : db <= dc ? pb_ : pc_));
    }
}

/* Paeth at one byte per pixel, 16 bytes per step. Where the previous row is
 * flat (b == c at all 16 positions) the predictor is always a, so the 16
 * bytes are a Sub prefix sum; elsewhere the branchy scalar step.
 * (Solving non-flat blocks as a SIMD fixed point of
 * x[k] = src[k] + paeth(x[k-1], b[k], c[k]) was measured slower on
 * soft-edged masks: too many passes to converge.) */
static SSE_TARGET void sse_paeth1(uint8_t *dst, const uint8_t *src, const uint8_t *prev, size_t n)
{
    if (n == 0) return;
    dst[0] = (uint8_t)(src[0] + prev[0]); /* a = c = 0: the predictor is b */
    size_t i = 1;
    for (; i + 16 <= n; i += 16) {
        const __m128i b = _mm_loadu_si128((const __m128i *)(prev + i));
        const __m128i c = _mm_loadu_si128((const __m128i *)(prev + i - 1));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(b, c)) != 0xffff) {
            h5img_png_paeth1(dst + i, src + i, prev + i, 16, dst[i - 1], prev[i - 1]);
            continue;
        }
        __m128i x = _mm_loadu_si128((const __m128i *)(src + i));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 1));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 2));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 4));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 8));
        x = _mm_add_epi8(x, _mm_set1_epi8((char)dst[i - 1]));
        _mm_storeu_si128((__m128i *)(dst + i), x);
    }
    if (i < n) h5img_png_paeth1(dst + i, src + i, prev + i, n - i, dst[i - 1], prev[i - 1]);
}

#define SSE_BPP_FNS(B)                                                                                            \
    static SSE_TARGET void sse_avg##B(uint8_t *d, const uint8_t *s, const uint8_t *p, size_t n)                \
    {                                                                                                             \
        sse_avg_px(d, s, p, n, B);                                                                                \
    }                                                                                                             \
    static SSE_TARGET void sse_paeth##B(uint8_t *d, const uint8_t *s, const uint8_t *p, size_t n)              \
    {                                                                                                             \
        sse_paeth_px(d, s, p, n, B);                                                                              \
    }
SSE_BPP_FNS(3)
SSE_BPP_FNS(4)
SSE_BPP_FNS(6)
SSE_BPP_FNS(8)

static SSE_TARGET void sse_sub1(uint8_t *d, const uint8_t *s, size_t n) { sse_sub_prefix(d, s, n, 1); }
static SSE_TARGET void sse_sub2(uint8_t *d, const uint8_t *s, size_t n) { sse_sub_prefix(d, s, n, 2); }
static SSE_TARGET void sse_sub4(uint8_t *d, const uint8_t *s, size_t n) { sse_sub_prefix(d, s, n, 4); }
static SSE_TARGET void sse_sub8(uint8_t *d, const uint8_t *s, size_t n) { sse_sub_prefix(d, s, n, 8); }
static SSE_TARGET void sse_sub3(uint8_t *d, const uint8_t *s, size_t n) { sse_sub_px(d, s, n, 3); }
static SSE_TARGET void sse_sub6(uint8_t *d, const uint8_t *s, size_t n) { sse_sub_px(d, s, n, 6); }

int h5img_png_unfilter_row_ssse3(unsigned filter, unsigned bpp, uint8_t *dst, const uint8_t *src,
                                 const uint8_t *prev, size_t n)
{
    if (filter > 4) return -1;
    if (!prev && (filter == 2 || filter == 4)) filter = filter == 2 ? 0 : 1;
    switch (filter) {
    case 1:
        switch (bpp) {
        case 1: sse_sub1(dst, src, n); return 0;
        case 2: sse_sub2(dst, src, n); return 0;
        case 3: sse_sub3(dst, src, n); return 0;
        case 4: sse_sub4(dst, src, n); return 0;
        case 6: sse_sub6(dst, src, n); return 0;
        case 8: sse_sub8(dst, src, n); return 0;
        default: break;
        }
        break;
    case 2: sse_up(dst, src, prev, n); return 0;
    case 3:
        if (!prev) break;
        switch (bpp) {
        case 3: sse_avg3(dst, src, prev, n); return 0;
        case 4: sse_avg4(dst, src, prev, n); return 0;
        case 6: sse_avg6(dst, src, prev, n); return 0;
        case 8: sse_avg8(dst, src, prev, n); return 0;
        default: break;
        }
        break;
    case 4:
        switch (bpp) {
        case 1: sse_paeth1(dst, src, prev, n); return 0;
        case 3: sse_paeth3(dst, src, prev, n); return 0;
        case 4: sse_paeth4(dst, src, prev, n); return 0;
        case 6: sse_paeth6(dst, src, prev, n); return 0;
        case 8: sse_paeth8(dst, src, prev, n); return 0;
        default: break;
        }
        break;
    default: break;
    }
    return h5img_png_unfilter_row_portable(filter, bpp, dst, src, prev, n);
}

#else
/* ISO C forbids an empty translation unit. */
typedef int h5img_png_unfilter_sse_unused;
#endif
