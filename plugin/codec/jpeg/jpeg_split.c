/* jpeg_split.c: decode a single-scan JPEG as two bands on two threads when that pays, else as one band. */
#include "jpeg_private.h"
#include "core/second_thread.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

/* Below this many pixels the automatic rule decodes on one thread. On a
 * 2-core VM with libjpeg-turbo 2.1.5, two bands were already about 1.4x
 * faster than one at 0.5 MP (816x612 q90 4:2:0: 1.24 ms -> 0.85-0.89 ms);
 * below that the tens of microseconds of starting a thread, and the cost
 * of waiting for a core that turns out busy, weigh more against
 * sub-millisecond decodes. */
#define SPLIT_MIN_PIXELS (512u * 1024u)

/* A core that is free of h5img decodes may still be busy with another
 * process, and then the two bands share one core: the split decode took
 * 30% longer than one band (14.7-16.7 ms against 11.4-12.6 with a busy loop
 * on the other core). The second band's thread measures how much of its
 * wall time it spent on a CPU; when that falls under three quarters for
 * two bands in a row, automatic splitting rests for a second, then tries
 * again. One such band alone is not enough: on an idle 2-core VM about one
 * band in a hundred still lost a third of its time to something else, and
 * resting on each of those cost a second of one-band decodes every time.
 * Decodes shorter than a millisecond are too short to judge. */
#define CONTENDED_CPU_SHARE 0.75
#define CONTENDED_BANDS_TO_REST 2u
#define CONTENTION_MIN_WALL_NS 1000000ull
#define CONTENTION_REST_NS 1000000000ull

static uint64_t rest_until_ns;   /* CLOCK_MONOTONIC; 0: not resting */
static unsigned contended_streak; /* contended bands in a row */

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec t;
    if (clock_gettime(clock, &t) != 0) return 0;
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int resting(void)
{
    uint64_t until = __atomic_load_n(&rest_until_ns, __ATOMIC_RELAXED);
    return until && clock_ns(CLOCK_MONOTONIC) < until;
}

void h5img_jpeg_split_contention(uint64_t cpu_ns, uint64_t wall_ns)
{
    if (wall_ns < CONTENTION_MIN_WALL_NS) return;
    if ((double)cpu_ns >= CONTENDED_CPU_SHARE * (double)wall_ns) {
        __atomic_store_n(&contended_streak, 0, __ATOMIC_RELAXED);
        return;
    }
    if (__atomic_add_fetch(&contended_streak, 1, __ATOMIC_RELAXED) < CONTENDED_BANDS_TO_REST) return;
    __atomic_store_n(&contended_streak, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&rest_until_ns, clock_ns(CLOCK_MONOTONIC) + CONTENTION_REST_NS, __ATOMIC_RELAXED);
}

void h5img_jpeg_split_rest_clear(void)
{
    __atomic_store_n(&contended_streak, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&rest_until_ns, 0, __ATOMIC_RELAXED);
}

/* Whether a second thread may be used, from what is known before libjpeg
 * has read the header (which decides whether the image can be split): the
 * shared rules of h5img_second_thread_wanted, and for the automatic choice
 * also no rest after contended bands. */
static int split_wanted(const h5img_decoder *decoder, const h5img_info *info)
{
    if (decoder->jpeg_force_row) return 1;
    if (decoder->threads == 1 || info->interlaced) return 0;
    if ((uint64_t)info->width * info->height < SPLIT_MIN_PIXELS) return 0;
    if (!h5img_second_thread_wanted(decoder)) return 0;
    return decoder->threads >= 2 || !resting();
}

/* The row where both bands finish together. Band two entropy-decodes every
 * row above the cut without reconstructing it, so with s the entropy
 * decoding's share of a full decode, band one costs x (of H rows) and band
 * two x*s + (H - x): equal at x = H / (2 - s). s comes from a cost model
 * fitted to libjpeg-turbo 2.1.5 timings on x86-64 (AVX2), 5 MP frames in
 * 4:2:0, 4:2:2, 4:4:4 and gray at quality 50-100, RGB and gray output
 * (s from 0.34 to 0.85): entropy decoding costs about 8 ns per coded block
 * plus 7 ns per compressed byte; reconstruction 36 ns per luma block and
 * 23 ns per chroma block it inverse-transforms, plus 0.45 ns per pixel of
 * upsampling and colour conversion. Measured best cuts sat within 0.02 of
 * H / (2 - s), where the timing curve is flat.
 * When band one first faults in `fault_in_size` bytes of fresh output
 * (h5img_decoder_fault_in_later), that delays it by f of the full decode's
 * time, and the cut moves up to x = H (1 - f) / (2 - s). Faulting in costs
 * about 0.06 ns a byte: h5img_prefault of a fresh 16 MiB buffer took
 * 0.75-1.1 ms (means of 50) on this project's VM. */
#define FAULT_IN_NS_PER_BYTE 0.06

static uint32_t balanced_row(j_decompress_ptr cinfo, size_t size, size_t fault_in_size)
{
    double coded = 0, rebuilt = 0;
    for (int c = 0; c < cinfo->num_components; c++) {
        const jpeg_component_info *comp = &cinfo->comp_info[c];
        double blocks = (double)comp->width_in_blocks * comp->height_in_blocks;
        coded += blocks;
        if (comp->component_needed) rebuilt += blocks * (c == 0 ? 36.0 : 23.0);
    }
    if (cinfo->out_color_space != JCS_GRAYSCALE) rebuilt += 0.45 * cinfo->output_width * cinfo->output_height;
    double entropy = 8.0 * coded + 7.0 * (double)size;
    double share = entropy / (entropy + rebuilt);
    double delay = FAULT_IN_NS_PER_BYTE * (double)fault_in_size / (entropy + rebuilt);
    if (delay > 0.5) delay = 0.5; /* a cost model gone wrong must not hand band two everything */
    return (uint32_t)(cinfo->output_height * (1.0 - delay) / (2.0 - share));
}

/* `row` moved down to an iMCU row boundary and into [one iMCU row, start of
 * the last iMCU row], or 0 when the image has a single iMCU row. At a
 * boundary band two's skip is pure entropy decoding (plus one iMCU row of
 * context for vertically upsampled chroma), and each band reconstructs only
 * its own iMCU rows. */
static uint32_t whole_imcu_rows(uint32_t row, uint32_t height, uint32_t imcu)
{
    if (imcu == 0 || height <= imcu) return 0;
    uint32_t last = (height - 1) / imcu * imcu;
    row = row / imcu * imcu;
    if (row < imcu) row = imcu;
    return row < last ? row : last;
}

struct split {
    h5img_decoder *decoder;
    h5img_jpeg_band second;
    pthread_t thread;
    int running;
    uint64_t second_cpu_ns, second_wall_ns; /* what the second band's thread got */
};

static void *run_second_band(void *arg)
{
    struct split *split = arg;
    uint64_t wall = clock_ns(CLOCK_MONOTONIC), cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    h5img_jpeg_decode_band(&split->second);
    split->second_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu;
    split->second_wall_ns = clock_ns(CLOCK_MONOTONIC) - wall;
    return NULL;
}

/* Choose the cut and hand the rows below it to a second thread. Anything
 * that rules a split out leaves the first band decoding the whole image. */
static void try_second_band(h5img_jpeg_band *first, j_decompress_ptr cinfo)
{
    struct split *split = first->context;
    /* A multi-scan image was entropy-decoded whole by jpeg_start_decompress:
     * a second band would decode it all again. */
    if (jpeg_has_multiple_scans(cinfo) || cinfo->output_height != first->height) return;
    uint32_t imcu = (uint32_t)cinfo->max_v_samp_factor * (uint32_t)cinfo->min_DCT_scaled_size;
    uint32_t row = split->decoder->jpeg_force_row;
    if (row == 0 || row == H5IMG_JPEG_SPLIT_AUTO) row = balanced_row(cinfo, first->size, split->decoder->fault_in_size);
    uint32_t cut = whole_imcu_rows(row, first->height, imcu);
    if (cut == 0) return;
    split->second = *first;
    split->second.first_row = cut;
    split->second.end_row = first->height;
    split->second.started = NULL;
    split->second.context = NULL;
    if (split->decoder->jpeg_fail_thread_start) return;
    if (h5img_second_thread_start(&split->thread, run_second_band, split) != H5IMG_OK) return;
    split->running = 1;
    first->end_row = cut;
}

/* The first band's `started` hook. Fresh output is faulted in after the
 * second band has started: that band spends its first milliseconds
 * entropy-decoding rows above the cut, writing nothing, so the two threads
 * never fault the same buffer at once (which was erratic on a VM), and the
 * fault-in overlaps with that work instead of delaying both bands. To
 * allocate, decode and free a fresh 2448x2048 q90 frame took 8.1 ms this
 * way against 8.9-9.0 ms faulting in first (C loop, medians of 192, two
 * runs); through h5py, fresh-page colour reads measured 18.1 against 19.1
 * ms in one set of 24 interleaved pairs (faster in 21), but 18.8 against
 * 18.5 in an earlier set of 10 (faster in 5). */
static void start_second_band(h5img_jpeg_band *first, j_decompress_ptr cinfo)
{
    struct split *split = first->context;
    try_second_band(first, cinfo);
    h5img_fault_in_pending(split->decoder);
}

h5img_status h5img_jpeg_decode_image(h5img_decoder *decoder, const uint8_t *data, size_t size,
                                     const h5img_info *info, J_COLOR_SPACE space, uint8_t *pixels)
{
    struct split split;
    memset(&split, 0, sizeof split);
    split.decoder = decoder;
    h5img_jpeg_band first;
    memset(&first, 0, sizeof first);
    first.data = data;
    first.size = size;
    first.space = space;
    first.width = info->width;
    first.height = info->height;
    first.pixels = pixels;
    first.row_bytes = (size_t)info->width * (space == JCS_GRAYSCALE ? 1 : 3);
    first.end_row = info->height;
    first.started = split_wanted(decoder, info) ? start_second_band : NULL;
    first.context = &split;
    if (!first.started) h5img_fault_in_pending(decoder);

    decoder->jpeg_split_row = 0;
    h5img_jpeg_decode_band(&first);
    if (split.running) {
        h5img_second_thread_join(split.thread);
        decoder->jpeg_split_row = split.second.first_row;
        /* Only the automatic choice learns from it: a caller who asked for
         * two threads, or a test that forced them, keeps them. */
        if (decoder->threads == 0 && !decoder->jpeg_force_row)
            h5img_jpeg_split_contention(split.second_cpu_ns, split.second_wall_ns);
    }
    /* Both bands entropy-decode the rows above the cut, so bad data there
     * usually fails both, with the same sentence; the first band's failure
     * is the one a one-band decode would have met first. */
    const h5img_jpeg_band *failed = first.status != H5IMG_OK                        ? &first
                                    : split.running && split.second.status != H5IMG_OK ? &split.second
                                                                                      : NULL;
    if (!failed) return H5IMG_OK;
    return h5img_fail(decoder, failed->status, "JPEG %ux%u: %s", info->width, info->height, failed->message);
}

void h5img_jpeg_force_split(h5img_decoder *decoder, uint32_t row, int fail_thread_start)
{
    if (!decoder) return;
    decoder->jpeg_force_row = row;
    decoder->jpeg_fail_thread_start = fail_thread_start;
}
