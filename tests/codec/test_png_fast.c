/* test_png_fast.c: differential tests of the libdeflate PNG fast path against libspng.
 *
 * For every input (PngSuite, the libspng crashers, thousands of generated
 * PNGs and mutated copies of them), under every rule, with and without the
 * BGR (and big-endian) flag, with SIMD and with forced-portable unfiltering:
 *   - the fast path returns H5IMG_OK or H5IMG_E_UNSUPPORTED, nothing else;
 *   - when it returns OK, libspng decodes the same bytes (image and trailing
 *     chunks up to IEND) and the pixels are byte-identical to libspng's
 *     output with the same rule applied;
 *   - so when libspng fails, the fast path never returns OK.
 * Unmutated generated images of the supported kinds must be accepted, so a
 * fast path that always declines cannot pass. The differential tests run
 * twice: with the strict DEFLATE check forced onto a second thread, and
 * forced onto the calling thread (where the automatic rule keeps it for
 * all of these inputs: none inflates to 1 MiB). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "codec/png/deflate_strict.h"
#include "codec/codec.h"
#include "core/second_thread.h"
#include "codec/png/png_unfilter.h"

#include <check.h>
#include <dirent.h>
#include <libdeflate.h>
#include <sched.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

#include "test_random.h"

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf_t;

static void buf_put(buf_t *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* h5img_png_fast_decode, also saying whether it ran the strict check on a
 * second thread: the only thread the fast path starts, so the process-wide
 * count of second threads tells (Check runs each test in its own process). */
static h5img_status fast_decode(h5img_decoder *decoder, const uint8_t *png, size_t n, const h5img_info *info,
                                const h5img_layout *layout, uint8_t *out, int *check_on_second_thread)
{
    const unsigned long before = h5img_second_threads_started();
    h5img_status status = h5img_png_fast_decode(decoder, png, n, info, layout, out);
    *check_on_second_thread = h5img_second_threads_started() != before;
    return status;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_chunk(buf_t *b, const char *type, const void *data, uint32_t len)
{
    uint8_t head[8], tail[4];
    put_be32(head, len);
    memcpy(head + 4, type, 4);
    buf_put(b, head, 8);
    buf_put(b, data, len);
    uint32_t crc = libdeflate_crc32(libdeflate_crc32(0, type, 4), data, len);
    put_be32(tail, crc);
    buf_put(b, tail, 4);
}

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* Pieces of a well-formed PNG: the IHDR body and the concatenated IDAT data. */
typedef struct {
    uint8_t ihdr[13];
    buf_t zdata;
} png_parts;

static int split_png(const uint8_t *png, size_t n, png_parts *parts)
{
    memset(parts, 0, sizeof *parts);
    if (n < 8 + 25 || memcmp(png, png_sig, 8) != 0) return -1;
    size_t pos = 8;
    while (pos + 12 <= n) {
        uint32_t len = get_be32(png + pos);
        if (len > n - pos - 12) return -1;
        const uint8_t *type = png + pos + 4;
        if (!memcmp(type, "IHDR", 4) && len == 13) memcpy(parts->ihdr, png + pos + 8, 13);
        if (!memcmp(type, "IDAT", 4)) buf_put(&parts->zdata, png + pos + 8, len);
        pos += 12 + (size_t)len;
    }
    return 0;
}

/* Options for re-assembling a PNG from its parts. */
typedef struct {
    unsigned splits;      /* IDAT chunks (>= 1) */
    int zero_length_idat; /* add an empty IDAT among them */
    int ancillary;        /* 0 none, 1 valid gAMA/sRGB/pHYs(/tRNS), 2 one invalid or unknown chunk */
    int trns;             /* add a valid tRNS (gray/RGB only) */
    int chunk_between_idat; /* a tEXt between two IDATs */
    int no_iend;
    int trailing_garbage;
} build_opts;

static void build_png(buf_t *out, const png_parts *parts, const build_opts *o)
{
    out->n = 0;
    buf_put(out, png_sig, 8);
    put_chunk(out, "IHDR", parts->ihdr, 13);
    const unsigned color = parts->ihdr[9];
    if (o->ancillary == 1) {
        uint8_t g[4], s = (uint8_t)rnd_below(4), ph[9];
        put_be32(g, 45455);
        put_be32(ph, 2835);
        put_be32(ph + 4, 2835);
        ph[8] = 1;
        if (rnd() & 1) put_chunk(out, "gAMA", g, 4);
        if (rnd() & 1) put_chunk(out, "sRGB", &s, 1);
        if (rnd() & 1) put_chunk(out, "pHYs", ph, 9);
    } else if (o->ancillary == 2) {
        uint8_t g[9] = {0};
        switch (rnd_below(7)) {
        case 0: put_chunk(out, "gAMA", g, 4); break; /* gamma 0: libspng rejects */
        case 1: g[0] = 4; put_chunk(out, "sRGB", g, 1); break;
        case 2: g[8] = 2; put_chunk(out, "pHYs", g, 9); break;
        case 3: put_be32(g, 1); put_chunk(out, "gAMA", g, 4); put_chunk(out, "gAMA", g, 4); break;
        case 4: put_chunk(out, "tRNS", g, color == 6 ? 2 : 1); break;
        case 5: put_chunk(out, "tEXt", "Comment\0hello", 13); break;
        default: put_chunk(out, "abCd", g, 3); break; /* unknown critical chunk */
        }
    }
    if (o->trns && (color == 0 || color == 2)) {
        uint8_t t[6];
        unsigned depth = parts->ihdr[8];
        for (int k = 0; k < 6; k += 2) {
            uint16_t v = (uint16_t)rnd_below(1u << depth);
            t[k] = (uint8_t)(v >> 8);
            t[k + 1] = (uint8_t)v;
        }
        put_chunk(out, "tRNS", t, color == 0 ? 2 : 6);
    }
    const size_t zn = parts->zdata.n;
    size_t cuts[16];
    unsigned k = o->splits < 1 ? 1 : o->splits > 15 ? 15 : o->splits;
    cuts[0] = 0;
    for (unsigned i = 1; i < k; i++) cuts[i] = rnd() % (zn + 1);
    cuts[k] = zn;
    for (unsigned i = 1; i < k; i++) /* insertion sort */
        for (unsigned j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            size_t t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
    unsigned zero_at = o->zero_length_idat ? rnd_below(k + 1) : k + 2;
    unsigned text_at = o->chunk_between_idat ? 1 + rnd_below(k > 1 ? k - 1 : 1) : k + 2;
    for (unsigned i = 0; i < k; i++) {
        if (i == zero_at) put_chunk(out, "IDAT", "", 0);
        if (i == text_at) put_chunk(out, "tEXt", "Comment\0between", 15);
        put_chunk(out, "IDAT", parts->zdata.p + cuts[i], (uint32_t)(cuts[i + 1] - cuts[i]));
    }
    if (zero_at == k) put_chunk(out, "IDAT", "", 0);
    if (text_at == k) put_chunk(out, "tEXt", "Comment\0between", 15);
    if (!o->no_iend) put_chunk(out, "IEND", "", 0);
    if (o->trailing_garbage) buf_put(out, "garbage", 1 + rnd_below(7));
}

/* Encode pixels (PNG sample layout, 16-bit host order) with libspng. */
static uint8_t *encode_png(const uint8_t *pixels, size_t len, uint32_t w, uint32_t h, unsigned color,
                           unsigned depth, int filter_choice, int level, int strategy, size_t *out_n)
{
    spng_ctx *e = spng_ctx_new(SPNG_CTX_ENCODER);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(spng_set_option(e, SPNG_ENCODE_TO_BUFFER, 1), 0);
    ck_assert_int_eq(spng_set_option(e, SPNG_FILTER_CHOICE, filter_choice), 0);
    ck_assert_int_eq(spng_set_option(e, SPNG_IMG_COMPRESSION_LEVEL, level), 0);
    ck_assert_int_eq(spng_set_option(e, SPNG_IMG_COMPRESSION_STRATEGY, strategy), 0);
    struct spng_ihdr ih = {.width = w, .height = h, .bit_depth = (uint8_t)depth, .color_type = (uint8_t)color};
    ck_assert_int_eq(spng_set_ihdr(e, &ih), 0);
    int r = spng_encode_image(e, pixels, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    ck_assert_msg(r == 0, "spng_encode_image: %s", spng_strerror(r));
    int err = 0;
    uint8_t *png = spng_get_png_buffer(e, out_n, &err);
    ck_assert_msg(png && !err, "spng_get_png_buffer: %s", spng_strerror(err));
    spng_ctx_free(e);
    return png;
}

/* ------------------------------------------------------------ reference */

#define MAX_TEST_BYTES ((size_t)64 << 20)

static const h5img_rule all_rules[] = {H5IMG_RULE_NATIVE, H5IMG_RULE_COLOR, H5IMG_RULE_MASK, H5IMG_RULE_LUMA};

/* Header facts read straight from the bytes (no CRC check): what a caller
 * that probed the file would pass. Returns -1 when there is no IHDR. */
typedef struct {
    uint32_t width, height;
    unsigned depth, color, interlace;
    int trns;
} header;

static int read_header(const uint8_t *png, size_t n, header *hd)
{
    memset(hd, 0, sizeof *hd);
    if (n < 33 || memcmp(png, png_sig, 8) != 0 || memcmp(png + 12, "IHDR", 4) != 0) return -1;
    hd->width = get_be32(png + 16);
    hd->height = get_be32(png + 20);
    hd->depth = png[24];
    hd->color = png[25];
    hd->interlace = png[28];
    size_t pos = 8;
    while (pos + 12 <= n) {
        uint32_t len = get_be32(png + pos);
        if (!memcmp(png + pos + 4, "tRNS", 4)) hd->trns = 1;
        if (!memcmp(png + pos + 4, "IDAT", 4) || len > n - pos - 12) break;
        pos += 12 + (size_t)len;
    }
    return hd->width && hd->height ? 0 : -1;
}

static void make_layout(const header *hd, h5img_rule rule, uint32_t flags, h5img_layout *l, h5img_info *info)
{
    unsigned ch = hd->color == 2 ? 3 : hd->color == 6 || hd->color == 4 ? 4 : hd->color == 3 ? 3 : 1;
    if ((hd->color == 2 || hd->color == 3) && hd->trns) ch = 4;
    memset(l, 0, sizeof *l);
    l->width = hd->width;
    l->height = hd->height;
    l->rule = rule;
    l->flags = flags;
    l->channels = rule == H5IMG_RULE_NATIVE ? ch : rule == H5IMG_RULE_COLOR ? 3 : 1;
    l->element_size = rule == H5IMG_RULE_NATIVE && hd->depth == 16 ? 2 : 1;
    memset(info, 0, sizeof *info);
    info->codec = H5IMG_CODEC_PNG;
    info->width = hd->width;
    info->height = hd->height;
    info->channels = ch;
    info->bit_depth = hd->depth;
    info->element_size = hd->depth == 16 ? 2 : 1;
    info->color_type = hd->color;
    info->interlaced = hd->interlace;
}

/* Decode with libspng and apply the rule as the test understands it.
 * Returns 0 and fills `out` (layout bytes) on success, -1 when libspng
 * rejects the bytes (image or any chunk up to IEND), -2 when libspng has
 * no output format with this layout's shape (the fast path declines those). */
static int spng_reference(const uint8_t *png, size_t n, const h5img_layout *l, uint8_t *out)
{
    spng_ctx *c = spng_ctx_new(0);
    ck_assert_ptr_nonnull(c);
    int result = -1;
    struct spng_ihdr ih;
    uint8_t *img = NULL;
    if (spng_set_png_buffer(c, png, n) || spng_get_ihdr(c, &ih)) goto done;
    if (ih.width != l->width || ih.height != l->height) goto done;
    int fmt;
    switch (l->rule) {
    case H5IMG_RULE_NATIVE:
        if (l->element_size == 2) fmt = (l->flags & H5IMG_FLAG_BIG_ENDIAN) ? SPNG_FMT_RAW : SPNG_FMT_PNG;
        else fmt = l->channels == 1 ? SPNG_FMT_G8 : l->channels == 3 ? SPNG_FMT_RGB8 : SPNG_FMT_RGBA8;
        break;
    case H5IMG_RULE_LUMA: fmt = SPNG_FMT_G8; break;
    default: fmt = SPNG_FMT_RGB8; break;
    }
    size_t len;
    if (spng_decoded_image_size(c, fmt, &len) || len > MAX_TEST_BYTES) goto done;
    img = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(img);
    if (spng_decode_image(c, img, len, fmt, 0)) goto done;
    if (spng_decode_chunks(c)) goto done; /* trailing chunks up to IEND */
    size_t px = (size_t)l->width * l->height;
    if (l->rule == H5IMG_RULE_MASK) {
        ck_assert_uint_eq(len, px * 3);
        for (size_t i = 0; i < px; i++) {
            uint8_t m = img[3 * i] > img[3 * i + 1] ? img[3 * i] : img[3 * i + 1];
            out[i] = m > img[3 * i + 2] ? m : img[3 * i + 2];
        }
    } else {
        if (len != h5img_layout_bytes(l)) { /* RGB16+tRNS under NATIVE: no libspng format to compare */
            result = -2;
            goto done;
        }
        memcpy(out, img, len);
        if ((l->flags & H5IMG_FLAG_BGR) && l->channels >= 3) {
            size_t es = l->element_size, step = es * l->channels;
            for (size_t i = 0; i < px; i++)
                for (size_t b = 0; b < es; b++) {
                    uint8_t t = out[i * step + b];
                    out[i * step + b] = out[i * step + 2 * es + b];
                    out[i * step + 2 * es + b] = t;
                }
        }
    }
    result = 0;
done:
    free(img);
    spng_ctx_free(c);
    return result;
}

/* ------------------------------------------------------- differential core */

typedef struct {
    unsigned long inputs, decodes, fast_ok, spng_ok, spng_fail, spng_fail_not_luma;
    unsigned long concurrent; /* fast decodes that ran the strict check on a second thread */
} tally;

static h5img_decoder *shared_decoder;

/* Where check_input's fast decodes run the strict DEFLATE check; the
 * differential tests loop over these. */
static h5img_png_check_mode check_mode;
static const h5img_png_check_mode differential_modes[] = {H5IMG_PNG_CHECK_CONCURRENT, H5IMG_PNG_CHECK_CALLING_THREAD};
static const char *const differential_mode_names[] = {"check on a second thread", "check on the calling thread"};

/* Run every rule/flag/implementation combination on one input. `hd` gives
 * the layout (normally the unmutated header). Returns how many rule/flag
 * combinations the fast path accepted (same count for both unfilterers). */
static unsigned check_input(const uint8_t *png, size_t n, const header *hd, const char *label, tally *t)
{
    unsigned accepted = 0;
    t->inputs++;
    for (size_t r = 0; r < sizeof all_rules / sizeof all_rules[0]; r++) {
        for (uint32_t flags = 0; flags <= (H5IMG_FLAG_BGR | H5IMG_FLAG_BIG_ENDIAN); flags++) {
            h5img_layout l;
            h5img_info info;
            make_layout(hd, all_rules[r], flags, &l, &info);
            if ((flags & H5IMG_FLAG_BIG_ENDIAN) && l.element_size != 2) continue;
            if ((flags & H5IMG_FLAG_BGR) && l.channels < 3) continue;
            if (h5img_layout_check(&l) != H5IMG_OK) continue; /* the caller never gets here */
            size_t bytes = h5img_layout_bytes(&l);
            if (bytes > MAX_TEST_BYTES) continue;
            uint8_t *ref = malloc(bytes), *got = malloc(bytes);
            ck_assert(ref && got);
            int ref_rc = spng_reference(png, n, &l, ref);
            if (ref_rc == 0) t->spng_ok++;
            else {
                t->spng_fail++;
                t->spng_fail_not_luma += l.rule != H5IMG_RULE_LUMA && ref_rc == -1;
                if (getenv("PNG_FAST_DEBUG") && l.rule != H5IMG_RULE_LUMA && ref_rc == -1)
                    fprintf(stderr, "libspng refuses %s under rule %d flags %u\n", label, (int)l.rule, flags);
            }
            int ok_portable = -1;
            for (int portable = 0; portable <= 1; portable++) {
                h5img_png_unfilter_force_portable(portable);
                memset(got, 0xcd, bytes);
                h5img_png_force_check(shared_decoder, check_mode);
                int concurrent = 0;
                h5img_status st = fast_decode(shared_decoder, png, n, &info, &l, got, &concurrent);
                t->decodes++;
                t->concurrent += concurrent;
                ck_assert_msg(st == H5IMG_OK || st == H5IMG_E_UNSUPPORTED, "%s: fast path returned %d", label,
                              (int)st);
                /* Every accepted image passed the check: where the mode says. */
                if (st == H5IMG_OK && check_mode == H5IMG_PNG_CHECK_CONCURRENT)
                    ck_assert_msg(concurrent, "%s: check not on a second thread", label);
                if (check_mode == H5IMG_PNG_CHECK_CALLING_THREAD)
                    ck_assert_msg(!concurrent, "%s: check on a second thread", label);
                if (st == H5IMG_OK) {
                    t->fast_ok++;
                    ck_assert_msg(ref_rc == 0, "%s rule %d flags %u: fast path accepted what libspng rejects",
                                  label, (int)l.rule, flags);
                    ck_assert_msg(memcmp(got, ref, bytes) == 0, "%s rule %d flags %u portable %d: pixels differ",
                                  label, (int)l.rule, flags, portable);
                }
                if (ok_portable < 0) ok_portable = st == H5IMG_OK;
                else ck_assert_int_eq(ok_portable, st == H5IMG_OK);
            }
            h5img_png_unfilter_force_portable(0);
            accepted += ok_portable == 1;
            free(ref);
            free(got);
        }
    }
    return accepted;
}

/* Rule/flag combinations the fast path should take for a clean image. */
static unsigned expected_accepts(const header *hd)
{
    unsigned n = 0;
    int rgb_trns = hd->color == 2 && hd->trns;
    int es2 = hd->depth == 16;
    /* NATIVE: gray 1 (x2 endian for 16-bit); RGB/RGBA x2 BGR (x2 endian) */
    if (!rgb_trns) n += (hd->color == 0 ? 1 : 2) * (es2 ? 2 : 1);
    n += 2;                                     /* COLOR, with and without BGR */
    n += 1;                                     /* MASK */
    n += hd->color == 0 && hd->depth == 8;      /* LUMA */
    return n;
}

static void setup(void)
{
    shared_decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(shared_decoder);
    check_mode = H5IMG_PNG_CHECK_AUTO;
}

static void teardown(void)
{
    h5img_png_fast_release(shared_decoder);
    h5img_decoder_free(shared_decoder);
    shared_decoder = NULL;
}

/* ----------------------------------------------------------- generators */

static void fill_pixels(uint8_t *px, uint32_t w, uint32_t h, unsigned ch, unsigned es, int kind)
{
    size_t n = (size_t)w * h * ch;
    uint16_t *p16 = (uint16_t *)px;
    for (size_t i = 0; i < n; i++) {
        size_t pix = i / ch, x = pix % w, y = pix / w;
        unsigned c = (unsigned)(i % ch);
        uint32_t v;
        switch (kind) {
        case 0: v = (uint32_t)rnd(); break;                                           /* noise */
        case 1: v = (uint32_t)((x * 7 + y * 3 + c * 50) * 97 + rnd_below(3)); break;  /* smooth */
        case 2: v = ((x / 5 + y / 7) & 1) ? 0xffffffffu : 0; break;                   /* hard mask */
        case 3: v = 0x12345678u; break;                                               /* constant */
        default: {                                                                    /* soft blob */
            long dx = (long)x - w / 2, dy = (long)y - h / 2;
            long d = dx * dx + dy * dy, r2 = (long)(w * w + h * h) / 16;
            v = d < r2 ? 0xffffffffu : d < 2 * r2 ? (uint32_t)((2 * r2 - d) * 255 / r2) * 0x01010101u : 0;
        }
        }
        if (es == 2) p16[i] = (uint16_t)(kind == 1 ? v * 251 : v);
        else px[i] = (uint8_t)(kind == 1 ? v >> 2 : v);
    }
}

static const int filter_choices[] = {SPNG_DISABLE_FILTERING, SPNG_FILTER_CHOICE_NONE,  SPNG_FILTER_CHOICE_SUB,
                                     SPNG_FILTER_CHOICE_UP,  SPNG_FILTER_CHOICE_AVG,   SPNG_FILTER_CHOICE_PAETH,
                                     SPNG_FILTER_CHOICE_ALL};
static const int levels[] = {0, 1, 6, 9};

typedef struct {
    uint32_t w, h;
    unsigned color, depth;
    uint8_t *png;
    size_t n;
    png_parts parts;
} generated;

static void generate(generated *g, int allow16)
{
    static const unsigned colors[] = {0, 2, 6};
    g->color = colors[rnd_below(3)];
    g->depth = allow16 && rnd_below(4) == 0 ? 16 : 8;
    switch (rnd_below(6)) {
    case 0: g->w = 1; break;
    case 1: g->w = 1 + 2 * rnd_below(20); break; /* odd */
    case 2: g->w = 16 + rnd_below(4); break;
    default: g->w = 1 + rnd_below(130); break;
    }
    g->h = rnd_below(8) == 0 ? 1 : 1 + rnd_below(40);
    if (rnd_below(40) == 0) { /* a few wider, taller ones */
        g->w = 200 + rnd_below(400);
        g->h = 50 + rnd_below(100);
    }
    unsigned ch = g->color == 0 ? 1 : g->color == 2 ? 3 : 4, es = g->depth / 8;
    size_t len = (size_t)g->w * g->h * ch * es;
    uint8_t *px = malloc(len);
    ck_assert_ptr_nonnull(px);
    fill_pixels(px, g->w, g->h, ch, es, (int)rnd_below(5));
    int fc = filter_choices[rnd_below(sizeof filter_choices / sizeof filter_choices[0])];
    int level = levels[rnd_below(4)];
    int strategy = (int)rnd_below(5); /* Z_DEFAULT, FILTERED, HUFFMAN_ONLY, RLE, FIXED */
    g->png = encode_png(px, len, g->w, g->h, g->color, g->depth, fc, level, strategy, &g->n);
    free(px);
    ck_assert_int_eq(split_png(g->png, g->n, &g->parts), 0);
}

static void generated_free(generated *g)
{
    free(g->png);
    free(g->parts.zdata.p);
}

/* ------------------------------------------------------------------ tests */

/* The unfilterers (SIMD and portable) against a plain transcription of the
 * PNG specification, every filter and pixel size, in place and not. */
static uint8_t spec_paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

static void spec_unfilter(unsigned f, unsigned bpp, uint8_t *d, const uint8_t *s, const uint8_t *prev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int a = i >= bpp ? d[i - bpp] : 0, b = prev ? prev[i] : 0, c = prev && i >= bpp ? prev[i - bpp] : 0;
        int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : spec_paeth(a, b, c);
        d[i] = (uint8_t)(s[i] + pred);
    }
}

START_TEST(test_unfilter_rows_match_png_spec_simd_and_portable)
{
    static const unsigned bpps[] = {1, 2, 3, 4, 6, 8};
    rng_state = 11;
    for (int portable = 0; portable <= 1; portable++) {
        h5img_png_unfilter_force_portable(portable);
        if (!portable) fprintf(stderr, "unfilter: SIMD active = %d\n", h5img_png_unfilter_simd_active());
        for (int iter = 0; iter < 6000; iter++) {
            unsigned bpp = bpps[rnd_below(6)], f = rnd_below(5);
            size_t n = bpp * (1 + rnd_below(iter % 10 == 0 ? 300 : 40));
            uint8_t src[2400], prev[2400], want[2400], got[2400];
            int runs = rnd() & 1; /* long flat stretches in prev (Paeth's b == c shortcut) */
            /* Mostly-zero filtered bytes, as in a mask's flat areas: whole
             * 16-byte blocks of zeros take Sub's shortcut, the odd nonzero
             * byte leaves it. */
            int sparse = rnd_below(3) == 0;
            uint8_t level = (uint8_t)rnd();
            for (size_t i = 0; i < n; i++) {
                src[i] = (uint8_t)(sparse ? (rnd_below(64) == 0 ? rnd() : 0) : runs && rnd_below(2) ? 0 : rnd());
                if (runs && rnd_below(40) == 0) level = (uint8_t)rnd();
                prev[i] = runs ? level : (uint8_t)(rnd_below(3) ? rnd() : 255);
            }
            const uint8_t *pv = rnd_below(8) == 0 ? NULL : prev;
            spec_unfilter(f, bpp, want, src, pv, n);
            ck_assert_int_eq(h5img_png_unfilter_row(f, bpp, got, src, pv, n), 0);
            ck_assert_msg(memcmp(got, want, n) == 0, "filter %u bpp %u n %zu prev %d portable %d", f, bpp, n,
                          pv != NULL, portable);
            memcpy(got, src, n); /* in place */
            ck_assert_int_eq(h5img_png_unfilter_row(f, bpp, got, got, pv, n), 0);
            ck_assert_msg(memcmp(got, want, n) == 0, "in place: filter %u bpp %u n %zu", f, bpp, n);
        }
        uint8_t row[8] = {0};
        for (unsigned f = 5; f < 256; f += 50) ck_assert_int_ne(h5img_png_unfilter_row(f, 1, row, row, NULL, 8), 0);
    }
    h5img_png_unfilter_force_portable(0);
}
END_TEST

/* libspng's 16 -> 8 bit conversion (SPNG_FMT_RGB8) is the high byte, as
 * OpenCV's png_set_strip_16: the reference for COLOR/MASK on 16-bit. */
START_TEST(test_libspng_16_to_8_is_high_byte)
{
    rng_state = 12;
    for (int iter = 0; iter < 40; iter++) {
        static const unsigned colors[] = {0, 2, 6};
        unsigned color = colors[iter % 3], ch = color == 0 ? 1 : color == 2 ? 3 : 4;
        uint32_t w = 1 + rnd_below(50), h = 1 + rnd_below(20);
        size_t len = (size_t)w * h * ch * 2;
        uint8_t *px = malloc(len);
        fill_pixels(px, w, h, ch, 2, 0);
        size_t n;
        uint8_t *png = encode_png(px, len, w, h, color, 16, SPNG_FILTER_CHOICE_ALL, 6, 0, &n);
        uint8_t *raw = malloc(len), *rgb = malloc((size_t)w * h * 3);
        spng_ctx *c = spng_ctx_new(0);
        ck_assert_int_eq(spng_set_png_buffer(c, png, n), 0);
        ck_assert_int_eq(spng_decode_image(c, raw, len, SPNG_FMT_RAW, 0), 0);
        spng_ctx_free(c);
        c = spng_ctx_new(0);
        ck_assert_int_eq(spng_set_png_buffer(c, png, n), 0);
        ck_assert_int_eq(spng_decode_image(c, rgb, (size_t)w * h * 3, SPNG_FMT_RGB8, 0), 0);
        spng_ctx_free(c);
        for (size_t i = 0; i < (size_t)w * h; i++)
            for (unsigned k = 0; k < 3; k++)
                ck_assert_uint_eq(rgb[3 * i + k], raw[(i * ch + (ch == 1 ? 0 : k)) * 2]);
        free(px);
        free(raw);
        free(rgb);
        free(png);
    }
}
END_TEST

/* Thousands of generated clean PNGs (all kinds, sizes, filters, levels,
 * strategies, IDAT splits, valid ancillary chunks): identical to libspng
 * and actually accepted by the fast path. */
START_TEST(test_generated_pngs_identical_to_libspng_and_accepted)
{
    check_mode = differential_modes[_i];
    tally t = {0};
    rng_state = 2024;
    buf_t png = {0};
    unsigned images = 0;
    for (int iter = 0; iter < 2500; iter++) {
        generated g;
        generate(&g, 1);
        build_opts o = {.splits = rnd_below(3) == 0 ? 1 + rnd_below(6) : 1,
                        .zero_length_idat = rnd_below(10) == 0,
                        .ancillary = rnd_below(4) == 0,
                        .trns = rnd_below(6) == 0};
        build_png(&png, &g.parts, &o);
        header hd;
        ck_assert_int_eq(read_header(png.p, png.n, &hd), 0);
        char label[128];
        snprintf(label, sizeof label, "gen %d %ux%u ct%u bd%u splits %u", iter, g.w, g.h, g.color, g.depth,
                 o.splits);
        unsigned acc = check_input(png.p, png.n, &hd, label, &t);
        ck_assert_msg(acc == expected_accepts(&hd), "%s: fast path took %u rule/flag cases, expected %u", label, acc,
                      expected_accepts(&hd));
        /* the encoder's own bytes too */
        ck_assert_int_eq(read_header(g.png, g.n, &hd), 0);
        ck_assert_uint_eq(check_input(g.png, g.n, &hd, label, &t), expected_accepts(&hd));
        images += 2;
        generated_free(&g);
    }
    free(png.p);
    fprintf(stderr,
            "generated, %s: %u clean PNGs, %lu fast decodes (%lu with the check on a second thread), %lu accepted, "
            "libspng ok %lu / failed %lu\n",
            differential_mode_names[_i], images, t.decodes, t.concurrent, t.fast_ok, t.spng_ok, t.spng_fail);
    if (check_mode == H5IMG_PNG_CHECK_CONCURRENT) ck_assert_uint_ge(t.concurrent, t.fast_ok);
    /* libspng refuses only LUMA (SPNG_FMT_G8) of non-gray input here */
    ck_assert_uint_eq(t.spng_fail_not_luma, 0);
}
END_TEST

/* Mutated copies: damaged IDAT (with and without a fixed CRC), wrong CRCs,
 * truncation, missing IEND, wrong Adler-32, bad filter bytes, a header that
 * promises more or fewer rows, chunks out of place, trailing bytes, invalid
 * or unknown ancillary chunks. The fast path must never accept what libspng
 * rejects, and must match it whenever both accept. */
static void zlib_payload(const png_parts *parts, const header *hd, buf_t *raw)
{
    unsigned ch = hd->color == 0 ? 1 : hd->color == 2 ? 3 : 4;
    size_t rowbytes = (size_t)hd->width * ch * hd->depth / 8;
    size_t need = hd->height * (rowbytes + 1);
    raw->p = realloc(raw->p, need);
    raw->n = need;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    ck_assert_int_eq(libdeflate_zlib_decompress(d, parts->zdata.p, parts->zdata.n, raw->p, need, NULL),
                     LIBDEFLATE_SUCCESS);
    libdeflate_free_decompressor(d);
}

static void zlib_recompress(png_parts *parts, const uint8_t *raw, size_t n)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    size_t bound = libdeflate_zlib_compress_bound(c, n);
    parts->zdata.p = realloc(parts->zdata.p, bound);
    parts->zdata.n = libdeflate_zlib_compress(c, raw, n, parts->zdata.p, bound);
    ck_assert_uint_gt(parts->zdata.n, 0);
    libdeflate_free_compressor(c);
}

START_TEST(test_mutated_pngs_never_accepted_when_libspng_rejects)
{
    check_mode = differential_modes[_i];
    tally t = {0};
    rng_state = 77;
    buf_t png = {0}, raw = {0};
    unsigned mutants = 0, kinds[14] = {0}, taken[14] = {0};
    for (int iter = 0; iter < 2000; iter++) {
        generated g;
        generate(&g, 1);
        header hd;
        ck_assert_int_eq(read_header(g.png, g.n, &hd), 0);
        for (int m = 0; m < 2; m++) {
            unsigned kind = rnd_below(14);
            kinds[kind]++;
            build_opts o = {.splits = 1 + rnd_below(4)};
            png_parts parts = g.parts;
            buf_t z = {0};
            buf_put(&z, g.parts.zdata.p, g.parts.zdata.n);
            parts.zdata = z;
            header lay = hd;
            switch (kind) {
            case 5: o.no_iend = 1; break;
            case 6: o.trailing_garbage = 1; break;
            case 7: o.chunk_between_idat = 1; o.splits = 2 + rnd_below(3); break;
            case 8: o.ancillary = 2; break;
            case 9: /* wrong Adler-32, CRCs right */
                parts.zdata.p[parts.zdata.n - 1 - rnd_below(4)] ^= (uint8_t)(1 + rnd_below(255));
                break;
            case 10: /* flipped byte inside the deflate data, CRCs right */
                parts.zdata.p[rnd_below((uint32_t)parts.zdata.n)] ^= (uint8_t)(1u << rnd_below(8));
                break;
            case 11: { /* invalid filter byte on one row */
                zlib_payload(&g.parts, &hd, &raw);
                size_t stride = raw.n / hd.height;
                raw.p[rnd_below(hd.height) * stride] = (uint8_t)(5 + rnd_below(251));
                zlib_recompress(&parts, raw.p, raw.n);
                break;
            }
            case 12: { /* header claims a different height (CRC fixed) */
                uint32_t hh = hd.height + (rnd() & 1 ? 1 : (hd.height > 1 ? -1u : 1));
                put_be32(parts.ihdr + 4, hh);
                lay.height = hh; /* the caller's layout follows the header */
                break;
            }
            case 13: { /* extra bytes after the zlib stream */
                buf_put(&parts.zdata, "\0\0\0", 1 + rnd_below(3));
                break;
            }
            default: break;
            }
            build_png(&png, &parts, &o);
            switch (kind) {
            case 0: /* byte flipped anywhere after the signature (CRC left wrong) */
                png.p[8 + rnd_below((uint32_t)png.n - 8)] ^= (uint8_t)(1u << rnd_below(8));
                break;
            case 1: /* byte flipped in the first IDAT payload */
                if (parts.zdata.n) png.p[33 + 8 + rnd_below((uint32_t)(get_be32(png.p + 33) ? get_be32(png.p + 33) : 1))] ^= 0x10;
                break;
            case 2: /* wrong CRC on the last chunk (IEND) or on IHDR */
                png.p[rnd() & 1 ? png.n - 1 : 32] ^= 0x01;
                break;
            case 3: /* truncated at a random point */
                png.n = 8 + rnd_below((uint32_t)png.n - 8);
                break;
            case 4: /* truncated inside IEND */
                png.n -= 1 + rnd_below(12);
                break;
            default: break;
            }
            char label[128];
            snprintf(label, sizeof label, "mutant %d/%d kind %u %ux%u ct%u bd%u", iter, m, kind, g.w, g.h, g.color,
                     g.depth);
            taken[kind] += check_input(png.p, png.n, &lay, label, &t) > 0;
            mutants++;
            free(parts.zdata.p);
        }
        generated_free(&g);
    }
    free(png.p);
    free(raw.p);
    fprintf(stderr,
            "mutants, %s: %u inputs, %lu fast decodes (%lu with the check on a second thread), %lu accepted, "
            "libspng ok %lu / failed %lu; per kind:",
            differential_mode_names[_i], mutants, t.decodes, t.concurrent, t.fast_ok, t.spng_ok, t.spng_fail);
    for (int k = 0; k < 14; k++) fprintf(stderr, " %u(%u taken)", kinds[k], taken[k]);
    fprintf(stderr, "\n");
    ck_assert_uint_gt(t.spng_fail, 0);
}
END_TEST

/* Every file of a conformance folder, differential. */
static void run_folder(const char *sub, tally *t)
{
    const char *root = getenv("H5IMG_CONFORMANCE_DIR");
    ck_assert_msg(root != NULL, "H5IMG_CONFORMANCE_DIR is not set");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    DIR *dp = opendir(dir);
    ck_assert_msg(dp != NULL, "cannot open %s", dir);
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".png") != 0) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        buf_t b = {0};
        uint8_t chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&b, chunk, got);
        fclose(f);
        header hd;
        if (read_header(b.p, b.n, &hd) == 0) {
            unsigned acc = check_input(b.p, b.n, &hd, e->d_name, t);
            if (e->d_name[0] == 'x') ck_assert_msg(acc == 0, "%s: corrupt file accepted", e->d_name);
        } else {
            /* no usable header: any layout must be refused */
            header one = {.width = 1, .height = 1, .depth = 8, .color = 0};
            ck_assert_uint_eq(check_input(b.p, b.n, &one, e->d_name, t), 0);
        }
        free(b.p);
    }
    closedir(dp);
}

START_TEST(test_pngsuite_identical_to_libspng)
{
    check_mode = differential_modes[_i];
    tally t = {0};
    run_folder("pngsuite", &t);
    fprintf(stderr, "pngsuite, %s: %lu files, %lu fast decodes (%lu with the check on a second thread), %lu accepted\n",
            differential_mode_names[_i], t.inputs, t.decodes, t.concurrent, t.fast_ok);
    if (check_mode == H5IMG_PNG_CHECK_CONCURRENT) ck_assert_uint_ge(t.concurrent, t.fast_ok);
    ck_assert_uint_gt(t.inputs, 150);
    ck_assert_uint_gt(t.fast_ok, 50);
}
END_TEST

START_TEST(test_png_crashers_never_accepted)
{
    check_mode = differential_modes[_i];
    tally t = {0};
    run_folder("png-crashers", &t);
    fprintf(stderr,
            "png-crashers, %s: %lu files, %lu fast decodes (%lu with the check on a second thread), %lu accepted\n",
            differential_mode_names[_i], t.inputs, t.decodes, t.concurrent, t.fast_ok);
    ck_assert_uint_gt(t.inputs, 10);
    ck_assert_uint_eq(t.fast_ok, 0);
}
END_TEST

/* A decoder reused across images of different sizes (scratch grows and
 * shrinks in use), and the layout must agree with the header. */
START_TEST(test_layout_mismatch_is_unsupported)
{
    rng_state = 5;
    generated g;
    generate(&g, 0);
    header hd;
    ck_assert_int_eq(read_header(g.png, g.n, &hd), 0);
    h5img_layout l;
    h5img_info info;
    make_layout(&hd, H5IMG_RULE_MASK, 0, &l, &info);
    uint8_t *out = malloc(h5img_layout_bytes(&l) + 64);
    ck_assert_int_eq(h5img_png_fast_decode(shared_decoder, g.png, g.n, &info, &l, out), H5IMG_OK);
    l.width += 1;
    ck_assert_int_eq(h5img_png_fast_decode(shared_decoder, g.png, g.n, &info, &l, out), H5IMG_E_UNSUPPORTED);
    l.width -= 1;
    l.channels = 3; /* MASK into 3 channels: not a layout the fast path writes */
    ck_assert_int_eq(h5img_png_fast_decode(shared_decoder, g.png, g.n, &info, &l, out), H5IMG_E_UNSUPPORTED);
    free(out);
    generated_free(&g);
}
END_TEST

/* --------------------------------------------------- the concurrent check */

/* Bits of a DEFLATE stream, the first in the lowest bit of each byte. */
typedef struct {
    buf_t bytes;
    uint32_t pending;
    unsigned npending;
} bit_writer;

static void put_bits(bit_writer *w, uint32_t value, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        w->pending |= ((value >> i) & 1u) << w->npending;
        if (++w->npending == 8) {
            uint8_t byte = (uint8_t)w->pending;
            buf_put(&w->bytes, &byte, 1);
            w->pending = 0;
            w->npending = 0;
        }
    }
}

/* Huffman codewords go in most significant bit first. */
static void put_code(bit_writer *w, uint32_t code, unsigned length)
{
    while (length-- > 0) put_bits(w, (code >> length) & 1u, 1);
}

/* A literal/length symbol of the fixed code (RFC 1951, 3.2.6). */
static void put_fixed_symbol(bit_writer *w, unsigned symbol)
{
    if (symbol < 144) put_code(w, 0x30 + symbol, 8);
    else if (symbol < 256) put_code(w, 0x190 + symbol - 144, 9);
    else if (symbol < 280) put_code(w, symbol - 256, 7);
    else put_code(w, 0xc0 + symbol - 280, 8);
}

/* A zlib stream of one fixed-Huffman block inflating to `raw` (>= 259)
 * zero bytes: a literal, copies of 258 bytes from distance 1 (length
 * symbol 285), then literals. With `odd_symbol` 286 or 287 one copy uses
 * that symbol instead, which libdeflate also takes for 258 bytes and zlib
 * rejects; `late` makes it the last copy, so the strict check only fails
 * near the end of its walk. */
static void zeros_stream(buf_t *out, size_t raw, unsigned odd_symbol, int late)
{
    bit_writer w = {0};
    put_bits(&w, 0x78, 8); /* CMF: deflate, 32 KiB window */
    put_bits(&w, 0x01, 8); /* FLG: FCHECK, no dictionary */
    put_bits(&w, 1, 1);    /* BFINAL */
    put_bits(&w, 1, 2);    /* BTYPE: fixed codes */
    put_fixed_symbol(&w, 0);
    size_t made = 1, copies = (raw - 1) / 258;
    for (size_t k = 0; k < copies; k++) {
        int odd = odd_symbol && k == (late ? copies - 1 : 0);
        put_fixed_symbol(&w, odd ? odd_symbol : 285);
        put_code(&w, 0, 5); /* distance symbol 0: distance 1 */
        made += 258;
    }
    for (; made < raw; made++) put_fixed_symbol(&w, 0);
    put_fixed_symbol(&w, 256);
    if (w.npending) put_bits(&w, 0, 8 - w.npending);
    uint32_t adler = (uint32_t)(raw % 65521) << 16 | 1; /* all zeros: s1 stays 1, s2 counts the bytes */
    for (int shift = 24; shift >= 0; shift -= 8) put_bits(&w, adler >> shift & 0xff, 8);
    *out = w.bytes;
}

/* An 8-bit gray PNG of zeros made of zeros_stream's bytes, in `idat_chunks` IDATs. */
static void zeros_png(buf_t *png, uint32_t width, uint32_t height, unsigned odd_symbol, int late, unsigned idat_chunks)
{
    buf_t z;
    zeros_stream(&z, (size_t)height * (width + 1), odd_symbol, late);
    uint8_t ihdr[13] = {0};
    put_be32(ihdr, width);
    put_be32(ihdr + 4, height);
    ihdr[8] = 8;
    png->n = 0;
    buf_put(png, png_sig, 8);
    put_chunk(png, "IHDR", ihdr, 13);
    size_t done = 0;
    for (unsigned k = 1; k <= idat_chunks; k++) {
        size_t end = z.n * k / idat_chunks;
        put_chunk(png, "IDAT", z.p + done, (uint32_t)(end - done));
        done = end;
    }
    put_chunk(png, "IEND", "", 0);
    free(z.p);
}

static const h5img_png_check_mode all_check_modes[] = {H5IMG_PNG_CHECK_AUTO, H5IMG_PNG_CHECK_CONCURRENT,
                                                       H5IMG_PNG_CHECK_CALLING_THREAD,
                                                       H5IMG_PNG_CHECK_FAIL_THREAD_START};

/* Decode `png` under layout `l` with the check in every mode, first the
 * fast path alone (which must return `fast_expected`), then the whole
 * decoder (libspng when the fast path declines): status, message and, on
 * success, pixels must be those of a decode with the check on the calling
 * thread. `reaches_check`: the fast path gets as far as the check. */
static h5img_status decode_in_every_mode(const uint8_t *png, size_t n, const h5img_layout *l,
                                         h5img_status fast_expected, int reaches_check, const char *label)
{
    size_t bytes = h5img_layout_bytes(l);
    uint8_t *want = malloc(bytes), *got = malloc(bytes);
    h5img_decoder *d = h5img_decoder_new();
    ck_assert(want && got && d);
    h5img_info info;
    ck_assert_int_eq(h5img_probe(png, n, &info), H5IMG_OK);
    h5img_png_force_check(d, H5IMG_PNG_CHECK_CALLING_THREAD);
    const h5img_status want_status = h5img_decoder_decode(d, png, n, l, want, bytes);
    char want_message[H5IMG_MESSAGE_SIZE];
    snprintf(want_message, sizeof want_message, "%s", h5img_decoder_message(d));
    for (size_t m = 0; m < sizeof all_check_modes / sizeof all_check_modes[0]; m++) {
        const h5img_png_check_mode mode = all_check_modes[m];
        h5img_png_force_check(d, mode);
        memset(got, 0xcd, bytes);
        int concurrent = 0;
        ck_assert_msg(fast_decode(d, png, n, &info, l, got, &concurrent) == fast_expected, "%s, mode %d: fast path",
                      label, (int)mode);
        if (mode == H5IMG_PNG_CHECK_CONCURRENT && reaches_check)
            ck_assert_msg(concurrent, "%s: check not on a second thread", label);
        if (mode == H5IMG_PNG_CHECK_CALLING_THREAD || mode == H5IMG_PNG_CHECK_FAIL_THREAD_START)
            ck_assert_msg(!concurrent, "%s, mode %d: check on a second thread", label, (int)mode);
        if (fast_expected == H5IMG_OK)
            ck_assert_msg(memcmp(got, want, bytes) == 0, "%s, mode %d: fast path pixels differ", label, (int)mode);
        memset(got, 0xcd, bytes);
        ck_assert_msg(h5img_decoder_decode(d, png, n, l, got, bytes) == want_status, "%s, mode %d: status", label,
                      (int)mode);
        ck_assert_msg(strcmp(h5img_decoder_message(d), want_message) == 0, "%s, mode %d: \"%s\", not \"%s\"", label,
                      (int)mode, h5img_decoder_message(d), want_message);
        if (want_status == H5IMG_OK)
            ck_assert_msg(memcmp(got, want, bytes) == 0, "%s, mode %d: pixels differ", label, (int)mode);
    }
    ck_assert_uint_eq(h5img_busy_threads(0), 0);
    h5img_decoder_free(d);
    free(want);
    free(got);
    return want_status;
}

/* Streams libdeflate inflates and zlib rejects (length symbols 286 and
 * 287 early and late in the stream, in one IDAT or gathered from several,
 * a small image and one above the automatic threshold; and the fuzz
 * regressions): the fast path declines and the decoder fails with the same
 * status and message whether the check ran on a second thread, on the
 * calling thread, or on the calling thread after the second one failed to
 * start. The same images with symbol 285 decode to zeros in every mode. */
START_TEST(test_streams_zlib_rejects_decline_identically_in_every_mode)
{
    static const struct {
        uint32_t width, height;
    } sizes[] = {{36, 7}, {2448, 512}};
    static const h5img_rule rules[] = {H5IMG_RULE_MASK, H5IMG_RULE_NATIVE, H5IMG_RULE_COLOR};
    struct libdeflate_decompressor *inflater = libdeflate_alloc_decompressor();
    ck_assert_ptr_nonnull(inflater);
    buf_t png = {0}, z = {0};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const size_t raw = (size_t)sizes[s].height * (sizes[s].width + 1);
        uint8_t *inflated = malloc(raw);
        ck_assert_ptr_nonnull(inflated);
        for (unsigned odd = 285; odd <= 287; odd++) {
            for (int late = 0; late <= (odd != 285); late++) {
                /* The stream is what it is meant to be: libdeflate takes it, zlib's rules only with 285. */
                zeros_stream(&z, raw, odd == 285 ? 0 : odd, late);
                size_t in_used = 0, out_made = 0;
                ck_assert_int_eq(libdeflate_zlib_decompress_ex(inflater, z.p, z.n, inflated, raw, &in_used, &out_made),
                                 LIBDEFLATE_SUCCESS);
                ck_assert_uint_eq(in_used, z.n);
                ck_assert_uint_eq(out_made, raw);
                int verdict = h5img_deflate_strict_check(z.p, z.n, raw, H5IMG_DEFLATE_HEADER_WINDOW, NULL, NULL);
                ck_assert_int_eq(verdict == H5IMG_DEFLATE_OK, odd == 285);
                free(z.p);
                z.p = NULL;
                for (unsigned chunks = 1; chunks <= 3; chunks += 2) {
                    zeros_png(&png, sizes[s].width, sizes[s].height, odd == 285 ? 0 : odd, late, chunks);
                    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
                        h5img_layout l = {sizes[s].height, sizes[s].width, rules[r] == H5IMG_RULE_COLOR ? 3 : 1, 1,
                                          rules[r], 0};
                        char label[128];
                        snprintf(label, sizeof label, "%ux%u symbol %u%s, %u IDAT, rule %d", sizes[s].width,
                                 sizes[s].height, odd, late ? " late" : "", chunks, (int)rules[r]);
                        h5img_status want = odd == 285 ? H5IMG_OK : H5IMG_E_UNSUPPORTED;
                        h5img_status got = decode_in_every_mode(png.p, png.n, &l, want, 1, label);
                        ck_assert_msg(odd == 285 ? got == H5IMG_OK : got != H5IMG_OK, "%s: decoder status %d", label,
                                      (int)got);
                    }
                }
            }
        }
        free(inflated);
    }
    free(png.p);
    libdeflate_free_decompressor(inflater);

    /* The fuzz regressions: every one fails, the same way in every mode. */
    static const struct {
        const char *name;
        int reaches_check; /* the fast path takes the image up to the check */
    } regressions[] = {
        {"png_diff-fast-accepts-invalid-deflate-code.png", 1},
        {"png-zlib-stream-not-ended.png", 0}, /* libdeflate declines it first */
        {"png-bad-adler32-after-last-row.png", 0},
        {"png-distance-too-far-after-last-row.png", 0}, /* gray+alpha: not a fast-path image */
    };
    const char *here = __FILE__, *slash = strrchr(here, '/');
    for (size_t f = 0; f < sizeof regressions / sizeof regressions[0]; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%.*s/../fuzz/regressions/%s", slash ? (int)(slash - here) : 1, slash ? here : ".",
                 regressions[f].name);
        FILE *fp = fopen(path, "rb");
        ck_assert_msg(fp != NULL, "cannot open %s", path);
        buf_t bytes = {0};
        uint8_t chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) buf_put(&bytes, chunk, got);
        fclose(fp);
        header hd;
        ck_assert_int_eq(read_header(bytes.p, bytes.n, &hd), 0);
        for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
            h5img_layout l;
            h5img_info info;
            make_layout(&hd, rules[r], 0, &l, &info);
            char label[160];
            snprintf(label, sizeof label, "%s rule %d", regressions[f].name, (int)rules[r]);
            h5img_status status =
                decode_in_every_mode(bytes.p, bytes.n, &l, H5IMG_E_UNSUPPORTED, regressions[f].reaches_check, label);
            ck_assert_msg(status != H5IMG_OK, "%s: decoded", label);
        }
        free(bytes.p);
    }
}
END_TEST

static unsigned usable_cpus(void)
{
    cpu_set_t set;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    return (unsigned)CPU_COUNT(&set);
}

static int environment_says_one_thread(void)
{
    const char *text = getenv("H5IMG_THREADS");
    return text && strcmp(text, "1") == 0;
}

/* A soft-edged 8-bit gray mask, as PNG. */
static uint8_t *mask_png(uint32_t width, uint32_t height, size_t *n)
{
    size_t len = (size_t)width * height;
    uint8_t *pixels = malloc(len);
    ck_assert_ptr_nonnull(pixels);
    fill_pixels(pixels, width, height, 1, 1, 4);
    uint8_t *png = encode_png(pixels, len, width, height, 0, 8, SPNG_FILTER_CHOICE_ALL, 6, 0, n);
    free(pixels);
    return png;
}

/* Above the automatic threshold (1.25 MB inflated), and far below it. */
#define LARGE_WIDTH 2448u
#define LARGE_HEIGHT 512u
#define SMALL_SIDE 256u

/* Decode a mask with `decoder` through the whole decoder and return how
 * many second threads that started (which must be whether the check ran on
 * one); the pixels must be those of a decode with the check on the calling
 * thread. */
static unsigned long threads_started_by_decode(h5img_decoder *decoder, const uint8_t *png, size_t n, uint32_t width,
                                               uint32_t height)
{
    h5img_layout l = {height, width, 1, 1, H5IMG_RULE_MASK, 0};
    size_t bytes = h5img_layout_bytes(&l);
    uint8_t *want = malloc(bytes), *got = malloc(bytes);
    h5img_decoder *reference = h5img_decoder_new();
    ck_assert(want && got && reference);
    h5img_png_force_check(reference, H5IMG_PNG_CHECK_CALLING_THREAD);
    ck_assert_int_eq(h5img_decoder_decode(reference, png, n, &l, want, bytes), H5IMG_OK);
    h5img_decoder_free(reference);
    const unsigned long before = h5img_second_threads_started();
    ck_assert_int_eq(h5img_decoder_decode(decoder, png, n, &l, got, bytes), H5IMG_OK);
    const unsigned long started = h5img_second_threads_started() - before;
    ck_assert_uint_le(started, 1); /* at most the check's thread */
    ck_assert(memcmp(got, want, bytes) == 0);
    free(want);
    free(got);
    return started;
}

/* The counter of second threads goes up by one for each decode that ran
 * the check on a second thread, and only then: never with threads 1,
 * always for a large image with threads 2 or more, automatically with 2+
 * usable CPUs unless H5IMG_THREADS=1, never for a small image unless the
 * test hook forces it (which, like the JPEG one, overrides threads 1). */
START_TEST(test_second_thread_counter_follows_the_thread_rules)
{
    size_t large_n, small_n;
    uint8_t *large = mask_png(LARGE_WIDTH, LARGE_HEIGHT, &large_n);
    uint8_t *small = mask_png(SMALL_SIDE, SMALL_SIDE, &small_n);
    const unsigned long automatic = usable_cpus() >= 2 && !environment_says_one_thread();
    const struct {
        unsigned threads;
        int large;
        h5img_png_check_mode mode;
        unsigned long started;
    } cases[] = {
        {1, 1, H5IMG_PNG_CHECK_AUTO, 0},
        {2, 1, H5IMG_PNG_CHECK_AUTO, 1},
        {7, 1, H5IMG_PNG_CHECK_AUTO, 1},
        {0, 1, H5IMG_PNG_CHECK_AUTO, automatic},
        {2, 0, H5IMG_PNG_CHECK_AUTO, 0},
        {0, 0, H5IMG_PNG_CHECK_AUTO, 0},
        {1, 0, H5IMG_PNG_CHECK_CONCURRENT, 1},
        {2, 1, H5IMG_PNG_CHECK_CALLING_THREAD, 0},
        {1, 1, H5IMG_PNG_CHECK_AUTO, 0}, /* after threads did start: still none */
    };
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(h5img_decoder_set_threads(decoder, cases[i].threads), H5IMG_OK);
        h5img_png_force_check(decoder, cases[i].mode);
        unsigned long started = cases[i].large
                                    ? threads_started_by_decode(decoder, large, large_n, LARGE_WIDTH, LARGE_HEIGHT)
                                    : threads_started_by_decode(decoder, small, small_n, SMALL_SIDE, SMALL_SIDE);
        ck_assert_msg(started == cases[i].started, "case %zu: threads %u, %s image, mode %d: %lu started", i,
                      cases[i].threads, cases[i].large ? "large" : "small", (int)cases[i].mode, started);
        ck_assert_uint_eq(h5img_busy_threads(0), 0);
    }
    h5img_decoder_free(decoder);
    free(large);
    free(small);
}
END_TEST

/* With every usable CPU taken by decodes (stood for by the busy counter),
 * the automatic rule keeps the check on the calling thread; threads 2
 * still moves it. */
START_TEST(test_busy_cpus_keep_automatic_check_on_calling_thread)
{
    size_t n;
    uint8_t *png = mask_png(LARGE_WIDTH, LARGE_HEIGHT, &n);
    const unsigned cpus = usable_cpus();
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    ck_assert_uint_eq(h5img_busy_threads(0), 0);
    h5img_busy_threads((int)cpus - 1); /* this decode takes the last one */
    ck_assert_uint_eq(threads_started_by_decode(decoder, png, n, LARGE_WIDTH, LARGE_HEIGHT), 0);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 2), H5IMG_OK);
    ck_assert_uint_eq(threads_started_by_decode(decoder, png, n, LARGE_WIDTH, LARGE_HEIGHT), 1);
    h5img_busy_threads(1 - (int)cpus);
    ck_assert_uint_eq(h5img_busy_threads(0), 0);
    h5img_decoder_free(decoder);
    free(png);
}
END_TEST

/* When the second thread cannot start, the calling thread checks: the
 * fast path itself still decodes (libspng would hide it if it declined),
 * same pixels, nothing started, nothing left counted busy. */
START_TEST(test_thread_start_failure_checks_on_calling_thread)
{
    size_t n;
    uint8_t *png = mask_png(LARGE_WIDTH, LARGE_HEIGHT, &n);
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 2), H5IMG_OK);
    h5img_png_force_check(decoder, H5IMG_PNG_CHECK_FAIL_THREAD_START);
    h5img_layout l = {LARGE_HEIGHT, LARGE_WIDTH, 1, 1, H5IMG_RULE_MASK, 0};
    h5img_info info;
    ck_assert_int_eq(h5img_probe(png, n, &info), H5IMG_OK);
    uint8_t *out = malloc(h5img_layout_bytes(&l));
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(h5img_png_fast_decode(decoder, png, n, &info, &l, out), H5IMG_OK);
    free(out);
    ck_assert_uint_eq(threads_started_by_decode(decoder, png, n, LARGE_WIDTH, LARGE_HEIGHT), 0);
    ck_assert_uint_eq(h5img_busy_threads(0), 0);
    h5img_png_force_check(decoder, H5IMG_PNG_CHECK_AUTO);
    ck_assert_uint_eq(threads_started_by_decode(decoder, png, n, LARGE_WIDTH, LARGE_HEIGHT), 1);
    h5img_decoder_free(decoder);
    free(png);
}
END_TEST

/* Run as it is and again by CTest with H5IMG_THREADS=1 (and
 * CK_RUN_CASE=environment): the variable keeps automatic decoders' check on
 * the calling thread and leaves an explicit setting alone. */
START_TEST(test_environment_one_thread_applies_to_automatic_only)
{
    size_t n;
    uint8_t *png = mask_png(LARGE_WIDTH, LARGE_HEIGHT, &n);
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    const unsigned long automatic = usable_cpus() >= 2 && !environment_says_one_thread();
    ck_assert_msg(threads_started_by_decode(decoder, png, n, LARGE_WIDTH, LARGE_HEIGHT) == automatic,
                  "H5IMG_THREADS=%s, %u CPUs", getenv("H5IMG_THREADS") ? getenv("H5IMG_THREADS") : "(unset)",
                  usable_cpus());
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 2), H5IMG_OK);
    ck_assert_uint_eq(threads_started_by_decode(decoder, png, n, LARGE_WIDTH, LARGE_HEIGHT), 1);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 1), H5IMG_OK);
    ck_assert_uint_eq(threads_started_by_decode(decoder, png, n, LARGE_WIDTH, LARGE_HEIGHT), 0);
    h5img_decoder_free(decoder);
    free(png);
}
END_TEST

static Suite *png_fast_suite(void)
{
    Suite *s = suite_create("png_fast");
    TCase *tc = tcase_create("differential");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_unfilter_rows_match_png_spec_simd_and_portable);
    tcase_add_test(tc, test_libspng_16_to_8_is_high_byte);
    tcase_add_test(tc, test_layout_mismatch_is_unsupported);
    const int modes = (int)(sizeof differential_modes / sizeof differential_modes[0]);
    tcase_add_loop_test(tc, test_pngsuite_identical_to_libspng, 0, modes);
    tcase_add_loop_test(tc, test_png_crashers_never_accepted, 0, modes);
    tcase_add_loop_test(tc, test_generated_pngs_identical_to_libspng_and_accepted, 0, modes);
    tcase_add_loop_test(tc, test_mutated_pngs_never_accepted_when_libspng_rejects, 0, modes);
    suite_add_tcase(s, tc);
    TCase *concurrent = tcase_create("concurrent_check");
    tcase_add_checked_fixture(concurrent, setup, teardown);
    tcase_set_timeout(concurrent, 120);
    tcase_add_test(concurrent, test_streams_zlib_rejects_decline_identically_in_every_mode);
    tcase_add_test(concurrent, test_second_thread_counter_follows_the_thread_rules);
    tcase_add_test(concurrent, test_busy_cpus_keep_automatic_check_on_calling_thread);
    tcase_add_test(concurrent, test_thread_start_failure_checks_on_calling_thread);
    suite_add_tcase(s, concurrent);
    TCase *environment = tcase_create("environment");
    tcase_add_checked_fixture(environment, setup, teardown);
    tcase_add_test(environment, test_environment_one_thread_applies_to_automatic_only);
    suite_add_tcase(s, environment);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(png_fast_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
