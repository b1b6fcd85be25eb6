/* h5img_internal.h: interfaces between the decoder core, the codecs and the HDF5 glue (not installed). */
#ifndef H5IMG_INTERNAL_H
#define H5IMG_INTERNAL_H

#include "h5img.h"

#include <stdarg.h>
#include <stdint.h>

#define H5IMG_MESSAGE_SIZE 256

/* A decoder keeps what is costly to make per frame: codec handles and a
 * scratch buffer that only grows. Codec files may add lazily created
 * handles here; h5img_decoder_free releases them. */
struct h5img_decoder {
    char message[H5IMG_MESSAGE_SIZE];
    unsigned char *scratch;
    size_t scratch_size;
    void *deflate; /* libdeflate_decompressor of the PNG fast path, created on first use */
};

/* Record a failure sentence (printf-style, with the numbers) on the decoder
 * and return `status`, so codec code can `return h5img_fail(d, ...)`. */
h5img_status h5img_fail(h5img_decoder *decoder, h5img_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Scratch space of at least `size` bytes owned by the decoder, or NULL.
 * `size` must already be checked against the limits by the caller. */
unsigned char *h5img_scratch(h5img_decoder *decoder, size_t size);

/* Overflow-safe a*b*c*d; returns 0 and leaves *product untouched on overflow. */
int h5img_mul_size(size_t *product, size_t a, size_t b, size_t c, size_t d);

/* ---- header parsers: read no pixel data, allocate nothing ---- */

/* PNG: signature, IHDR, and the chunks before the first IDAT (for tRNS,
 * which decides whether IMREAD_UNCHANGED yields 4 channels). */
h5img_status h5img_png_probe(const uint8_t *data, size_t size, h5img_info *info);

/* JPEG: markers up to the first SOFn (precision, size, components). */
h5img_status h5img_jpeg_probe(const uint8_t *data, size_t size, h5img_info *info);

/* ---- codecs ----
 * Called by h5img_decoder_decode after it has probed the header, checked the
 * probed size and channels against the layout and the limits, and checked
 * that `out` is h5img_layout_bytes(layout) long. They write the final pixels
 * (rule, channel order, byte order applied) into `out`, and fail through
 * h5img_fail() on anything the codec reports, warnings included. */
h5img_status h5img_png_decode(h5img_decoder *decoder, const uint8_t *data, size_t size,
                              const h5img_info *info, const h5img_layout *layout, uint8_t *out);
h5img_status h5img_jpeg_decode(h5img_decoder *decoder, const uint8_t *data, size_t size,
                               const h5img_info *info, const h5img_layout *layout, uint8_t *out);

/* PNG fast path (libdeflate, whole-buffer): handles the common
 * non-interlaced 8-bit (and possibly 16-bit) gray/RGB/RGBA cases. Returns
 * H5IMG_OK when `out` holds the final pixels, or H5IMG_E_UNSUPPORTED when it
 * does not handle this image OR finds anything wrong with it: the caller
 * then decodes with libspng, which is the one authority on errors, so the
 * fast path can never accept what libspng rejects. */
h5img_status h5img_png_fast_decode(h5img_decoder *decoder, const uint8_t *data, size_t size,
                                   const h5img_info *info, const h5img_layout *layout, uint8_t *out);

/* Encoders: `pixels` is laid out as `layout` (RGB order unless FLAG_BGR,
 * host byte order unless FLAG_BIG_ENDIAN). Output is malloc()ed. */
h5img_status h5img_png_encode(const uint8_t *pixels, const h5img_layout *layout, int level,
                              void **encoded, size_t *encoded_size, char *message, size_t message_size);
h5img_status h5img_jpeg_encode(const uint8_t *pixels, const h5img_layout *layout, int quality,
                               void **encoded, size_t *encoded_size, char *message, size_t message_size);

/* Advise the kernel to back the 2 MiB-aligned interior of a large buffer
 * with transparent huge pages (Linux; elsewhere, and for buffers under
 * 4 MiB, nothing). Returns 1 when the advice was taken. Performance only:
 * the buffer's contents and lifetime are unaffected. */
int h5img_advise_huge_pages(void *buffer, size_t size);

/* Release the fast path's handles held by a decoder (called by h5img_decoder_free). */
void h5img_png_fast_release(h5img_decoder *decoder);

#endif /* H5IMG_INTERNAL_H */
