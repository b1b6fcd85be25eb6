/* codec/codec.h: what the codec dispatcher (decode.c, encode.c) and the tests see of the PNG and JPEG codecs. */
#ifndef H5IMG_CODEC_CODEC_H
#define H5IMG_CODEC_CODEC_H

#include "core/decoder_state.h"

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

/* Test hook for the PNG fast path: where its strict DEFLATE check runs
 * from now on (H5IMG_PNG_CHECK_AUTO restores the normal rules). The pixels
 * and the result are the same in every mode. */
void h5img_png_force_check(h5img_decoder *decoder, h5img_png_check_mode mode);

/* Test hook for the two-band JPEG decode: `row` > 0 splits every
 * single-scan JPEG of at least two iMCU rows, whatever its size, the CPU
 * count, the thread setting and H5IMG_THREADS, with the second band starting
 * at `row` rounded down to a whole iMCU row and kept within [one iMCU row,
 * start of the last iMCU row]; H5IMG_JPEG_SPLIT_AUTO splits at the row the
 * automatic rule picks; 0 restores the normal rules. `fail_thread_start`
 * makes starting the second thread fail as if pthread_create had. */
#define H5IMG_JPEG_SPLIT_AUTO UINT32_MAX

/* Contention back-off of automatic two-band decoding (jpeg_split.c): given
 * the CPU time and wall time of a second band's thread, rest automatic
 * splitting for a second once two bands in a row were on a CPU for under
 * 3/4 of their wall time (bands under 1 ms are not judged). Called after every automatic
 * split; tests call it with made-up times, and clear the rest so that their
 * own timing (slowed down by valgrind, say) does not decide what they check. */
void h5img_jpeg_split_contention(uint64_t cpu_ns, uint64_t wall_ns);
void h5img_jpeg_split_rest_clear(void);
void h5img_jpeg_force_split(h5img_decoder *decoder, uint32_t row, int fail_thread_start);

/* ---- reduced-size JPEG decode, for previews (jpeg_scaled.c) ---- */

/* A JPEG decoded at 1/denominator of its size: `pixels` is malloc()ed
 * (release with free()), width x height x channels bytes, RGB or gray. */
typedef struct h5img_jpeg_scaled {
    uint8_t *pixels;
    uint32_t width, height, channels;
    uint32_t denominator; /* 1, 2, 4 or 8 */
} h5img_jpeg_scaled;

/* Decode at the largest denominator of 8, 4, 2 (libjpeg's DCT scaling:
 * the inverse DCT itself makes the smaller image, so the work shrinks with
 * it) whose image still covers min_width x min_height, else at full size.
 * Not bit-identical to anything: an approximation for previews. Every
 * libjpeg warning fails, as in a full decode; the probed size is checked
 * against h5img_max_pixels() first; CMYK and 12-bit JPEGs are refused. */
h5img_status h5img_jpeg_decode_scaled(const uint8_t *data, size_t size, uint32_t min_width, uint32_t min_height,
                                      int gray, h5img_jpeg_scaled *out, char *message, size_t message_size);

/* Release the fast path's handles held by a decoder (called by h5img_decoder_free). */
void h5img_png_fast_release(h5img_decoder *decoder);

#endif /* H5IMG_CODEC_CODEC_H */
