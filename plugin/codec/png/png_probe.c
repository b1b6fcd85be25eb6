/* png_probe.c: PNG header parsing (signature, IHDR, chunks before IDAT) without decoding or allocating. */
#include "png_private.h"

#include <string.h>

#define PNG_IHDR_END 33 /* signature + IHDR length/type + 13 data bytes + CRC */

static int type_is(const uint8_t *type, const char *name)
{
    return memcmp(type, name, 4) == 0;
}

typedef void (*chunk_visitor)(void *state, const uint8_t *type, const uint8_t *body, uint32_t length);

/* Chunks between IHDR and the first IDAT, each checked to lie wholly
 * (CRC included) inside the buffer before it is looked at. */
static h5img_status walk_header_chunks(const uint8_t *data, size_t size, chunk_visitor visit, void *state)
{
    size_t pos = PNG_IHDR_END;
    for (;;) {
        if (size < pos || size - pos < 8) return H5IMG_E_TRUNCATED;
        uint32_t length = be32(data + pos);
        const uint8_t *type = data + pos + 4;
        if (length > PNG_U31_MAX) return H5IMG_E_CORRUPT;
        if (type_is(type, "IDAT")) return H5IMG_OK;
        if (type_is(type, "IEND")) return H5IMG_E_CORRUPT;
        if (size - pos - 8 < (size_t)length + 4) return H5IMG_E_TRUNCATED;
        if (visit) visit(state, type, data + pos + 8, length);
        pos += (size_t)length + 12;
    }
}

static int valid_depth(uint32_t color_type, uint32_t depth)
{
    switch (color_type) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2:
    case 4:
    case 6: return depth == 8 || depth == 16;
    default: return 0;
    }
}

static h5img_status parse_ihdr(const uint8_t *data, size_t size, h5img_info *info)
{
    static const uint8_t signature[PNG_SIGNATURE_BYTES] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size < PNG_SIGNATURE_BYTES || memcmp(data, signature, PNG_SIGNATURE_BYTES) != 0) return H5IMG_E_CORRUPT;
    if (size < PNG_IHDR_END) return H5IMG_E_TRUNCATED;
    const uint8_t *ihdr = data + 16;
    if (be32(data + 8) != 13 || !type_is(data + 12, "IHDR")) return H5IMG_E_CORRUPT;
    uint32_t width = be32(ihdr), height = be32(ihdr + 4);
    if (width == 0 || height == 0 || width > H5IMG_MAX_DIMENSION || height > H5IMG_MAX_DIMENSION)
        return H5IMG_E_CORRUPT;
    if (!valid_depth(ihdr[9], ihdr[8]) || ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] > 1) return H5IMG_E_CORRUPT;
    info->width = width;
    info->height = height;
    info->bit_depth = ihdr[8];
    info->color_type = ihdr[9];
    info->interlaced = ihdr[12];
    return H5IMG_OK;
}

typedef struct trns_state {
    uint32_t color_type;
    int found;
} trns_state;

/* libpng ignores a tRNS of the wrong size, so OpenCV then returns no alpha. */
static void find_trns(void *state, const uint8_t *type, const uint8_t *body, uint32_t length)
{
    trns_state *s = state;
    if (!type_is(type, "tRNS")) return;
    if (s->color_type == 2 && length == 6) s->found = 1;
    if (s->color_type == 3 && length >= 1 && length <= 256) s->found = 1;
}

/* IMREAD_UNCHANGED's channel count (OpenCV 4.6 PngDecoder::readHeader). */
static uint32_t opencv_channels(uint32_t color_type, int has_trns)
{
    switch (color_type) {
    case 2:
    case 3: return has_trns ? 4 : 3;
    case 4:
    case 6: return 4;
    default: return 1;
    }
}

h5img_status h5img_png_probe(const uint8_t *data, size_t size, h5img_info *info)
{
    if (!data || !info) return H5IMG_E_ARGUMENT;
    h5img_info parsed = *info;
    h5img_status status = parse_ihdr(data, size, &parsed);
    if (status != H5IMG_OK) return status;
    trns_state trns = {parsed.color_type, 0};
    status = walk_header_chunks(data, size, find_trns, &trns);
    if (status != H5IMG_OK) return status;
    parsed.codec = H5IMG_CODEC_PNG;
    parsed.channels = opencv_channels(parsed.color_type, trns.found);
    parsed.element_size = parsed.bit_depth == 16 ? 2 : 1;
    *info = parsed;
    return H5IMG_OK;
}

/* ---- colour-space facts for the LUMA rule (libpng 1.6 png_colorspace_* rules) ---- */

#define PNG_GAMMA_sRGB 45455u

typedef struct colorspace_state {
    const h5img_info *info;
    h5img_png_colorspace *out;
    int seen_plte, invalid, from_gama, from_srgb;
} colorspace_state;

static int gamma_significant(double ratio)
{
    return ratio < 95000.0 || ratio > 105000.0;
}

static void take_gama(colorspace_state *s, uint32_t gamma)
{
    if (gamma < 16 || gamma > 625000000u || s->from_gama) {
        s->invalid = 1;
        return;
    }
    if (s->invalid) return;
    /* A gAMA that disagrees with an earlier sRGB is reported and dropped. */
    if (s->from_srgb && gamma_significant((double)s->out->gamma * 100000.0 / gamma)) return;
    s->out->gamma = gamma;
    s->from_gama = 1;
}

static void take_srgb(colorspace_state *s, uint8_t intent)
{
    if (intent > 3 || s->from_srgb) {
        s->invalid = 1;
        return;
    }
    if (s->invalid) return;
    s->out->gamma = PNG_GAMMA_sRGB;
    s->from_srgb = 1;
}

/* png_handle_sBIT: every entry must be 1..sample depth, else all ignored. */
static void take_sbit(colorspace_state *s, const uint8_t *body, uint32_t length)
{
    uint32_t ct = s->info->color_type;
    uint32_t expected = ct == 3 ? 3 : ct == 2 ? 3 : ct == 6 ? 4 : ct == 4 ? 2 : 1;
    uint32_t depth = ct == 3 ? 8 : s->info->bit_depth;
    if (length != expected) return;
    for (uint32_t i = 0; i < length; i++)
        if (body[i] == 0 || body[i] > depth) return;
    if (!(ct & 2)) return;
    uint32_t sig = body[0];
    if (body[1] > sig) sig = body[1];
    if (body[2] > sig) sig = body[2];
    s->out->sig_bit = sig;
}

/* libpng ignores gAMA, sRGB and sBIT once PLTE has been seen. */
static void visit_colorspace(void *state, const uint8_t *type, const uint8_t *body, uint32_t length)
{
    colorspace_state *s = state;
    if (type_is(type, "PLTE")) s->seen_plte = 1;
    if (s->seen_plte) return;
    if (type_is(type, "gAMA") && length == 4) take_gama(s, be32(body));
    if (type_is(type, "sRGB") && length == 1) take_srgb(s, body[0]);
    if (type_is(type, "sBIT")) take_sbit(s, body, length);
}

void h5img_png_scan_colorspace(const uint8_t *data, size_t size, const h5img_info *info,
                               h5img_png_colorspace *colorspace)
{
    colorspace_state state = {info, colorspace, 0, 0, 0, 0};
    memset(colorspace, 0, sizeof *colorspace);
    (void)walk_header_chunks(data, size, visit_colorspace, &state);
}

/* libspng stops at the IEND type without reading its CRC, but OpenCV's
 * png_read_end needs the whole chunk: walk to IEND and check it is there. */
h5img_status h5img_png_check_iend(const uint8_t *data, size_t size)
{
    size_t pos = PNG_SIGNATURE_BYTES;
    while (size >= pos && size - pos >= 8) {
        uint32_t length = be32(data + pos);
        if (length > PNG_U31_MAX) return H5IMG_E_CORRUPT;
        if (type_is(data + pos + 4, "IEND")) {
            if (length != 0) return H5IMG_E_CORRUPT;
            if (size - pos < 12) return H5IMG_E_TRUNCATED;
            return be32(data + pos + 8) == 0xae426082u ? H5IMG_OK : H5IMG_E_CORRUPT;
        }
        if (size - pos - 8 < (size_t)length + 4) return H5IMG_E_TRUNCATED;
        pos += (size_t)length + 12;
    }
    return H5IMG_E_TRUNCATED;
}
