/* encode.c: codec-independent encoding entry point: validate the layout, pick the encoder. */
#include "codec/codec.h"

#include <stdio.h>
#include <stdlib.h>

void h5img_free(void *p)
{
    free(p);
}

h5img_status h5img_encode(const void *pixels, size_t size, const h5img_layout *layout, h5img_codec codec, int level,
                          void **encoded, size_t *encoded_size, char *message, size_t message_size)
{
    if (message && message_size) message[0] = '\0';
    if (!pixels || !layout || !encoded || !encoded_size) return H5IMG_E_ARGUMENT;
    *encoded = NULL;
    *encoded_size = 0;
    h5img_status status = h5img_layout_check(layout);
    if (status != H5IMG_OK) {
        if (message && message_size)
            snprintf(message, message_size, "cannot encode a %ux%ux%u image of %u-byte samples: %s", layout->width,
                     layout->height, layout->channels, layout->element_size, h5img_strerror(status));
        return status;
    }
    if (size != h5img_layout_bytes(layout)) {
        if (message && message_size)
            snprintf(message, message_size, "chunk holds %zu bytes but a %ux%ux%u image of %u-byte samples needs %zu",
                     size, layout->width, layout->height, layout->channels, layout->element_size,
                     h5img_layout_bytes(layout));
        return H5IMG_E_SHAPE;
    }
    switch (codec) {
    case H5IMG_CODEC_PNG:
        if (level < 0 || level > 9) {
            if (message && message_size) snprintf(message, message_size, "PNG compression level %d is not 0-9", level);
            return H5IMG_E_ARGUMENT;
        }
        return h5img_png_encode(pixels, layout, level, encoded, encoded_size, message, message_size);
    case H5IMG_CODEC_JPEG:
        if (level < 1 || level > 100) {
            if (message && message_size) snprintf(message, message_size, "JPEG quality %d is not 1-100", level);
            return H5IMG_E_ARGUMENT;
        }
        if (layout->element_size != 1 || layout->channels == 4) {
            if (message && message_size)
                snprintf(message, message_size, "JPEG stores only uint8 images with 1 or 3 channels, not %u channel(s) of %s",
                         layout->channels, layout->element_size == 2 ? "uint16" : "uint8");
            return H5IMG_E_UNSUPPORTED;
        }
        return h5img_jpeg_encode(pixels, layout, level, encoded, encoded_size, message, message_size);
    default:
        if (message && message_size) snprintf(message, message_size, "encoder %d is not PNG (0) or JPEG (1)", (int)codec);
        return H5IMG_E_ARGUMENT;
    }
}
