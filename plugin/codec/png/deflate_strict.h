/* deflate_strict.h: zlib-exact DEFLATE syntax check for the PNG fast path (internal, not installed). */
#ifndef H5IMG_DEFLATE_STRICT_H
#define H5IMG_DEFLATE_STRICT_H

#include <stddef.h>
#include <stdint.h>

/* Verdicts of h5img_deflate_strict_check. Anything but OK means zlib's
 * inflate would not reach Z_STREAM_END on these bytes (or, for TOO_LONG,
 * that the caller's output bound was exceeded and the walk stopped). */
enum {
    H5IMG_DEFLATE_OK = 0,    /* header, every block and the 4 trailer bytes present and well-formed */
    H5IMG_DEFLATE_TRUNCATED, /* the input ends before the final block (or the Adler-32 trailer) does */
    H5IMG_DEFLATE_INVALID,   /* zlib 1.2.13 reports a data error (or Z_NEED_DICT) somewhere in the stream */
    H5IMG_DEFLATE_TOO_LONG   /* the stream inflates to more than max_output bytes */
};

/* Limit distances to the window the zlib header declares (CINFO), not to
 * 32 KiB. libpng (so OpenCV) lets zlib take the window size from the header
 * and inflates row by row, so a distance reaching further back than that
 * window fails there ("invalid distance too far back"), although a plain
 * inflateInit() inflater accepts it. The fast path sets this. */
#define H5IMG_DEFLATE_HEADER_WINDOW 1u

/* Walk the zlib stream `zstream` (`size` bytes) block by block, decoding
 * every Huffman symbol but writing no output, and reject exactly what zlib
 * 1.2.13's inflate (inflateInit: 32 KiB window, not INFLATE_STRICT) rejects:
 * the header (FCHECK, CM 8, CINFO <= 7, no preset dictionary), block type 3,
 * stored LEN/NLEN mismatch, more than 286 length or 30 distance codes,
 * over-subscribed or incomplete codes (zlib's exceptions: an empty distance
 * code, and a length or distance code that is a single 1-bit codeword, whose
 * other codeword is then invalid), a repeat of no previous length, repeats
 * past the declared number of lengths, no end-of-block code, length symbols
 * 286/287 and distance symbols 30/31, distances before the first byte of
 * output (or beyond the header's window with H5IMG_DEFLATE_HEADER_WINDOW).
 * The Adler-32 value itself is not checked (that needs the output): only
 * that its 4 bytes are there. Bytes after the trailer are not looked at.
 * On H5IMG_DEFLATE_OK, *in_used (header to trailer inclusive, as zlib
 * consumes it) and *out_size (the inflated size) are set; either pointer
 * may be NULL. Thread-safe; uses about 20 KiB of stack. */
int h5img_deflate_strict_check(const uint8_t *zstream, size_t size, size_t max_output, unsigned flags,
                               size_t *in_used, size_t *out_size);

#endif /* H5IMG_DEFLATE_STRICT_H */
