/* png_encode.c: lossless PNG encoding of one chunk's pixels with libspng. */
#include "codec/codec.h"

#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static h5img_status encode_fail(char *message, size_t message_size, h5img_status status, const char *what, int err)
{
    if (message && message_size)
        snprintf(message, message_size, "PNG encoder: %s%s%s", what, err ? ": " : "", err ? spng_strerror(err) : "");
    return status;
}

static int host_is_big_endian(void)
{
    const uint16_t probe = 1;
    uint8_t first;
    memcpy(&first, &probe, 1);
    return first == 0;
}

/* libspng wants RGB(A) order and host-endian samples: only when the input
 * differs is a converted copy made. */
static int needs_copy(const h5img_layout *layout)
{
    int swap_bytes = layout->element_size == 2 && ((layout->flags & H5IMG_FLAG_BIG_ENDIAN) != 0) != host_is_big_endian();
    return swap_bytes || ((layout->flags & H5IMG_FLAG_BGR) && layout->channels >= 3);
}

static void swap_bytes(uint8_t *p, size_t bytes)
{
    for (size_t i = 0; i + 1 < bytes; i += 2) {
        uint8_t t = p[i];
        p[i] = p[i + 1];
        p[i + 1] = t;
    }
}

static void swap_red_blue(uint8_t *p, size_t pixels, unsigned channels, unsigned element_size)
{
    size_t step = (size_t)channels * element_size;
    for (size_t i = 0; i < pixels; i++, p += step) {
        uint8_t t[2];
        memcpy(t, p, element_size);
        memcpy(p, p + 2 * element_size, element_size);
        memcpy(p + 2 * element_size, t, element_size);
    }
}

static uint8_t *rgb_host_copy(const uint8_t *pixels, const h5img_layout *layout, size_t bytes)
{
    uint8_t *copy = malloc(bytes);
    if (!copy) return NULL;
    memcpy(copy, pixels, bytes);
    if (layout->element_size == 2 && ((layout->flags & H5IMG_FLAG_BIG_ENDIAN) != 0) != host_is_big_endian())
        swap_bytes(copy, bytes);
    if ((layout->flags & H5IMG_FLAG_BGR) && layout->channels >= 3)
        swap_red_blue(copy, (size_t)layout->width * layout->height, layout->channels, layout->element_size);
    return copy;
}

static int configure(spng_ctx *ctx, const h5img_layout *layout, int level)
{
    struct spng_ihdr ihdr;
    memset(&ihdr, 0, sizeof ihdr);
    ihdr.width = layout->width;
    ihdr.height = layout->height;
    ihdr.bit_depth = (uint8_t)(layout->element_size * 8);
    ihdr.color_type = layout->channels == 1 ? SPNG_COLOR_TYPE_GRAYSCALE
                      : layout->channels == 3 ? SPNG_COLOR_TYPE_TRUECOLOR
                                              : SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
    int err = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (!err) err = spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, level);
    /* libspng tries all five row filters per row and keeps the best guess;
     * at the fastest levels that guess costs more than zlib itself (a third
     * of h5imgdump --preview's time), so level 1 takes the Up filter alone
     * (within 4% of the adaptive size on photographs) and level 0, which
     * stores without compressing, no filter. */
    if (!err && level <= 1)
        err = spng_set_option(ctx, SPNG_FILTER_CHOICE, level == 0 ? SPNG_FILTER_CHOICE_NONE : SPNG_FILTER_CHOICE_UP);
    if (!err) err = spng_set_ihdr(ctx, &ihdr);
    return err;
}

static h5img_status run_encoder(spng_ctx *ctx, const uint8_t *pixels, size_t bytes, const h5img_layout *layout,
                                int level, void **encoded, size_t *encoded_size, char *message, size_t message_size)
{
    int err = configure(ctx, layout, level);
    if (err) return encode_fail(message, message_size, H5IMG_E_ENCODE, "setup", err);
    err = spng_encode_image(ctx, pixels, bytes, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    if (err) return encode_fail(message, message_size, err == SPNG_EMEM ? H5IMG_E_NOMEM : H5IMG_E_ENCODE, "image", err);
    size_t length = 0;
    void *png = spng_get_png_buffer(ctx, &length, &err);
    if (!png) return encode_fail(message, message_size, H5IMG_E_ENCODE, "output buffer", err);
    *encoded = png;
    *encoded_size = length;
    return H5IMG_OK;
}

h5img_status h5img_png_encode(const uint8_t *pixels, const h5img_layout *layout, int level, void **encoded,
                              size_t *encoded_size, char *message, size_t message_size)
{
    size_t bytes = h5img_layout_bytes(layout);
    uint8_t *copy = NULL;
    if (needs_copy(layout)) {
        copy = rgb_host_copy(pixels, layout, bytes);
        if (!copy) return encode_fail(message, message_size, H5IMG_E_NOMEM, "no memory for an RGB copy", 0);
    }
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    h5img_status status = ctx ? run_encoder(ctx, copy ? copy : pixels, bytes, layout, level, encoded, encoded_size,
                                            message, message_size)
                              : encode_fail(message, message_size, H5IMG_E_NOMEM, "cannot create a context", 0);
    spng_ctx_free(ctx);
    free(copy);
    return status;
}
