/* ops/rle_decode.c: COCO RLE string to a 0/1 mask, every malformed string an error naming its offset. */
#include "ops/ops_private.h"

#include <string.h>

/* 7 groups of 5 bits hold any 33-bit signed difference of two counts of a
 * mask within 2^32 pixels; pycocotools never writes more. */
#define MAX_GROUPS 7

/* Fill the column-major run [start, start + count) of a row-major mask. */
static void fill(uint8_t *mask, uint32_t height, uint32_t width, uint64_t start, uint64_t count, uint8_t value)
{
    uint64_t x = start / height, y = start % height;
    while (count) {
        uint64_t take = height - y < count ? height - y : count;
        uint8_t *p = mask + y * width + x;
        for (uint64_t i = 0; i < take; i++, p += width) *p = value;
        count -= take;
        y = 0;
        x++;
    }
}

h5img_status h5img_rle_decode(const char *rle, size_t rle_length, uint32_t height, uint32_t width, uint8_t *mask,
                              size_t mask_size, char *message, size_t message_size)
{
    if (!rle || !mask)
        return h5img_ops_fail(message, message_size, H5IMG_E_ARGUMENT, "RLE decoding: NULL %s",
                              rle ? "mask" : "string");
    size_t pixels = 0;
    h5img_status status = h5img_ops_check_size(height, width, "RLE decoding", &pixels, message, message_size);
    if (status != H5IMG_OK) return status;
    if (mask_size != pixels)
        return h5img_ops_fail(message, message_size, H5IMG_E_ARGUMENT,
                              "RLE decoding: the output holds %zu bytes but a %ux%u mask needs %zu", mask_size, width,
                              height, pixels);
    const uint64_t total = pixels;
    uint64_t filled = 0, index = 0;
    int64_t before2 = 0, before1 = 0;
    size_t p = 0;
    while (p < rle_length) {
        size_t start = p;
        int64_t x = 0;
        int more = 1;
        for (int k = 0; more; k++) {
            if (p == rle_length)
                return h5img_ops_fail(message, message_size, H5IMG_E_CORRUPT,
                                      "COCO RLE: count %llu starting at offset %zu is cut off by the end of the "
                                      "string at offset %zu",
                                      (unsigned long long)index, start, rle_length);
            unsigned char ch = (unsigned char)rle[p];
            if (ch < 48 || ch > 48 + 63)
                return h5img_ops_fail(message, message_size, H5IMG_E_CORRUPT,
                                      "COCO RLE: byte 0x%02x at offset %zu is not a count digit ('0'..'o')", ch, p);
            if (k == MAX_GROUPS)
                return h5img_ops_fail(message, message_size, H5IMG_E_CORRUPT,
                                      "COCO RLE: count %llu starting at offset %zu has more than %d digits",
                                      (unsigned long long)index, start, MAX_GROUPS);
            int c = ch - 48;
            x |= (int64_t)(c & 0x1f) << (5 * k);
            more = c & 0x20;
            p++;
            if (!more && (c & 0x10)) x |= (int64_t)(~(uint64_t)0 << (5 * (k + 1)));
        }
        if (index > 2) x += before2;
        if (x < 0)
            return h5img_ops_fail(message, message_size, H5IMG_E_CORRUPT,
                                  "COCO RLE: count %llu at offset %zu is negative (%lld)", (unsigned long long)index,
                                  start, (long long)x);
        if ((uint64_t)x > total - filled)
            return h5img_ops_fail(message, message_size, H5IMG_E_CORRUPT,
                                  "COCO RLE: count %llu at offset %zu (%lld) runs past the %ux%u = %llu pixels "
                                  "(%llu already filled)",
                                  (unsigned long long)index, start, (long long)x, width, height,
                                  (unsigned long long)total, (unsigned long long)filled);
        fill(mask, height, width, filled, (uint64_t)x, (uint8_t)(index & 1));
        filled += (uint64_t)x;
        before2 = before1;
        before1 = x;
        index++;
    }
    if (filled != total)
        return h5img_ops_fail(message, message_size, H5IMG_E_CORRUPT,
                              "COCO RLE: %llu counts end at offset %zu covering %llu of the %ux%u = %llu pixels",
                              (unsigned long long)index, rle_length, (unsigned long long)filled, width, height,
                              (unsigned long long)total);
    return H5IMG_OK;
}
