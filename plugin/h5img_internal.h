/* h5img_internal.h: interfaces between the decoder core, the codecs and the HDF5 glue (not installed). */
#ifndef H5IMG_INTERNAL_H
#define H5IMG_INTERNAL_H

#include "h5img.h"

#include <pthread.h>
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

/* ---- second threads (second_thread.c) ---- */

/* Threads of this process busy decoding: every h5img_decoder_decode in
 * progress plus the second threads started by h5img_second_thread_start
 * and not yet joined. Adds `delta` and returns the new count. Automatic
 * decoders start a second thread only while the count stays within the
 * usable CPUs, so that a program already decoding on every core is not
 * oversubscribed. Tests add to it to stand for decodes running elsewhere. */
unsigned h5img_busy_threads(int delta);

/* Whether a decode may use a second thread, by the rules every user shares:
 * decoder->threads 1 never, 2 or more always; 0 (automatic) only when the
 * environment variable H5IMG_THREADS (read once) is not 1, the process may
 * run on 2 or more CPUs (its affinity mask) and one of them is not counted
 * busy. Each user adds its own conditions (size, image kind). */
int h5img_second_thread_wanted(const h5img_decoder *decoder);

/* Start `run(argument)` on a new thread with every signal blocked, counted
 * busy until h5img_second_thread_join. H5IMG_OK, or H5IMG_E_NOMEM when the
 * thread could not be started (nothing to join then): the caller does the
 * work on its own thread. */
h5img_status h5img_second_thread_start(pthread_t *thread, void *(*run)(void *), void *argument);
void h5img_second_thread_join(pthread_t thread);

/* Second threads h5img_second_thread_start started in this process so far
 * (two-band JPEG and the PNG fast path alike), for tests. */
unsigned long h5img_second_threads_started(void);

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

/* Advise the kernel to back the 2 MiB-aligned interior of a large buffer
 * with transparent huge pages (Linux; elsewhere, and for buffers under
 * 4 MiB, nothing). Returns 1 when the advice was taken. Performance only:
 * the buffer's contents and lifetime are unaffected. */
int h5img_advise_huge_pages(void *buffer, size_t size);

/* Fault in the whole pages of a buffer of 4 MiB or more that is about to be
 * written in full, with one system call on the calling thread (Linux 5.14+;
 * elsewhere, and for smaller buffers, nothing). Returns 1 when the pages are
 * now resident. Call after h5img_advise_huge_pages so they come in huge.
 * A refusal (old kernel, no memory to spare) leaves the buffer as it was:
 * its pages then fault in on first write as usual. */
int h5img_prefault(void *buffer, size_t size);

/* At least `size` bytes that free() releases. When the buffer is large
 * enough for h5img_advise_huge_pages to act (4 MiB), it starts on a 2 MiB
 * boundary and its capacity is rounded up to whole 2 MiB pages, so that
 * advising and faulting in all `*capacity` bytes makes every page huge.
 * Sets `*capacity` to the bytes usable (0 on failure). NULL when out of
 * memory, when the rounding would overflow, or for size 0. */
void *h5img_alloc_huge_aligned(size_t size, size_t *capacity);

/* Release the fast path's handles held by a decoder (called by h5img_decoder_free). */
void h5img_png_fast_release(h5img_decoder *decoder);

#endif /* H5IMG_INTERNAL_H */
