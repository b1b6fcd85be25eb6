/* jpeg_decode.c: JPEG decoding with TurboJPEG, straight into the output layout, bit-identical to OpenCV 4.6. */
#include "h5img_internal.h"

#include <string.h>
#include <turbojpeg.h>

/* OpenCV 4.6 leaves libjpeg at its defaults (JDCT_ISLOW, fancy upsampling,
 * block smoothing), which are TurboJPEG's defaults too, so no FASTDCT or
 * FASTUPSAMPLE here. Unlike OpenCV we refuse on any libjpeg warning: a
 * "Premature end of JPEG file" would otherwise return grey filler rows as
 * if they were pixels. LIMITSCANS caps progressive scans, bounding the CPU
 * a hostile chunk can cost. */
#define JPEG_DECODE_FLAGS (TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)

/* libjpeg reports running out of data only through its message text
 * (JWRN_JPEG_EOF); everything else wrong with the stream is corruption,
 * except processes libjpeg-turbo does not implement (lossless, hierarchical). */
static h5img_status classify(const char *message)
{
    if (strstr(message, "Premature end of JPEG file")) return H5IMG_E_TRUNCATED;
    if (strstr(message, "Unsupported JPEG process")) return H5IMG_E_UNSUPPORTED;
    return H5IMG_E_CORRUPT;
}

static h5img_status decode_as(h5img_decoder *decoder, const uint8_t *data, size_t size, const h5img_info *info,
                              int pixel_format, uint8_t *pixels)
{
    /* A fresh decompressor per image: libjpeg keeps quantisation and Huffman
     * tables across images on one handle, so an abbreviated JPEG (no DQT)
     * would decode with the previous frame's tables instead of failing as it
     * does in OpenCV, and its pixels would depend on what was read before. */
    tjhandle handle = tjInitDecompress();
    if (!handle)
        return h5img_fail(decoder, H5IMG_E_NOMEM, "JPEG %ux%u: cannot create a TurboJPEG decompressor: %s",
                          info->width, info->height, tjGetErrorStr2(NULL));
    /* The probe and libjpeg read the same (first) SOF, so passing its size
     * makes TurboJPEG decode at scale 1/1 into exactly width x height. */
    int width = (int)info->width, height = (int)info->height;
    int pitch = width * tjPixelSize[pixel_format];
    if (tjDecompress2(handle, data, (unsigned long)size, pixels, width, pitch, height, pixel_format,
                      JPEG_DECODE_FLAGS) != 0) {
        const char *message = tjGetErrorStr2(handle);
        h5img_status status =
            h5img_fail(decoder, classify(message), "JPEG %ux%u: %s", info->width, info->height, message);
        tjDestroy(handle);
        return status;
    }
    tjDestroy(handle);
    return H5IMG_OK;
}

/* Mask of a colour JPEG: the maximum over the RGB that IMREAD_COLOR gives. */
static h5img_status decode_mask_of_colour(h5img_decoder *decoder, const uint8_t *data, size_t size,
                                          const h5img_info *info, uint8_t *out)
{
    size_t pixels = (size_t)info->width * info->height, bytes = 0;
    if (!h5img_mul_size(&bytes, pixels, 3, 1, 1) || bytes > h5img_max_chunk_bytes())
        return h5img_fail(decoder, H5IMG_E_LIMIT, "JPEG %ux%u: its RGB decode for the mask rule exceeds the %zu-byte limit",
                          info->width, info->height, h5img_max_chunk_bytes());
    uint8_t *rgb = h5img_scratch(decoder, bytes);
    if (!rgb)
        return h5img_fail(decoder, H5IMG_E_NOMEM, "JPEG %ux%u: cannot allocate %zu bytes for the mask rule",
                          info->width, info->height, bytes);
    h5img_status status = decode_as(decoder, data, size, info, TJPF_RGB, rgb);
    if (status != H5IMG_OK) return status;
    for (size_t i = 0; i < pixels; i++, rgb += 3) {
        uint8_t m = rgb[0] > rgb[1] ? rgb[0] : rgb[1];
        out[i] = m > rgb[2] ? m : rgb[2];
    }
    return H5IMG_OK;
}

h5img_status h5img_jpeg_decode(h5img_decoder *decoder, const uint8_t *data, size_t size, const h5img_info *info,
                               const h5img_layout *layout, uint8_t *out)
{
    /* OpenCV turns CMYK/YCCK into BGR with its own inverted-CMYK arithmetic;
     * we would have to reimplement that to stay bit-identical, so refuse. */
    if (info->color_type == 4)
        return h5img_fail(decoder, H5IMG_E_UNSUPPORTED,
                          "JPEG %ux%u has 4 components (CMYK/YCCK), which h5img does not decode", info->width,
                          info->height);
    int colour_format = (layout->flags & H5IMG_FLAG_BGR) ? TJPF_BGR : TJPF_RGB;
    switch (layout->rule) {
    case H5IMG_RULE_COLOR: return decode_as(decoder, data, size, info, colour_format, out);
    case H5IMG_RULE_NATIVE:
        return decode_as(decoder, data, size, info, info->channels == 1 ? TJPF_GRAY : colour_format, out);
    /* libjpeg's grayscale output of YCbCr is the Y plane itself, exactly
     * what IMREAD_GRAYSCALE returns for JPEG. */
    case H5IMG_RULE_LUMA: return decode_as(decoder, data, size, info, TJPF_GRAY, out);
    /* Gray replicated to RGB has a maximum equal to the gray value. */
    case H5IMG_RULE_MASK:
        if (info->channels == 1) return decode_as(decoder, data, size, info, TJPF_GRAY, out);
        return decode_mask_of_colour(decoder, data, size, info, out);
    default:
        return h5img_fail(decoder, H5IMG_E_ARGUMENT, "JPEG %ux%u: rule %d is not one h5img can produce", info->width,
                          info->height, (int)layout->rule);
    }
}
