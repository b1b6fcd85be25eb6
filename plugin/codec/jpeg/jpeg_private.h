/* jpeg_private.h: JPEG decoding in bands of output rows, each on its own libjpeg decompressor (not installed). */
#ifndef H5IMG_JPEG_PRIVATE_H
#define H5IMG_JPEG_PRIVATE_H

#include "codec/codec.h"

#include <stdio.h> /* jpeglib.h uses FILE without including stdio.h */
#include <jpeglib.h>

typedef struct h5img_jpeg_band h5img_jpeg_band;

/* Called on the band's thread once jpeg_start_decompress has fixed the
 * output geometry, before any row is read; it may lower band->end_row. */
typedef void (*h5img_jpeg_started_fn)(h5img_jpeg_band *band, j_decompress_ptr cinfo);

/* Rows [first_row, end_row) of one image. The band skips the rows above it
 * with jpeg_skip_scanlines, which still entropy-decodes them (a sequential
 * JPEG has no other way to find where a row starts) but leaves out the
 * inverse DCT, upsampling and colour conversion. */
struct h5img_jpeg_band {
    const uint8_t *data;
    size_t size;
    J_COLOR_SPACE space;    /* JCS_GRAYSCALE, JCS_EXT_RGB or JCS_EXT_BGR */
    uint32_t width, height; /* as probed: libjpeg must agree */
    uint8_t *pixels;        /* the whole image; row r starts at pixels + r * row_bytes */
    size_t row_bytes;
    uint32_t first_row, end_row;
    h5img_jpeg_started_fn started; /* NULL for none */
    void *context;                 /* for `started` */
    /* Out: H5IMG_OK, or the first libjpeg error or warning and its text. */
    h5img_status status;
    char message[JMSG_LENGTH_MAX];
};

/* Decode one band on a fresh decompressor (libjpeg keeps tables across
 * images on one handle, so reusing one would let a JPEG without DQT borrow
 * the previous frame's). Every libjpeg warning is fatal. Returns status. */
h5img_status h5img_jpeg_decode_band(h5img_jpeg_band *band);

/* Decode a whole image in `space` into `pixels`, as two bands on two
 * threads when the decoder's settings and the image allow it and it pays,
 * else as one. Failure goes through h5img_fail(). */
h5img_status h5img_jpeg_decode_image(h5img_decoder *decoder, const uint8_t *data, size_t size,
                                     const h5img_info *info, J_COLOR_SPACE space, uint8_t *pixels);

#endif /* H5IMG_JPEG_PRIVATE_H */
