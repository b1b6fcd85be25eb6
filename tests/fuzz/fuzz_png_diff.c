/* fuzz_png_diff.c: differential libFuzzer harness: the libdeflate PNG fast path (and the full decoder) against plain libspng. */
/*
 * The input is one PNG file, used as is. Its layout comes from h5img_probe;
 * then, for every rule and flag combination (NATIVE with and without BGR and
 * big-endian, COLOR with and without BGR, MASK, LUMA), the bytes go through
 * h5img_png_fast_decode. The reference is libspng called directly by this
 * harness (CRC errors fatal, chunks after the image read up to IEND, as
 * OpenCV's png_read_end does, and the IDAT data one complete zlib stream
 * with a valid Adler-32 by zlib's own rules, as libpng requires), with each rule applied here from its
 * definition in h5img.h, independently of plugin/png_convert.c. Guards:
 *   - the fast path returns only H5IMG_OK or H5IMG_E_UNSUPPORTED;
 *   - fast OK while libspng or zlib fails              -> trap;
 *   - fast OK with pixels different from the reference -> trap;
 *   - fast OK on a case this reference cannot express (LUMA of colour,
 *     NATIVE of RGB with tRNS: both documented as declined) -> trap;
 *   - fast OK with SIMD unfiltering and with forced-portable unfiltering
 *     give the same bytes;
 *   - the full decoder (h5img_decoder_decode: fast path, then libspng plus
 *     row conversion) returning OK while libspng or zlib fails, or with pixels
 *     different from the reference where there is one -> trap.
 */
#include "codec/codec.h"
#include "codec/png/png_unfilter.h"

#include <spng.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FUZZ_MAX_PIXELS 262144u         /* 512 x 512 */
#define FUZZ_MAX_CHUNK_BYTES (4u << 20) /* 4 MiB */

static h5img_decoder *fast_decoder, *full_decoder;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char text[32];
    snprintf(text, sizeof text, "%u", FUZZ_MAX_PIXELS);
    setenv("H5IMG_MAX_PIXELS", text, 1);
    snprintf(text, sizeof text, "%u", FUZZ_MAX_CHUNK_BYTES);
    setenv("H5IMG_MAX_CHUNK_BYTES", text, 1);
    if (h5img_max_pixels() != FUZZ_MAX_PIXELS || h5img_max_chunk_bytes() != FUZZ_MAX_CHUNK_BYTES) abort();
    fast_decoder = h5img_decoder_new();
    full_decoder = h5img_decoder_new();
    if (!fast_decoder || !full_decoder) abort();
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reference: libspng decodes, this harness applies the rule                */
/* ------------------------------------------------------------------------ */

/* OpenCV's libpng inflates with zlib, reads the stream to its end after the
 * last row ("Not enough image data" otherwise) and checks its Adler-32: the
 * IDAT data, concatenated, must be one complete stream that zlib accepts.
 * libspng stops once it has the rows, and libdeflate (the fast path's
 * inflater) is more lenient than zlib, so this is checked here, with zlib. */
static int zlib_stream_complete(const uint8_t *data, size_t size)
{
    static uint8_t joined[FUZZ_MAX_CHUNK_BYTES], sink[1u << 16];
    size_t pos = 8, n = 0;
    while (pos + 12 <= size) {
        uint32_t len = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 | (uint32_t)data[pos + 2] << 8 |
                       data[pos + 3];
        if (len > size - pos - 12) break;
        if (memcmp(data + pos + 4, "IDAT", 4) == 0) {
            memcpy(joined + n, data + pos + 8, len);
            n += len;
        }
        pos += (size_t)len + 12;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) abort();
    z.next_in = joined;
    z.avail_in = (uInt)n;
    int r;
    do {
        z.next_out = sink;
        z.avail_out = sizeof sink;
        r = inflate(&z, Z_NO_FLUSH);
    } while (r == Z_OK && (z.avail_in > 0 || z.avail_out == 0));
    inflateEnd(&z);
    return r == Z_STREAM_END;
}

typedef struct reference {
    int ok;             /* libspng decoded image and trailing chunks */
    int zlib_ok;        /* and the IDAT data is one complete zlib stream (libpng's rule) */
    unsigned channels;  /* samples per pixel in `samples`: 1 G, 2 GA, 3 RGB, 4 RGBA */
    unsigned depth;     /* 8 or 16 */
    int rgb_trns;       /* RGB image with a tRNS chunk (NATIVE would be RGBA) */
    uint32_t width, height;
    uint16_t *samples;  /* width * height * channels values */
} reference;

static void reference_decode(const uint8_t *data, size_t size, reference *ref)
{
    memset(ref, 0, sizeof *ref);
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) return;
    struct spng_ihdr ihdr;
    uint8_t *raw = NULL;
    size_t raw_size = 0;
    int fmt = 0, flags = 0;
    if (spng_set_png_buffer(ctx, data, size) || spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR) ||
        spng_get_ihdr(ctx, &ihdr))
        goto done;
    if ((uint64_t)ihdr.width * ihdr.height > FUZZ_MAX_PIXELS) goto done;
    switch (ihdr.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
        fmt = ihdr.bit_depth == 16 ? SPNG_FMT_PNG : SPNG_FMT_G8; /* G8 scales 1/2/4-bit gray to 8 bits */
        ref->channels = 1;
        break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA: fmt = SPNG_FMT_PNG; ref->channels = 2; break;
    case SPNG_COLOR_TYPE_TRUECOLOR: fmt = SPNG_FMT_PNG; ref->channels = 3; break;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA: fmt = SPNG_FMT_PNG; ref->channels = 4; break;
    case SPNG_COLOR_TYPE_INDEXED: fmt = SPNG_FMT_RGBA8; flags = SPNG_DECODE_TRNS; ref->channels = 4; break;
    default: goto done;
    }
    ref->depth = ihdr.bit_depth == 16 ? 16 : 8;
    if (spng_decoded_image_size(ctx, fmt, &raw_size)) goto done;
    raw = malloc(raw_size ? raw_size : 1);
    if (!raw) goto done;
    if (spng_decode_image(ctx, raw, raw_size, fmt, flags)) goto done;
    if (spng_decode_chunks(ctx)) goto done; /* up to IEND, CRCs checked */
    ref->zlib_ok = zlib_stream_complete(data, size);
    struct spng_trns trns;
    ref->rgb_trns = ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR && spng_get_trns(ctx, &trns) == 0;
    ref->width = ihdr.width;
    ref->height = ihdr.height;
    size_t count = (size_t)ihdr.width * ihdr.height * ref->channels;
    if (count * (ref->depth / 8) != raw_size) goto done; /* libspng sized it otherwise: no reference */
    ref->samples = malloc(count * sizeof *ref->samples);
    if (!ref->samples) goto done;
    for (size_t i = 0; i < count; i++) {
        if (ref->depth == 16) {
            uint16_t v;
            memcpy(&v, raw + 2 * i, 2); /* host order */
            ref->samples[i] = v;
        } else {
            ref->samples[i] = raw[i];
        }
    }
    ref->ok = 1;
done:
    free(raw);
    spng_ctx_free(ctx);
}

static uint8_t to8(const reference *ref, uint16_t v)
{
    return ref->depth == 16 ? (uint8_t)(v >> 8) : (uint8_t)v; /* 16-bit reduced to its high byte */
}

static void put_sample(uint8_t **o, const reference *ref, uint16_t v, unsigned es, uint32_t flags)
{
    if (es == 1) {
        *(*o)++ = to8(ref, v);
    } else if (flags & H5IMG_FLAG_BIG_ENDIAN) {
        *(*o)++ = (uint8_t)(v >> 8);
        *(*o)++ = (uint8_t)v;
    } else {
        memcpy(*o, &v, 2);
        *o += 2;
    }
}

/* The rule applied to the reference, into `out` (layout bytes). Returns 0
 * when the harness has no reference for this case. A palette image is
 * decoded as RGBA8; its NATIVE output is RGB unless it has tRNS. */
static int reference_apply(const reference *ref, const h5img_info *info, const h5img_layout *layout, uint8_t *out)
{
    const int bgr = (layout->flags & H5IMG_FLAG_BGR) != 0;
    const int palette = info->color_type == 3;
    const size_t pixels = (size_t)ref->width * ref->height;
    uint8_t *o = out;
    for (size_t p = 0; p < pixels; p++) {
        const uint16_t *s = ref->samples + p * ref->channels;
        uint16_t r, g, b, a;
        int gray = ref->channels <= 2;
        if (gray) {
            r = g = b = s[0];
            a = ref->channels == 2 ? s[1] : 0;
        } else {
            r = s[0];
            g = s[1];
            b = s[2];
            a = ref->channels == 4 ? s[3] : 0;
        }
        switch (layout->rule) {
        case H5IMG_RULE_NATIVE: {
            unsigned es = layout->element_size;
            if (ref->rgb_trns) return 0; /* alpha from the key colour: not modelled here */
            if (layout->channels != info->channels || es != info->element_size) return 0;
            if (ref->channels == 1) {
                if (layout->channels != 1) return 0;
                put_sample(&o, ref, s[0], es, layout->flags);
                break;
            }
            /* GA becomes G,G,G,A; palette keeps alpha only when it has tRNS */
            if (layout->channels == 1) return 0;
            put_sample(&o, ref, bgr ? b : r, es, layout->flags);
            put_sample(&o, ref, g, es, layout->flags);
            put_sample(&o, ref, bgr ? r : b, es, layout->flags);
            if (layout->channels == 4) {
                if (ref->channels != 2 && ref->channels != 4) return 0;
                put_sample(&o, ref, a, es, layout->flags);
            } else if (!palette && ref->channels != 3) {
                return 0;
            }
            break;
        }
        case H5IMG_RULE_COLOR:
            *o++ = to8(ref, bgr ? b : r);
            *o++ = to8(ref, g);
            *o++ = to8(ref, bgr ? r : b);
            break;
        case H5IMG_RULE_MASK: {
            uint8_t m = to8(ref, r);
            if (to8(ref, g) > m) m = to8(ref, g);
            if (to8(ref, b) > m) m = to8(ref, b);
            *o++ = m;
            break;
        }
        case H5IMG_RULE_LUMA:
            if (!gray) return 0; /* libpng rgb_to_gray with gamma: not modelled here */
            *o++ = to8(ref, s[0]);
            break;
        default: return 0;
        }
    }
    return (size_t)(o - out) == h5img_layout_bytes(layout);
}

/* ------------------------------------------------------------------------ */

static const struct {
    h5img_rule rule;
    uint32_t flags;
} variants[] = {
    {H5IMG_RULE_NATIVE, 0},
    {H5IMG_RULE_NATIVE, H5IMG_FLAG_BGR},
    {H5IMG_RULE_NATIVE, H5IMG_FLAG_BIG_ENDIAN},
    {H5IMG_RULE_NATIVE, H5IMG_FLAG_BGR | H5IMG_FLAG_BIG_ENDIAN},
    {H5IMG_RULE_COLOR, 0},
    {H5IMG_RULE_COLOR, H5IMG_FLAG_BGR},
    {H5IMG_RULE_MASK, 0},
    {H5IMG_RULE_LUMA, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h5img_info info;
    if (size == 0 || size > FUZZ_MAX_CHUNK_BYTES) return 0;
    uint8_t *png = malloc(size); /* exact size: over-reads show */
    if (!png) return 0;
    memcpy(png, data, size);
    if (h5img_probe(png, size, &info) != H5IMG_OK || info.codec != H5IMG_CODEC_PNG ||
        (uint64_t)info.width * info.height > FUZZ_MAX_PIXELS) {
        free(png);
        return 0;
    }

    reference ref;
    int have_ref = 0;
    uint8_t *fast = NULL, *full = NULL, *expect = NULL, *portable = NULL;
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        h5img_layout layout = {.height = info.height, .width = info.width, .rule = variants[v].rule,
                               .flags = variants[v].flags};
        if (layout.rule == H5IMG_RULE_NATIVE) {
            layout.channels = info.channels;
            layout.element_size = info.element_size;
            if (layout.element_size == 1 && (layout.flags & H5IMG_FLAG_BIG_ENDIAN)) continue;
        } else {
            layout.channels = layout.rule == H5IMG_RULE_COLOR ? 3 : 1;
            layout.element_size = 1;
        }
        if (h5img_layout_check(&layout) != H5IMG_OK) continue;
        size_t bytes = h5img_layout_bytes(&layout);
        free(fast);
        free(full);
        free(expect);
        free(portable);
        fast = malloc(bytes);
        full = malloc(bytes);
        expect = malloc(bytes);
        portable = malloc(bytes);
        if (!fast || !full || !expect || !portable) break;

        if (!have_ref) {
            reference_decode(png, size, &ref);
            have_ref = 1;
        }
        int expressible = ref.ok && reference_apply(&ref, &info, &layout, expect);

        memset(fast, 0xa5, bytes);
        h5img_status fs = h5img_png_fast_decode(fast_decoder, png, size, &info, &layout, fast);
        if (fs != H5IMG_OK && fs != H5IMG_E_UNSUPPORTED) __builtin_trap(); /* contract: OK or UNSUPPORTED */
        if (fs == H5IMG_OK) {
            if (!ref.ok || !ref.zlib_ok) __builtin_trap();        /* accepted what libspng/libpng reject */
            if (!expressible) __builtin_trap();                   /* accepted a case it must decline */
            if (memcmp(fast, expect, bytes) != 0) __builtin_trap(); /* wrong pixels */
            if (h5img_png_unfilter_simd_active()) {
                h5img_png_unfilter_force_portable(1);
                memset(portable, 0x5a, bytes);
                h5img_status ps = h5img_png_fast_decode(fast_decoder, png, size, &info, &layout, portable);
                h5img_png_unfilter_force_portable(0);
                if (ps != H5IMG_OK || memcmp(portable, fast, bytes) != 0) __builtin_trap(); /* SIMD != portable */
            }
        }

        memset(full, 0x3c, bytes);
        h5img_status ds = h5img_decoder_decode(full_decoder, png, size, &layout, full, bytes);
        if (ds == H5IMG_OK) {
            if (!ref.ok) __builtin_trap();                                  /* decoder accepted a bad PNG */
            if (!ref.zlib_ok) __builtin_trap();                             /* ... whose zlib stream is broken */
            if (expressible && memcmp(full, expect, bytes) != 0) __builtin_trap(); /* decoder pixels differ */
        } else if (fs == H5IMG_OK) {
            __builtin_trap(); /* fast path decoded what the decoder as a whole refuses */
        }
    }
    if (have_ref) free(ref.samples);
    free(fast);
    free(full);
    free(expect);
    free(portable);
    free(png);
    return 0;
}

#ifdef H5IMG_LIBFUZZER
#include "png_mutate.h"

/* PNG-aware mutation: CRCs repaired, image data mutated below the zlib layer. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return pm_mutate(data, size, max_size, seed);
}
#endif
