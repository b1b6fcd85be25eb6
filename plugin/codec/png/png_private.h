/* png_private.h: helpers shared by the PNG probe, decoder, row conversion and LUMA emulation (not installed). */
#ifndef H5IMG_PNG_PRIVATE_H
#define H5IMG_PNG_PRIVATE_H

#include "codec/codec.h"

#define PNG_SIGNATURE_BYTES 8
#define PNG_U31_MAX 0x7fffffffu /* PNG limits lengths, sizes and gAMA values to 2^31 - 1 */

/* A PNG's big-endian 32-bit field (chunk lengths, IHDR sizes, CRCs). */
static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What libpng 1.6 would make of the colour-space chunks before the first
 * IDAT: only these decide whether OpenCV's rgb_to_gray uses gamma tables. */
typedef struct h5img_png_colorspace {
    uint32_t gamma;   /* file gamma x 100000 after libpng's gAMA/sRGB rules; 0 = none */
    uint32_t sig_bit; /* largest valid sBIT entry of a colour image; 0 = none */
} h5img_png_colorspace;

/* Walks the chunks before the first IDAT of an already probed PNG. */
void h5img_png_scan_colorspace(const uint8_t *data, size_t size, const h5img_info *info,
                               h5img_png_colorspace *colorspace);

/* H5IMG_OK when the first IEND chunk is complete with its CRC. */
h5img_status h5img_png_check_iend(const uint8_t *data, size_t size);

/* H5IMG_OK when the concatenated IDAT payloads are one zlib stream that
 * zlib inflates to its end, with its Adler-32 (libpng's rule). */
h5img_status h5img_png_check_idat_stream(h5img_decoder *decoder, const uint8_t *data, size_t size);

/* libpng's png_set_rgb_to_gray(png_ptr, 1, 0.299, 0.587) with the gamma
 * tables libpng builds for it; 16-bit tables are flat, indexed by v >> shift
 * (shift is at least 5 because OpenCV also strips 16-bit samples to 8). */
#define H5IMG_PNG_LUMA16_ENTRIES 2048
typedef struct h5img_png_luma {
    int tables; /* libpng built gamma tables (significant gamma) */
    unsigned shift;
    uint8_t table8[256], to1_8[256], from1_8[256];
    uint16_t table16[H5IMG_PNG_LUMA16_ENTRIES], to1_16[H5IMG_PNG_LUMA16_ENTRIES],
        from1_16[H5IMG_PNG_LUMA16_ENTRIES];
} h5img_png_luma;

void h5img_png_luma_init(h5img_png_luma *luma, const h5img_png_colorspace *colorspace, uint32_t bit_depth);
uint8_t h5img_png_luma8(const h5img_png_luma *luma, unsigned r, unsigned g, unsigned b);
uint8_t h5img_png_luma16(const h5img_png_luma *luma, unsigned r, unsigned g, unsigned b);

/* One decoded row as libspng hands it over, and what to turn it into. */
typedef struct h5img_png_rows {
    const h5img_layout *layout;
    uint32_t width;
    unsigned channels;   /* samples per decoded pixel: 1 gray, 2 gray-alpha, 3 RGB, 4 RGBA */
    unsigned depth;      /* 8, or 16 for host-endian uint16 samples */
    int trns;            /* NATIVE of an RGB image with tRNS: alpha from the key colour */
    uint16_t trns_rgb[3];
    const h5img_png_luma *luma; /* LUMA of a colour image */
} h5img_png_rows;

void h5img_png_convert_row(const h5img_png_rows *rows, const uint8_t *src, uint8_t *dst);

#endif /* H5IMG_PNG_PRIVATE_H */
