/* png_convert.c: turns one libspng-decoded PNG row into the layout's rule, channel order and byte order. */
#include "png_private.h"

#include <string.h>

static unsigned sample(const h5img_png_rows *rows, const uint8_t *src, size_t i)
{
    if (rows->depth == 8) return src[i];
    uint16_t v;
    memcpy(&v, src + 2 * i, 2);
    return v;
}

/* One pixel as R, G, B, A at the decoded depth; gray is replicated the way
 * png_set_gray_to_rgb does, and alpha is the maximum when there is none. */
static void load_pixel(const h5img_png_rows *rows, const uint8_t *src, uint32_t x, unsigned px[4])
{
    size_t i = (size_t)x * rows->channels;
    unsigned max = rows->depth == 8 ? 0xffu : 0xffffu;
    if (rows->channels <= 2) {
        px[0] = px[1] = px[2] = sample(rows, src, i);
        px[3] = rows->channels == 2 ? sample(rows, src, i + 1) : max;
        return;
    }
    px[0] = sample(rows, src, i);
    px[1] = sample(rows, src, i + 1);
    px[2] = sample(rows, src, i + 2);
    px[3] = rows->channels == 4 ? sample(rows, src, i + 3) : max;
    if (rows->trns && px[0] == rows->trns_rgb[0] && px[1] == rows->trns_rgb[1] && px[2] == rows->trns_rgb[2])
        px[3] = 0;
}

static void store(const h5img_layout *layout, uint8_t *dst, size_t i, unsigned v)
{
    if (layout->element_size == 1) {
        dst[i] = (uint8_t)v;
        return;
    }
    if (layout->flags & H5IMG_FLAG_BIG_ENDIAN) {
        dst[2 * i] = (uint8_t)(v >> 8);
        dst[2 * i + 1] = (uint8_t)v;
        return;
    }
    uint16_t h = (uint16_t)v;
    memcpy(dst + 2 * i, &h, 2);
}

/* IMREAD_UNCHANGED: gray stays one channel, everything else is RGB(A). */
static void native_row(const h5img_png_rows *rows, const uint8_t *src, uint8_t *dst)
{
    const h5img_layout *layout = rows->layout;
    unsigned n = layout->channels, px[4];
    int bgr = (layout->flags & H5IMG_FLAG_BGR) != 0;
    for (uint32_t x = 0; x < rows->width; x++) {
        size_t o = (size_t)x * n;
        load_pixel(rows, src, x, px);
        if (n == 1) {
            store(layout, dst, o, px[0]);
            continue;
        }
        store(layout, dst, o, px[bgr ? 2 : 0]);
        store(layout, dst, o + 1, px[1]);
        store(layout, dst, o + 2, px[bgr ? 0 : 2]);
        if (n == 4) store(layout, dst, o + 3, px[3]);
    }
}

/* IMREAD_COLOR keeps the high byte of 16-bit samples (png_set_strip_16). */
static unsigned high_byte(const h5img_png_rows *rows, unsigned v)
{
    return rows->depth == 16 ? v >> 8 : v;
}

static void color_row(const h5img_png_rows *rows, const uint8_t *src, uint8_t *dst)
{
    int bgr = (rows->layout->flags & H5IMG_FLAG_BGR) != 0;
    unsigned px[4];
    for (uint32_t x = 0; x < rows->width; x++, dst += 3) {
        load_pixel(rows, src, x, px);
        dst[0] = (uint8_t)high_byte(rows, px[bgr ? 2 : 0]);
        dst[1] = (uint8_t)high_byte(rows, px[1]);
        dst[2] = (uint8_t)high_byte(rows, px[bgr ? 0 : 2]);
    }
}

static void mask_row(const h5img_png_rows *rows, const uint8_t *src, uint8_t *dst)
{
    unsigned px[4];
    for (uint32_t x = 0; x < rows->width; x++) {
        load_pixel(rows, src, x, px);
        unsigned m = px[0] > px[1] ? px[0] : px[1];
        dst[x] = (uint8_t)high_byte(rows, m > px[2] ? m : px[2]);
    }
}

/* Gray inputs pass through rgb_to_gray untouched; colour ones are mixed
 * at their own depth before the strip to 8 bits. */
static void luma_row(const h5img_png_rows *rows, const uint8_t *src, uint8_t *dst)
{
    unsigned px[4];
    for (uint32_t x = 0; x < rows->width; x++) {
        load_pixel(rows, src, x, px);
        if (rows->channels <= 2)
            dst[x] = (uint8_t)high_byte(rows, px[0]);
        else if (rows->depth == 16)
            dst[x] = h5img_png_luma16(rows->luma, px[0], px[1], px[2]);
        else
            dst[x] = h5img_png_luma8(rows->luma, px[0], px[1], px[2]);
    }
}

void h5img_png_convert_row(const h5img_png_rows *rows, const uint8_t *src, uint8_t *dst)
{
    switch (rows->layout->rule) {
    case H5IMG_RULE_NATIVE: native_row(rows, src, dst); break;
    case H5IMG_RULE_COLOR: color_row(rows, src, dst); break;
    case H5IMG_RULE_MASK: mask_row(rows, src, dst); break;
    default: luma_row(rows, src, dst); break;
    }
}
