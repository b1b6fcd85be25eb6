/* core/decoder_state.h: the decoder's state and the helpers every codec shares (scratch, fault-in, failures, sizes). */
#ifndef H5IMG_CORE_DECODER_STATE_H
#define H5IMG_CORE_DECODER_STATE_H

#include "h5img.h"

#include <stdarg.h>
#include <stdint.h>

#define H5IMG_MESSAGE_SIZE 256

/* Where the PNG fast path runs its strict DEFLATE check (png_fast.c); a
 * test hook, set with h5img_png_force_check. */
typedef enum h5img_png_check_mode {
    H5IMG_PNG_CHECK_AUTO = 0,          /* a second thread for large images when h5img_second_thread_wanted */
    H5IMG_PNG_CHECK_CONCURRENT,        /* a second thread for every image, whatever the settings say */
    H5IMG_PNG_CHECK_CALLING_THREAD,    /* the calling thread, between inflating and unfiltering */
    H5IMG_PNG_CHECK_FAIL_THREAD_START  /* as CONCURRENT, but starting the thread fails as if pthread_create had */
} h5img_png_check_mode;

/* A decoder keeps what is costly to make per frame: codec handles and a
 * scratch buffer that only grows. Codec files may add lazily created
 * handles here; h5img_decoder_free releases them. */
struct h5img_decoder {
    char message[H5IMG_MESSAGE_SIZE];
    unsigned char *scratch;
    size_t scratch_size;
    void *deflate; /* libdeflate_decompressor of the PNG fast path, created on first use */
    unsigned threads; /* h5img_decoder_set_threads: 0 automatic, 1 one thread, 2+ a second thread allowed */
    /* Two-band JPEG decoding (jpeg_split.c): the test hooks h5img_jpeg_force_split
     * sets, and the first row of the second band in the last JPEG decode
     * (0 when it ran as one band), which tests read. */
    uint32_t jpeg_force_row;
    int jpeg_fail_thread_start;
    uint32_t jpeg_split_row;
    /* PNG fast path (png_fast.c): where the strict DEFLATE check runs (a test hook). */
    h5img_png_check_mode png_check_mode;
    /* Fresh output memory to fault in during the next decode, once, where it
     * costs least (h5img_decoder_fault_in_later); NULL when none. */
    void *fault_in;
    size_t fault_in_size;
};

/* Record a failure sentence (printf-style, with the numbers) on the decoder
 * and return `status`, so codec code can `return h5img_fail(d, ...)`. */
h5img_status h5img_fail(h5img_decoder *decoder, h5img_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Scratch space of at least `size` bytes owned by the decoder, or NULL.
 * `size` must already be checked against the limits by the caller. */
unsigned char *h5img_scratch(h5img_decoder *decoder, size_t size);

/* For a caller whose output buffer is freshly allocated (the filter): fault
 * in `size` bytes from `buffer` (h5img_prefault) during the next
 * h5img_decoder_decode on this decoder. A two-band JPEG does it on the
 * calling thread just after starting the second band, while that band is
 * still entropy-decoding rows it will not write; every other decode does it
 * before writing anything. The next decode forgets it whatever happens, so
 * the buffer may be freed after that decode returns. */
void h5img_decoder_fault_in_later(h5img_decoder *decoder, void *buffer, size_t size);

/* Fault in what h5img_decoder_fault_in_later left pending, if anything, and
 * forget it. */
void h5img_fault_in_pending(h5img_decoder *decoder);

/* Overflow-safe a*b*c*d; returns 0 and leaves *product untouched on overflow. */
int h5img_mul_size(size_t *product, size_t a, size_t b, size_t c, size_t d);

#endif /* H5IMG_CORE_DECODER_STATE_H */
