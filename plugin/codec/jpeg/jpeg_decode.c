/* jpeg_decode.c: JPEG decoding under each output rule, straight into the output layout, bit-identical to OpenCV 4.6. */
#include "jpeg_private.h"

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
    h5img_status status = h5img_jpeg_decode_image(decoder, data, size, info, JCS_EXT_RGB, rgb);
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
    J_COLOR_SPACE colour = (layout->flags & H5IMG_FLAG_BGR) ? JCS_EXT_BGR : JCS_EXT_RGB;
    switch (layout->rule) {
    case H5IMG_RULE_COLOR: return h5img_jpeg_decode_image(decoder, data, size, info, colour, out);
    case H5IMG_RULE_NATIVE:
        return h5img_jpeg_decode_image(decoder, data, size, info, info->channels == 1 ? JCS_GRAYSCALE : colour, out);
    /* libjpeg's grayscale output of YCbCr is the Y plane itself, exactly
     * what IMREAD_GRAYSCALE returns for JPEG. */
    case H5IMG_RULE_LUMA: return h5img_jpeg_decode_image(decoder, data, size, info, JCS_GRAYSCALE, out);
    /* Gray replicated to RGB has a maximum equal to the gray value. */
    case H5IMG_RULE_MASK:
        if (info->channels == 1) return h5img_jpeg_decode_image(decoder, data, size, info, JCS_GRAYSCALE, out);
        return decode_mask_of_colour(decoder, data, size, info, out);
    default:
        return h5img_fail(decoder, H5IMG_E_ARGUMENT, "JPEG %ux%u: rule %d is not one h5img can produce", info->width,
                          info->height, (int)layout->rule);
    }
}
