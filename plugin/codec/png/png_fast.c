/* png_fast.c: whole-buffer PNG fast path (libdeflate) for non-interlaced 8/16-bit gray, RGB and RGBA.
 *
 * One pass over the chunks checks every CRC and the chunk order, then all
 * IDAT data is inflated in one libdeflate call (Adler-32 checked) into a
 * buffer of exactly height * (1 + rowbytes) bytes, sized from the header
 * only. Rows are unfiltered straight into the output when the rule keeps
 * the stored samples as they are, otherwise in place and then converted.
 * The strict DEFLATE check reads only the compressed bytes, so for large
 * images it runs on a second thread while this one inflates and unfilters.
 *
 * Whatever is unusual or wrong gives H5IMG_E_UNSUPPORTED and libspng
 * decides: this code only ever accepts a strict subset of what libspng
 * accepts. Ancillary chunks allowed before the first IDAT: gAMA, sRGB,
 * pHYs, tRNS (gray/RGB), each once and checked as libspng checks them; the
 * IDAT chunks must be consecutive and followed by IEND, the last bytes. */
#include "deflate_strict.h"
#include "codec/codec.h"
#include "core/second_thread.h"
#include "png_private.h"
#include "png_unfilter.h"

#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Smallest inflated size (height * (1 + rowbytes)) whose strict check the
 * automatic rule moves to a second thread. Fast-path decodes of row bands
 * of a 2448x2048 OpenCV-encoded mask on a 2-core VM (median of 400, check
 * on the calling thread -> on a second one): 78 KB of rows 31 -> 42 us,
 * 313 KB 91 -> 89 us, 627 KB 146 -> 127 us, 1.25 MB 297 -> 233 us, 5 MB
 * 1170 -> 880 us. Starting and joining the thread costs 10-25 us, so it
 * breaks even near 300 KB; from 1 MiB the gain is over 60 us (a fifth),
 * enough to still pay when the thread has to wait a little for its core.
 * Less compressible images check longer per inflated byte, so they pay
 * earlier. */
#define CHECK_THREAD_MIN_RAW_BYTES ((size_t)1 << 20)

static int chunk_is(const uint8_t *type, const char *name)
{
    return memcmp(type, name, 4) == 0;
}

void h5img_png_fast_release(h5img_decoder *decoder)
{
    if (!decoder) return;
    libdeflate_free_decompressor(decoder->deflate);
    decoder->deflate = NULL;
}

void h5img_png_force_check(h5img_decoder *decoder, h5img_png_check_mode mode)
{
    if (decoder) decoder->png_check_mode = mode;
}

/* ---- the strict DEFLATE check, on this thread or a second one ---- */

struct strict_check {
    const uint8_t *zstream; /* the whole zlib stream; nobody writes to it while the check runs */
    size_t size, raw;       /* its length, and the inflated size the header promises */
    int verdict;            /* h5img_deflate_strict_check's; -1 until it has run */
    size_t in_used, out_size;
};

static void *run_strict_check(void *argument)
{
    struct strict_check *check = argument;
    check->verdict = h5img_deflate_strict_check(check->zstream, check->size, check->raw, H5IMG_DEFLATE_HEADER_WINDOW,
                                                &check->in_used, &check->out_size);
    return NULL;
}

/* zlib inflates the stream, all of it, to exactly the promised size. */
static int strict_check_passed(const struct strict_check *check)
{
    return check->verdict == H5IMG_DEFLATE_OK && check->out_size == check->raw && check->in_used == check->size;
}

static int check_on_second_thread(const h5img_decoder *decoder, size_t raw)
{
    switch (decoder->png_check_mode) {
    case H5IMG_PNG_CHECK_CONCURRENT:
    case H5IMG_PNG_CHECK_FAIL_THREAD_START: return 1;
    case H5IMG_PNG_CHECK_CALLING_THREAD: return 0;
    default: return raw >= CHECK_THREAD_MIN_RAW_BYTES && h5img_second_thread_wanted(decoder);
    }
}

/* ---- row conversion (source row already unfiltered, PNG sample order) ---- */

static inline uint8_t max3(uint8_t r, uint8_t g, uint8_t b)
{
    uint8_t m = r > g ? r : g;
    return m > b ? m : b;
}

static inline void put16(uint8_t *dst, const uint8_t *be, int big_endian)
{
    if (big_endian) {
        dst[0] = be[0];
        dst[1] = be[1];
    } else {
        uint16_t v = (uint16_t)(be[0] << 8 | be[1]);
        memcpy(dst, &v, 2);
    }
}

/* Convert one row of `w` pixels with `ch` channels of `es` bytes each. */
static void convert_row(uint8_t *restrict dst, const uint8_t *restrict src, size_t w, unsigned ch, unsigned es,
                        h5img_rule rule, uint32_t flags)
{
    const int bgr = (flags & H5IMG_FLAG_BGR) != 0;
    const unsigned px = ch * es; /* source bytes per pixel */
    size_t x;
    if (rule == H5IMG_RULE_MASK || rule == H5IMG_RULE_LUMA) {
        /* LUMA only reaches here for gray (8-bit gray goes direct). */
        if (ch == 1)
            for (x = 0; x < w; x++) dst[x] = src[x * es];
        else if (es == 1)
            for (x = 0; x < w; x++) dst[x] = max3(src[x * px], src[x * px + 1], src[x * px + 2]);
        else
            for (x = 0; x < w; x++) dst[x] = max3(src[x * px], src[x * px + 2], src[x * px + 4]);
        return;
    }
    if (rule == H5IMG_RULE_COLOR) {
        if (ch == 1) {
            for (x = 0; x < w; x++) {
                uint8_t v = src[x * es];
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = v;
            }
            return;
        }
        const unsigned r = bgr ? 2 : 0, b = bgr ? 0 : 2;
        if (es == 1 && ch == 3) { /* only with BGR: RGB order goes direct */
            for (x = 0; x < w; x++) {
                dst[3 * x] = src[3 * x + 2];
                dst[3 * x + 1] = src[3 * x + 1];
                dst[3 * x + 2] = src[3 * x];
            }
            return;
        }
        for (x = 0; x < w; x++) {
            dst[3 * x] = src[x * px + r * es];
            dst[3 * x + 1] = src[x * px + es];
            dst[3 * x + 2] = src[x * px + b * es];
        }
        return;
    }
    /* NATIVE */
    if (es == 1) { /* 3 or 4 channels with BGR: gray and RGB order go direct */
        if (ch == 3)
            for (x = 0; x < w; x++) {
                dst[3 * x] = src[3 * x + 2];
                dst[3 * x + 1] = src[3 * x + 1];
                dst[3 * x + 2] = src[3 * x];
            }
        else
            for (x = 0; x < w; x++) {
                dst[4 * x] = src[4 * x + 2];
                dst[4 * x + 1] = src[4 * x + 1];
                dst[4 * x + 2] = src[4 * x];
                dst[4 * x + 3] = src[4 * x + 3];
            }
        return;
    }
    const int big = (flags & H5IMG_FLAG_BIG_ENDIAN) != 0;
    if (ch == 1) {
        if (big) memcpy(dst, src, 2 * w);
        else
            for (x = 0; x < w; x++) {
                uint16_t v = (uint16_t)(src[2 * x] << 8 | src[2 * x + 1]);
                memcpy(dst + 2 * x, &v, 2);
            }
        return;
    }
    for (x = 0; x < w; x++) {
        const uint8_t *s = src + x * px;
        uint8_t *o = dst + x * px;
        put16(o, s + (bgr ? 4 : 0), big);
        put16(o + 2, s + 2, big);
        put16(o + 4, s + (bgr ? 0 : 4), big);
        if (ch == 4) put16(o + 6, s + 6, big);
    }
}

/* Unfilter the inflated rows in `buf`: straight into `out` when `direct`
 * (the rule keeps the samples as stored), else in place and converted. */
static h5img_status unfilter_rows(uint8_t *buf, uint8_t *out, uint32_t width, uint32_t height, unsigned ch,
                                  unsigned es, size_t rowbytes, size_t out_row, int direct, const h5img_layout *layout)
{
    const unsigned bpp = ch * es;
    const size_t stride = rowbytes + 1;
    for (size_t y = 0; y < height; y++) {
        uint8_t *row = buf + y * stride;
        uint8_t *dst = direct ? out + y * rowbytes : row + 1;
        const uint8_t *prev = y == 0 ? NULL : direct ? dst - rowbytes : row + 1 - stride;
        if (h5img_png_unfilter_row(row[0], bpp, dst, row + 1, prev, rowbytes) != 0) return H5IMG_E_UNSUPPORTED;
        if (!direct) convert_row(out + y * out_row, row + 1, width, ch, es, layout->rule, layout->flags);
    }
    return H5IMG_OK;
}

/* ---- the fast path ---- */

h5img_status h5img_png_fast_decode(h5img_decoder *decoder, const uint8_t *data, size_t size, const h5img_info *info,
                                   const h5img_layout *layout, uint8_t *out)
{
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const h5img_status no = H5IMG_E_UNSUPPORTED;
    (void)info; /* the header is parsed again here: nothing is taken on trust */
    if (!decoder || !data || !layout || !out) return no;
    if (size < 8 + 25 + 12 + 12 || memcmp(data, signature, 8) != 0) return no;

    /* IHDR, first chunk */
    const uint8_t *ihdr = data + 8;
    if (be32(ihdr) != 13 || !chunk_is(ihdr + 4, "IHDR")) return no;
    if (libdeflate_crc32(0, ihdr + 4, 17) != be32(ihdr + 21)) return no;
    const uint32_t width = be32(ihdr + 8), height = be32(ihdr + 12);
    const unsigned depth = ihdr[16], color = ihdr[17];
    if (width == 0 || height == 0 || width > PNG_U31_MAX || height > PNG_U31_MAX) return no;
    if (ihdr[18] != 0 || ihdr[19] != 0 || ihdr[20] != 0) return no; /* compression, filter, interlace */
    if (depth != 8 && depth != 16) return no;
    if (color != 0 && color != 2 && color != 6) return no;
    if (width != layout->width || height != layout->height) return no;
    const unsigned ch = color == 0 ? 1 : color == 2 ? 3 : 4;
    const unsigned es = depth / 8, bpp = ch * es;

    /* Chunks after IHDR */
    int seen_gama = 0, seen_srgb = 0, seen_phys = 0, seen_trns = 0, in_idat = 0, ended = 0;
    size_t idat_count = 0, idat_total = 0;
    const uint8_t *first_idat = NULL;
    size_t pos = 8 + 25;
    while (pos < size) {
        if (size - pos < 12) return no;
        const uint8_t *c = data + pos;
        const uint32_t len = be32(c);
        if (len > PNG_U31_MAX || len > size - pos - 12) return no;
        const uint8_t *type = c + 4, *body = c + 8;
        if (libdeflate_crc32(0, type, (size_t)len + 4) != be32(body + len)) return no;
        pos += (size_t)len + 12;
        if (chunk_is(type, "IDAT")) {
            if (in_idat == 0 && idat_count) return no; /* IDATs must be consecutive */
            in_idat = 1;
            if (!idat_count) first_idat = body;
            idat_count++;
            idat_total += len;
            continue;
        }
        if (chunk_is(type, "IEND")) {
            if (!in_idat || len != 0 || pos != size) return no;
            ended = 1;
            break;
        }
        if (in_idat) return no; /* nothing but IEND after the image data */
        if (chunk_is(type, "gAMA")) {
            if (seen_gama++ || len != 4) return no;
            uint32_t g = be32(body);
            if (g == 0 || g > PNG_U31_MAX) return no;
        } else if (chunk_is(type, "sRGB")) {
            if (seen_srgb++ || len != 1 || body[0] > 3) return no;
        } else if (chunk_is(type, "pHYs")) {
            if (seen_phys++ || len != 9) return no;
            if (be32(body) > PNG_U31_MAX || be32(body + 4) > PNG_U31_MAX || body[8] > 1) return no;
        } else if (chunk_is(type, "tRNS")) {
            if (seen_trns++ || len != (color == 0 ? 2u : color == 2 ? 6u : 0u) || len == 0) return no;
            for (uint32_t k = 0; k < len; k += 2)
                if (((uint32_t)body[k] << 8 | body[k + 1]) >> depth) return no; /* sample out of range */
        } else {
            return no; /* PLTE, any other chunk: libspng decides */
        }
    }
    if (!ended || !idat_count) return no;

    /* What the rule makes of this image, and whether the layout agrees. */
    const h5img_rule rule = layout->rule;
    unsigned out_ch = 0, out_es = 1;
    switch (rule) {
    case H5IMG_RULE_NATIVE:
        if (color == 2 && seen_trns) return no; /* OpenCV gives RGBA here */
        out_ch = ch;
        out_es = es;
        break;
    case H5IMG_RULE_COLOR: out_ch = 3; break;
    case H5IMG_RULE_MASK: out_ch = 1; break;
    case H5IMG_RULE_LUMA:
        if (color != 0 || depth != 8) return no; /* rgb_to_gray stays with libspng */
        out_ch = 1;
        break;
    default: return no;
    }
    if (layout->channels != out_ch || layout->element_size != out_es) return no;
    if (layout->flags & ~H5IMG_FLAGS_KNOWN) return no;

    /* Sizes from the header only. */
    size_t rowbytes, raw, out_row;
    if (!h5img_mul_size(&rowbytes, width, bpp, 1, 1) || rowbytes + 1 < rowbytes) return no;
    if (!h5img_mul_size(&raw, height, rowbytes + 1, 1, 1) || raw > h5img_max_chunk_bytes()) return no;
    if (!h5img_mul_size(&out_row, width, out_ch, out_es, 1)) return no;
    const size_t gather = idat_count > 1 ? idat_total : 0;
    if (raw + gather < raw) return no;
    uint8_t *buf = h5img_scratch(decoder, raw + gather);
    if (!buf) return no;

    const uint8_t *zin = first_idat;
    if (idat_count > 1) {
        uint8_t *g = buf + raw;
        const uint8_t *c = first_idat - 8;
        for (size_t k = 0; k < idat_count; k++) {
            uint32_t len = be32(c);
            memcpy(g, c + 8, len);
            g += len;
            c += (size_t)len + 12;
        }
        zin = buf + raw;
    }

    if (!decoder->deflate) {
        decoder->deflate = libdeflate_alloc_decompressor();
        if (!decoder->deflate) return no;
    }
    /* libdeflate takes streams zlib (libpng, OpenCV) rejects: the stream is
     * walked again with zlib's rules. That walk reads only `zin`, which
     * nothing below writes (it is `data`, or scratch past the `raw` bytes
     * libdeflate may fill), so it can run on a second thread meanwhile. */
    struct strict_check check = {.zstream = zin, .size = idat_total, .raw = raw, .verdict = -1};
    pthread_t check_thread;
    int concurrent = 0;
    if (check_on_second_thread(decoder, raw)) /* the test hook's failure stands for pthread_create's */
        concurrent = decoder->png_check_mode != H5IMG_PNG_CHECK_FAIL_THREAD_START &&
                     h5img_second_thread_start(&check_thread, run_strict_check, &check) == H5IMG_OK;

    size_t in_used = 0, out_made = 0;
    enum libdeflate_result zr =
        libdeflate_zlib_decompress_ex(decoder->deflate, zin, idat_total, buf, raw, &in_used, &out_made);
    const int inflated = zr == LIBDEFLATE_SUCCESS && out_made == raw && in_used == idat_total;
    if (!concurrent) {
        if (!inflated) return no;
        run_strict_check(&check);
        if (!strict_check_passed(&check)) return no;
    }

    /* Unfilter: straight into `out` when the rule keeps the samples as stored. */
    const int bgr = (layout->flags & H5IMG_FLAG_BGR) != 0;
    int direct;
    if (color == 0) direct = depth == 8 ? rule != H5IMG_RULE_COLOR : rule == H5IMG_RULE_NATIVE &&
                                                                        (layout->flags & H5IMG_FLAG_BIG_ENDIAN);
    else if (depth == 8) direct = !bgr && (rule == H5IMG_RULE_NATIVE || (color == 2 && rule == H5IMG_RULE_COLOR));
    else direct = !bgr && rule == H5IMG_RULE_NATIVE && (layout->flags & H5IMG_FLAG_BIG_ENDIAN);
    const h5img_status unfiltered =
        inflated ? unfilter_rows(buf, out, width, height, ch, es, rowbytes, out_row, direct, layout) : no;

    /* A stream the check rejects declines even when libdeflate and the rows
     * were fine: `out` then holds pixels the caller's libspng decode
     * overwrites or, if that fails too, must not be used anyway. */
    if (concurrent) {
        h5img_second_thread_join(check_thread);
        if (!strict_check_passed(&check)) return no;
    }
    return unfiltered;
}
