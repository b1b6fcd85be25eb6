/* png_idat_check.c: the IDAT data must be one zlib stream that zlib inflates to its end, as libpng demands. */
#include "deflate_strict.h"
#include "png_private.h"

#include <string.h>
#include <zlib.h>

/* The IDAT payloads as one buffer: the file's own bytes when there is one
 * IDAT (the common case, no copy), else concatenated into the decoder's
 * scratch (the image is already decoded, so scratch is free); their total
 * never exceeds `size`. */
static const uint8_t *join_idat(h5img_decoder *d, const uint8_t *data, size_t size, size_t *joined_size)
{
    const uint8_t *first = NULL;
    size_t count = 0, total = 0, pos = PNG_SIGNATURE_BYTES;
    for (; size >= pos && size - pos >= 12; pos += (size_t)be32(data + pos) + 12) {
        uint32_t length = be32(data + pos);
        if (length > size - pos - 12) break;
        if (memcmp(data + pos + 4, "IDAT", 4) != 0) continue;
        if (!count++) first = data + pos + 8;
        total += length;
    }
    *joined_size = total;
    if (count <= 1) return first ? first : data;
    uint8_t *joined = h5img_scratch(d, total);
    if (!joined) return NULL;
    size_t n = 0;
    for (pos = PNG_SIGNATURE_BYTES; n < total; pos += (size_t)be32(data + pos) + 12)
        if (memcmp(data + pos + 4, "IDAT", 4) == 0) {
            memcpy(joined + n, data + pos + 8, be32(data + pos));
            n += be32(data + pos);
        }
    return joined;
}

/* zlib's verdict with the Adler-32 value, which the syntax check leaves out. */
static int zlib_reaches_end(const uint8_t *stream, size_t size, const char **why)
{
    unsigned char sink[1u << 15];
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) return 0;
    z.next_in = (unsigned char *)(uintptr_t)stream;
    z.avail_in = (uInt)size;
    int result;
    do {
        z.next_out = sink;
        z.avail_out = sizeof sink;
        result = inflate(&z, Z_NO_FLUSH);
    } while (result == Z_OK);
    *why = z.msg ? z.msg : "the stream ends before its last block";
    inflateEnd(&z);
    return result == Z_STREAM_END;
}

/* libspng stops inflating once it has every row, so a stream cut after the
 * last row, or corrupt beyond it, decodes; OpenCV's libpng reads the stream
 * to its end (and its Adler-32) and fails such a file. Checked here with the
 * fast path's syntax check, in its header-window mode (distances beyond the
 * window the zlib header declares break RFC 1950, and libpng rejects them),
 * then with zlib, libpng's own inflater. Runs on the libspng path only,
 * after libspng has decoded (and bounded) the image. */
h5img_status h5img_png_check_idat_stream(h5img_decoder *d, const uint8_t *data, size_t size)
{
    size_t joined_size = 0;
    const uint8_t *joined = join_idat(d, data, size, &joined_size);
    if (!joined) return h5img_fail(d, H5IMG_E_NOMEM, "PNG image data: cannot gather %zu bytes of IDAT", size);
    switch (h5img_deflate_strict_check(joined, joined_size, SIZE_MAX, H5IMG_DEFLATE_HEADER_WINDOW, NULL, NULL)) {
    case H5IMG_DEFLATE_OK: break;
    case H5IMG_DEFLATE_TRUNCATED:
        return h5img_fail(d, H5IMG_E_CORRUPT, "PNG image data is not one complete zlib stream: it ends before its last block");
    default:
        return h5img_fail(d, H5IMG_E_CORRUPT,
                          "PNG image data is not a valid zlib stream (invalid code, or a distance beyond its header's window)");
    }
    const char *why = "";
    if (!zlib_reaches_end(joined, joined_size, &why))
        return h5img_fail(d, H5IMG_E_CORRUPT, "PNG image data is not one complete zlib stream: %s", why);
    return H5IMG_OK;
}
