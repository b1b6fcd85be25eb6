/* dump_resize.h: resizing 8-bit images as OpenCV's INTER_AREA does, for --preview's tiles. */
#ifndef H5IMG_TOOLS_DUMP_RESIZE_H
#define H5IMG_TOOLS_DUMP_RESIZE_H

#include "h5img.h"

#include <stdint.h>

/* Resize a src_w x src_h image of `channels` interleaved uint8 samples
 * into dst_w x dst_h. Along an axis that shrinks, each output pixel is the
 * average of the source area it covers, partly covered pixels weighted by
 * their share; along one that grows, OpenCV's INTER_AREA enlarging (the
 * covering pixel, blended with the next across their boundary). Returns
 * H5IMG_E_NOMEM or H5IMG_OK. */
h5img_status dump_resize(const uint8_t *src, uint32_t src_w, uint32_t src_h, uint32_t channels, uint8_t *dst,
                         uint32_t dst_w, uint32_t dst_h);

#endif
