/* png_decode.c: PNG decoding with libspng (the authority on errors) into the layout's rule, after the fast path declines. */
#include "png_private.h"

#include <spng.h>
#include <string.h>

/* How libspng should hand the pixels over, and whether that already is the
 * final output (then it decodes straight into `out`). */
typedef struct png_plan {
    int fmt;
    int flags;
    int direct;
    h5img_png_rows rows;
} png_plan;

static h5img_status map_spng_error(int err)
{
    switch (err) {
    case SPNG_EMEM: return H5IMG_E_NOMEM;
    case SPNG_IO_EOF:
    case SPNG_EOF:
    case SPNG_EIDAT_TOO_SHORT: return H5IMG_E_TRUNCATED;
    case SPNG_ECHUNK_LIMITS:
    case SPNG_EUSER_WIDTH:
    case SPNG_EUSER_HEIGHT: return H5IMG_E_LIMIT;
    case SPNG_EINVAL:
    case SPNG_EFMT:
    case SPNG_EFLAGS:
    case SPNG_EBUFSIZ:
    case SPNG_EBADSTATE:
    case SPNG_EINTERNAL: return H5IMG_E_UNSUPPORTED;
    default: return H5IMG_E_CORRUPT;
    }
}

static h5img_status spng_failure(h5img_decoder *d, int err, const char *step)
{
    return h5img_fail(d, map_spng_error(err), "PNG %s: %s", step, spng_strerror(err));
}

static unsigned source_channels(uint32_t color_type)
{
    switch (color_type) {
    case 0: return 1;
    case 4: return 2;
    case 2: return 3;
    default: return 4;
    }
}

/* Palette and sub-8-bit gray come expanded (1->255, x*85, x*17: the
 * scaling of png_set_expand_gray_1_2_4_to_8); the rest exactly as stored. */
static void choose_source(const h5img_info *info, const h5img_layout *layout, png_plan *plan)
{
    int palette_alpha = info->color_type == 3 && layout->rule == H5IMG_RULE_NATIVE && info->channels == 4;
    plan->rows.depth = info->bit_depth == 16 ? 16 : 8;
    plan->flags = 0;
    if (info->color_type == 3) {
        plan->fmt = palette_alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
        plan->flags = palette_alpha ? SPNG_DECODE_TRNS : 0;
        plan->rows.channels = palette_alpha ? 4 : 3;
    } else if (info->color_type == 0 && info->bit_depth <= 8) {
        plan->fmt = SPNG_FMT_G8;
        plan->rows.channels = 1;
    } else {
        plan->fmt = SPNG_FMT_PNG;
        plan->rows.channels = source_channels(info->color_type);
    }
}

/* Whether libspng's output already is the rule's output. 8-bit gray into a
 * one-channel rule is the grayscale fast path: no expansion, no copy. */
static int output_is_source(const h5img_info *info, const h5img_layout *layout, png_plan *plan)
{
    uint32_t ct = info->color_type;
    int gray8 = ct == 0 && info->bit_depth <= 8;
    if (gray8) return layout->channels == 1;
    if ((layout->flags & H5IMG_FLAG_BGR) && layout->channels >= 3) return 0;
    if (layout->rule == H5IMG_RULE_COLOR) return ct == 3 || (ct == 2 && info->bit_depth == 8);
    if (layout->rule != H5IMG_RULE_NATIVE || ct == 4 || (ct == 2 && info->channels == 4)) return 0;
    if (info->bit_depth == 16 && (layout->flags & H5IMG_FLAG_BIG_ENDIAN)) plan->fmt = SPNG_FMT_RAW;
    return 1;
}

static h5img_status open_context(h5img_decoder *d, const uint8_t *data, size_t size, const h5img_info *info,
                                 spng_ctx **out_ctx)
{
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) return h5img_fail(d, H5IMG_E_NOMEM, "PNG: cannot create a libspng context");
    /* Metadata may not take more memory than a whole chunk may. */
    size_t limit = h5img_max_chunk_bytes();
    size_t chunk_limit = limit < 0x7fffffffu ? limit : 0x7fffffffu;
    int err = spng_set_png_buffer(ctx, data, size);
    if (!err) err = spng_set_image_limits(ctx, info->width, info->height);
    if (!err) err = spng_set_chunk_limits(ctx, chunk_limit, limit);
    if (!err) err = spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR);
    if (err) {
        spng_ctx_free(ctx);
        return spng_failure(d, err, "setup");
    }
    *out_ctx = ctx;
    return H5IMG_OK;
}

static h5img_status check_size(h5img_decoder *d, spng_ctx *ctx, const png_plan *plan, size_t expected)
{
    size_t bytes = 0;
    int err = spng_decoded_image_size(ctx, plan->fmt, &bytes);
    if (err) return spng_failure(d, err, "header");
    if (bytes != expected)
        return h5img_fail(d, H5IMG_E_CORRUPT, "PNG decodes to %zu bytes where %zu were expected", bytes, expected);
    return H5IMG_OK;
}

static h5img_status decode_direct(h5img_decoder *d, spng_ctx *ctx, const png_plan *plan,
                                  const h5img_layout *layout, uint8_t *out)
{
    size_t bytes = h5img_layout_bytes(layout);
    h5img_status status = check_size(d, ctx, plan, bytes);
    if (status != H5IMG_OK) return status;
    int err = spng_decode_image(ctx, out, bytes, plan->fmt, plan->flags);
    return err ? spng_failure(d, err, "image data") : H5IMG_OK;
}

/* NATIVE of RGB with tRNS: libpng compares 8-bit samples with the low byte
 * of the key only. */
static void take_trns_key(spng_ctx *ctx, const h5img_info *info, const h5img_layout *layout, png_plan *plan)
{
    struct spng_trns trns;
    if (layout->rule != H5IMG_RULE_NATIVE || info->color_type != 2 || info->channels != 4) return;
    if (spng_get_trns(ctx, &trns)) return;
    uint16_t mask = info->bit_depth == 16 ? 0xffffu : 0xffu;
    plan->rows.trns = 1;
    plan->rows.trns_rgb[0] = trns.red & mask;
    plan->rows.trns_rgb[1] = trns.green & mask;
    plan->rows.trns_rgb[2] = trns.blue & mask;
}

/* Adam7 rows arrive pass by pass, so the whole image is decoded first. */
static h5img_status decode_whole(h5img_decoder *d, spng_ctx *ctx, png_plan *plan, size_t row_bytes,
                                 const h5img_info *info, const h5img_layout *layout, uint8_t *out)
{
    size_t bytes, stride = h5img_layout_bytes(layout) / layout->height;
    if (!h5img_mul_size(&bytes, row_bytes, layout->height, 1, 1) || bytes > h5img_max_chunk_bytes())
        return h5img_fail(d, H5IMG_E_LIMIT, "interlaced %ux%u PNG needs %zu-byte rows for a whole-image buffer, over the %zu-byte limit",
                          info->width, info->height, row_bytes, h5img_max_chunk_bytes());
    uint8_t *buf = h5img_scratch(d, bytes);
    if (!buf) return h5img_fail(d, H5IMG_E_NOMEM, "PNG: no memory for a %zu-byte decode buffer", bytes);
    int err = spng_decode_image(ctx, buf, bytes, plan->fmt, plan->flags);
    if (err) return spng_failure(d, err, "image data");
    take_trns_key(ctx, info, layout, plan);
    for (uint32_t y = 0; y < layout->height; y++)
        h5img_png_convert_row(&plan->rows, buf + (size_t)y * row_bytes, out + (size_t)y * stride);
    return H5IMG_OK;
}

static h5img_status decode_rows(h5img_decoder *d, spng_ctx *ctx, png_plan *plan, size_t row_bytes,
                                const h5img_info *info, const h5img_layout *layout, uint8_t *out)
{
    size_t stride = h5img_layout_bytes(layout) / layout->height;
    uint8_t *row = h5img_scratch(d, row_bytes);
    if (!row) return h5img_fail(d, H5IMG_E_NOMEM, "PNG: no memory for a %zu-byte row", row_bytes);
    int err = spng_decode_image(ctx, NULL, 0, plan->fmt, plan->flags | SPNG_DECODE_PROGRESSIVE);
    if (err) return spng_failure(d, err, "image data");
    take_trns_key(ctx, info, layout, plan);
    struct spng_row_info ri;
    do {
        err = spng_get_row_info(ctx, &ri);
        if (err) break;
        err = spng_decode_row(ctx, row, row_bytes);
        if ((err == 0 || err == SPNG_EOI) && ri.row_num < layout->height)
            h5img_png_convert_row(&plan->rows, row, out + (size_t)ri.row_num * stride);
    } while (!err);
    return err == SPNG_EOI ? H5IMG_OK : spng_failure(d, err, "image data");
}

static h5img_status decode_converted(h5img_decoder *d, spng_ctx *ctx, png_plan *plan, const h5img_info *info,
                                     const h5img_layout *layout, uint8_t *out)
{
    size_t row_bytes;
    if (!h5img_mul_size(&row_bytes, info->width, plan->rows.channels, plan->rows.depth / 8, 1))
        return h5img_fail(d, H5IMG_E_LIMIT, "PNG row of %u pixels is too large", info->width);
    size_t image_bytes;
    if (!h5img_mul_size(&image_bytes, row_bytes, info->height, 1, 1))
        return h5img_fail(d, H5IMG_E_LIMIT, "PNG of %ux%u pixels is too large", info->width, info->height);
    h5img_status status = check_size(d, ctx, plan, image_bytes);
    if (status != H5IMG_OK) return status;
    plan->rows.layout = layout;
    plan->rows.width = info->width;
    return info->interlaced ? decode_whole(d, ctx, plan, row_bytes, info, layout, out)
                            : decode_rows(d, ctx, plan, row_bytes, info, layout, out);
}

/* OpenCV calls png_read_end: chunks after the image up to IEND must be
 * complete and pass their CRC. */
static h5img_status read_to_iend(h5img_decoder *d, spng_ctx *ctx, const uint8_t *data, size_t size)
{
    int err = spng_decode_chunks(ctx);
    if (err) return spng_failure(d, err, "chunks after the image");
    h5img_status status = h5img_png_check_iend(data, size);
    if (status != H5IMG_OK)
        return h5img_fail(d, status, "PNG of %zu bytes has %s IEND chunk", size,
                          status == H5IMG_E_TRUNCATED ? "an incomplete" : "a corrupt");
    return H5IMG_OK;
}

static h5img_status decode_with_spng(h5img_decoder *d, const uint8_t *data, size_t size, const h5img_info *info,
                                     const h5img_layout *layout, const h5img_png_luma *luma, uint8_t *out)
{
    png_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.rows.luma = luma;
    choose_source(info, layout, &plan);
    plan.direct = output_is_source(info, layout, &plan);
    spng_ctx *ctx = NULL;
    h5img_status status = open_context(d, data, size, info, &ctx);
    if (status != H5IMG_OK) return status;
    status = plan.direct ? decode_direct(d, ctx, &plan, layout, out) : decode_converted(d, ctx, &plan, info, layout, out);
    if (status == H5IMG_OK) status = read_to_iend(d, ctx, data, size);
    if (status == H5IMG_OK) status = h5img_png_check_idat_stream(d, data, size);
    spng_ctx_free(ctx);
    return status;
}

h5img_status h5img_png_decode(h5img_decoder *decoder, const uint8_t *data, size_t size, const h5img_info *info,
                              const h5img_layout *layout, uint8_t *out)
{
    if (h5img_png_fast_decode(decoder, data, size, info, layout, out) == H5IMG_OK) return H5IMG_OK;
    /* Whatever the fast path disliked, libspng has the last word. */
    decoder->message[0] = '\0';
    if (layout->rule != H5IMG_RULE_LUMA || !(info->color_type & 2))
        return decode_with_spng(decoder, data, size, info, layout, NULL, out);
    h5img_png_colorspace colorspace;
    h5img_png_luma luma;
    h5img_png_scan_colorspace(data, size, info, &colorspace);
    h5img_png_luma_init(&luma, &colorspace, info->bit_depth);
    return decode_with_spng(decoder, data, size, info, layout, &luma, out);
}
