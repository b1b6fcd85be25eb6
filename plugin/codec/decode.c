/* decode.c: the codec-independent decoder: probe, check the header against the layout and limits, dispatch. */
#include "codec/codec.h"
#include "core/second_thread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

h5img_codec h5img_detect(const void *data, size_t size)
{
    static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const uint8_t *bytes = data;
    if (!bytes) return H5IMG_CODEC_UNKNOWN;
    if (size >= sizeof png_signature && memcmp(bytes, png_signature, sizeof png_signature) == 0)
        return H5IMG_CODEC_PNG;
    if (size >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) return H5IMG_CODEC_JPEG;
    return H5IMG_CODEC_UNKNOWN;
}

h5img_status h5img_probe(const void *data, size_t size, h5img_info *info)
{
    if (!data || !info) return H5IMG_E_ARGUMENT;
    memset(info, 0, sizeof *info);
    info->codec = h5img_detect(data, size);
    switch (info->codec) {
    case H5IMG_CODEC_PNG: return h5img_png_probe(data, size, info);
    case H5IMG_CODEC_JPEG: return h5img_jpeg_probe(data, size, info);
    default: return H5IMG_E_UNKNOWN_FORMAT;
    }
}

h5img_decoder *h5img_decoder_new(void)
{
    return calloc(1, sizeof(h5img_decoder));
}

void h5img_decoder_free(h5img_decoder *decoder)
{
    if (!decoder) return;
    h5img_png_fast_release(decoder);
    free(decoder->scratch);
    free(decoder);
}

h5img_status h5img_decoder_set_threads(h5img_decoder *decoder, unsigned threads)
{
    if (!decoder) return H5IMG_E_ARGUMENT;
    decoder->threads = threads;
    return H5IMG_OK;
}

const char *h5img_decoder_message(const h5img_decoder *decoder)
{
    return decoder ? decoder->message : "";
}

/* Whether the probed image fits the layout. Only NATIVE depends on the
 * stored channels and depth; the other rules convert any 8/16-bit image. */
static h5img_status check_against_layout(h5img_decoder *d, const h5img_info *info, const h5img_layout *layout)
{
    const char *codec = h5img_codec_name(info->codec);
    if (info->codec == H5IMG_CODEC_JPEG && info->bit_depth != 8)
        return h5img_fail(d, H5IMG_E_DEPTH, "chunk holds a %u-bit JPEG; only 8-bit JPEG can be returned as uint8",
                          info->bit_depth);
    if (info->width != layout->width || info->height != layout->height)
        return h5img_fail(d, H5IMG_E_SHAPE, "chunk holds a %ux%u %s but the dataset chunk is %ux%ux%u", info->width,
                          info->height, codec, layout->width, layout->height, layout->channels);
    if (layout->rule == H5IMG_RULE_NATIVE) {
        if (info->channels != layout->channels)
            return h5img_fail(d, H5IMG_E_SHAPE,
                              "chunk holds a %ux%u %s with %u channel(s) but the dataset chunk has %u (native rule)",
                              info->width, info->height, codec, info->channels, layout->channels);
        if (info->element_size != layout->element_size)
            return h5img_fail(d, H5IMG_E_DEPTH, "chunk holds a %u-bit %s but the dataset is %s (native rule)",
                              info->bit_depth, codec, layout->element_size == 2 ? "uint16" : "uint8");
    }
    return H5IMG_OK;
}

static h5img_status decode_checked(h5img_decoder *decoder, const void *data, size_t size, const h5img_layout *layout,
                                   void *out, size_t out_size)
{
    decoder->message[0] = '\0';
    if (!data || size == 0 || !out) return h5img_fail(decoder, H5IMG_E_ARGUMENT, "no input bytes or no output buffer");

    h5img_status status = h5img_layout_check(layout);
    if (status == H5IMG_E_LIMIT)
        return h5img_fail(decoder, status, "dataset chunk %ux%ux%u of %u-byte samples exceeds the limits (%llu pixels, %zu bytes)",
                          layout->width, layout->height, layout->channels, layout->element_size,
                          (unsigned long long)h5img_max_pixels(), h5img_max_chunk_bytes());
    if (status != H5IMG_OK)
        return h5img_fail(decoder, status, "layout %ux%ux%u, %u-byte samples, %s rule is not one h5img can produce",
                          layout ? layout->width : 0, layout ? layout->height : 0, layout ? layout->channels : 0,
                          layout ? layout->element_size : 0, layout ? h5img_rule_name(layout->rule) : "no");
    size_t expected = h5img_layout_bytes(layout);
    if (out_size != expected)
        return h5img_fail(decoder, H5IMG_E_ARGUMENT, "output buffer is %zu bytes but a %ux%ux%u image needs %zu", out_size,
                          layout->width, layout->height, layout->channels, expected);
    if (size > h5img_max_chunk_bytes())
        return h5img_fail(decoder, H5IMG_E_LIMIT, "encoded chunk of %zu bytes exceeds the %zu-byte limit", size,
                          h5img_max_chunk_bytes());

    h5img_info info;
    status = h5img_probe(data, size, &info);
    if (status == H5IMG_E_UNKNOWN_FORMAT) {
        const uint8_t *b = data;
        return h5img_fail(decoder, status, "chunk of %zu bytes starting %02x %02x %02x %02x is neither PNG nor JPEG", size,
                          b[0], size > 1 ? b[1] : 0, size > 2 ? b[2] : 0, size > 3 ? b[3] : 0);
    }
    if (status != H5IMG_OK) {
        if (!decoder->message[0])
            h5img_fail(decoder, status, "%s header in a %zu-byte chunk: %s", h5img_codec_name(info.codec), size,
                       h5img_strerror(status));
        return status;
    }
    if ((uint64_t)info.width * info.height > h5img_max_pixels())
        return h5img_fail(decoder, H5IMG_E_LIMIT, "%s header claims %ux%u, over the %llu-pixel limit",
                          h5img_codec_name(info.codec), info.width, info.height, (unsigned long long)h5img_max_pixels());
    status = check_against_layout(decoder, &info, layout);
    if (status != H5IMG_OK) return status;

    h5img_busy_threads(1);
    if (info.codec == H5IMG_CODEC_PNG) {
        h5img_fault_in_pending(decoder);
        status = h5img_png_decode(decoder, data, size, &info, layout, out);
    } else {
        status = h5img_jpeg_decode(decoder, data, size, &info, layout, out);
    }
    h5img_busy_threads(-1);
    if (status != H5IMG_OK && !decoder->message[0])
        h5img_fail(decoder, status, "%ux%u %s: %s", info.width, info.height, h5img_codec_name(info.codec),
                   h5img_strerror(status));
    return status;
}

h5img_status h5img_decoder_decode(h5img_decoder *decoder, const void *data, size_t size, const h5img_layout *layout,
                                  void *out, size_t out_size)
{
    if (!decoder) return H5IMG_E_ARGUMENT;
    h5img_status status = decode_checked(decoder, data, size, layout, out, out_size);
    /* Whether it was used or the decode failed before reaching it, the
     * buffer is the caller's again, free to be released. */
    h5img_decoder_fault_in_later(decoder, NULL, 0);
    return status;
}

h5img_status h5img_decode(const void *data, size_t size, const h5img_layout *layout, void *out, size_t out_size,
                          char *message, size_t message_size)
{
    h5img_decoder *decoder = h5img_decoder_new();
    if (!decoder) {
        if (message && message_size) snprintf(message, message_size, "%s", h5img_strerror(H5IMG_E_NOMEM));
        return H5IMG_E_NOMEM;
    }
    h5img_status status = h5img_decoder_decode(decoder, data, size, layout, out, out_size);
    if (message && message_size) snprintf(message, message_size, "%s", decoder->message);
    h5img_decoder_free(decoder);
    return status;
}
