/* png_idat_check.c: the IDAT data must be one zlib stream that zlib inflates to its end, as libpng demands. */
#include "png_private.h"

#include <string.h>
#include <zlib.h>

#define PNG_SIGNATURE_BYTES 8

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* libspng stops inflating once it has every row, so a stream cut after the
 * last row, or corrupt beyond it, decodes; OpenCV's libpng reads the stream
 * to its end (and its Adler-32) and fails such a file. This inflates the
 * chunks' payloads with zlib, the library libpng uses, discarding the
 * output: only the stream's verdict matters. It runs on the libspng path
 * only, after libspng has decoded (and bounded) the image. */
h5img_status h5img_png_check_idat_stream(h5img_decoder *d, const uint8_t *data, size_t size)
{
    unsigned char sink[1u << 15];
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) return h5img_fail(d, H5IMG_E_NOMEM, "PNG image data: cannot start zlib");
    int result = Z_OK;
    size_t pos = PNG_SIGNATURE_BYTES;
    while (result == Z_OK && size >= pos && size - pos >= 12) {
        uint32_t length = be32(data + pos);
        if (length > size - pos - 12) break;
        if (memcmp(data + pos + 4, "IDAT", 4) == 0) {
            z.next_in = (unsigned char *)(uintptr_t)(data + pos + 8);
            z.avail_in = length;
            do {
                z.next_out = sink;
                z.avail_out = sizeof sink;
                result = inflate(&z, Z_NO_FLUSH);
            } while (result == Z_OK && (z.avail_in > 0 || z.avail_out == 0));
            if (result == Z_BUF_ERROR && z.avail_in == 0) result = Z_OK; /* needs the next IDAT */
        }
        pos += (size_t)length + 12;
    }
    const char *why = z.msg ? z.msg : "the stream ends before its last block";
    inflateEnd(&z);
    if (result == Z_STREAM_END) return H5IMG_OK;
    return h5img_fail(d, H5IMG_E_CORRUPT, "PNG image data is not one complete zlib stream: %s", why);
}
