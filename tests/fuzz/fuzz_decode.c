/* fuzz_decode.c: libFuzzer harness for h5img_decoder_decode/h5img_decode: any bytes, any layout, tight limits. */
/*
 * Input = image bytes followed by an 8-byte trailer that chooses the output
 * layout (see decode_trailer). What it guards, beyond "no crash, no
 * sanitizer report":
 *   - a status is always one of the h5img_status values, with a message on
 *     failure and "" on success;
 *   - success only for bytes whose header probes to exactly the layout's
 *     height and width, within the limits;
 *   - success means EVERY output byte was written: the decode runs twice,
 *     into a buffer pre-filled with 0x00 and into one pre-filled with 0xff
 *     (a fresh one-shot decoder the second time, so stale scratch state of
 *     the reused decoder shows too), and both results must be identical;
 *   - the limits from the environment are the ones in force;
 *   - a JPEG decodes the same as one band and as two (jpeg_split.c, forced
 *     through the test hook h5img_jpeg_force_split): every JPEG input is
 *     decoded once more as two bands cut at its middle row and at the
 *     trailer's split row, and each such decode must return the status of
 *     the one-band decode (message rules as above) and, on success, the
 *     same pixels, every byte written (its buffer is pre-filled with 0xff,
 *     the one-band one with 0x00); mode bit 4 also forces the split on one
 *     of the two decodes above, so the split decode goes through every
 *     check there too. The cut a decode made (decoder->jpeg_split_row)
 *     must lie inside the image, and be 0 when the thread start failed.
 * Any violation is __builtin_trap(), so libFuzzer keeps the input.
 * With H5IMG_FUZZ_STATS set, the process prints at exit how many JPEG
 * inputs were compared split against unsplit and how many really cut.
 * Under libFuzzer, extra counters (note_outcome) feed back what happened
 * inside the uninstrumented libjpeg and libspng.
 */
#include "h5img.h"
#include "codec/codec.h" /* h5img_jpeg_force_split, decoder->jpeg_split_row: link the static codec library */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tight limits so that any header can be fuzzed without exhausting memory. */
#define FUZZ_MAX_PIXELS 262144u            /* 512 x 512 */
#define FUZZ_MAX_CHUNK_BYTES (4u << 20)    /* 4 MiB */
#define TRAILER 8

/* Trailer bytes (t = the last 8 bytes of the input):
 *   t[0..1] height - 1 (mod 512), t[2..3] width - 1 (mod 512), big-endian
 *   t[4]    channels: {1, 3, 4}[t[4] % 3]; bit 7: element size 2
 *   t[5]    rule 1 + (t[5] & 3); bit 2: rule 0 (AUTO, an invalid layout
 *           rule that must be refused); bit 3: rule resolved by
 *           h5img_resolve_rule; bits 4-7: high bits of the split row
 *   t[6]    flags: t[6] & 3 (BGR, BIG_ENDIAN); bit 7: also an unknown bit;
 *           bits 2-6: low bits of the split row
 *   t[7]    mode: bit 0 height/width from h5img_probe; bit 1 channels and
 *           element size from the probe too; bit 2 decode with h5img_decode
 *           (one-shot) first instead of the reused decoder; bit 3 give a
 *           wrong output size (must be refused as H5IMG_E_ARGUMENT);
 *           bit 4 the decode through the reused decoder (the first one, or
 *           the second with bit 2) is forced to split a JPEG into two bands
 *           at the split row; bit 5 with bit 4: starting the second band's
 *           thread fails (the one-band fallback)
 * Split row: k = (t[5] >> 4) << 5 | (t[6] >> 2 & 31), 0..511; k = 0 is
 * H5IMG_JPEG_SPLIT_AUTO (the balanced row), else row 8 * k, which the hook
 * rounds down to a whole iMCU row and keeps inside the image. Bits 4-7 of
 * t[5] and 2-6 of t[6] were unused before, so older corpus files keep
 * their layout (and split at the balanced row). */
enum {
    MODE_PROBE_SIZE = 1,
    MODE_PROBE_TYPE = 2,
    MODE_ONE_SHOT = 4,
    MODE_BAD_SIZE = 8,
    MODE_SPLIT = 16,
    MODE_SPLIT_NO_THREAD = 32
};

static h5img_decoder *shared_decoder;

/* Counters for H5IMG_FUZZ_STATS: is the split path really reached? */
static struct {
    unsigned long jpeg_inputs, unsplit_ok, split_decodes, split_cut, split_cut_ok;
} stats;

/* Feedback from inside the codec libraries, which are not instrumented
 * (libjpeg, libspng: the system's): every decode bumps one extra libFuzzer
 * counter chosen by its status, its message with the digits left out (so
 * the kind of libjpeg error or warning, not its row or size), whether it was
 * forced to split, where the cut fell (none, or the quarter of the image)
 * and, for a JPEG, its process and sampling factors (jpeg_shape). Without
 * them, mutated JPEGs that reach new libjpeg behaviour, and the split seeds
 * of other chroma layouts, add no coverage and are dropped from the corpus. */
#define OUTCOME_COUNTERS 1024
#ifdef H5IMG_LIBFUZZER
__attribute__((used, section("__libfuzzer_extra_counters")))
#endif
static uint8_t outcome_counters[OUTCOME_COUNTERS];

static uint32_t current_shape; /* jpeg_shape of the input being run */

/* A hash of the first SOFn marker's type and each component's sampling
 * byte (what decides the iMCU height, so where a split can cut), or 0. */
static uint32_t jpeg_shape(const uint8_t *p, size_t size)
{
    if (size < 4 || p[0] != 0xff || p[1] != 0xd8) return 0;
    size_t i = 2;
    while (i + 4 <= size) {
        if (p[i] != 0xff) return 0;
        uint8_t marker = p[i + 1];
        if (marker == 0xff) { /* fill byte */
            i++;
            continue;
        }
        size_t length = (size_t)p[i + 2] << 8 | p[i + 3];
        if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc) {
            if (length < 8 || i + 2 + length > size) return 0;
            const uint8_t *sof = p + i + 4;
            uint32_t h = 2166136261u;
            h = (h ^ marker) * 16777619u;
            for (size_t c = 0; c < sof[5] && 8 + 3 * c + 1 < length; c++) h = (h ^ sof[6 + 3 * c + 1]) * 16777619u;
            return h | 1;
        }
        if (marker == 0xda || marker == 0xd9) return 0;
        i += 2 + length;
    }
    return 0;
}

static void note_outcome(int forced, h5img_status status, const char *message, uint32_t cut, uint32_t height)
{
    uint32_t quarter = cut && height ? 1 + (uint32_t)((uint64_t)cut * 4 / height) : 0;
    uint32_t h = 2166136261u ^ current_shape; /* FNV-1a */
    h = (h ^ (uint32_t)forced) * 16777619u;
    h = (h ^ (uint32_t)status) * 16777619u;
    h = (h ^ quarter) * 16777619u;
    for (const char *p = message; *p; p++)
        if (*p < '0' || *p > '9') h = (h ^ (uint8_t)*p) * 16777619u;
    uint8_t *counter = &outcome_counters[h % OUTCOME_COUNTERS];
    if (*counter < 255) ++*counter;
}

static void print_stats(void)
{
    fprintf(stderr,
            "fuzz_decode stats: %lu JPEG inputs compared split against unsplit (%lu decoded unsplit); %lu forced "
            "split decodes, %lu of them cut in two (%lu of those succeeded)\n",
            stats.jpeg_inputs, stats.unsplit_ok, stats.split_decodes, stats.split_cut, stats.split_cut_ok);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char text[32];
    snprintf(text, sizeof text, "%u", FUZZ_MAX_PIXELS);
    setenv("H5IMG_MAX_PIXELS", text, 1);
    snprintf(text, sizeof text, "%u", FUZZ_MAX_CHUNK_BYTES);
    setenv("H5IMG_MAX_CHUNK_BYTES", text, 1);
    /* The limits are read once per process: they must be ours now. */
    if (h5img_max_pixels() != FUZZ_MAX_PIXELS || h5img_max_chunk_bytes() != FUZZ_MAX_CHUNK_BYTES) {
        fprintf(stderr, "fuzz_decode: limits from the environment not in force (%llu pixels, %zu bytes)\n",
                (unsigned long long)h5img_max_pixels(), h5img_max_chunk_bytes());
        abort();
    }
    shared_decoder = h5img_decoder_new();
    if (!shared_decoder) abort();
    if (getenv("H5IMG_FUZZ_STATS")) atexit(print_stats);
    return 0;
}

static int status_valid(h5img_status status)
{
    return status >= H5IMG_OK && status <= H5IMG_E_IO;
}

static void decode_trailer(const uint8_t *t, h5img_layout *layout, unsigned *mode, uint32_t *split_row)
{
    static const uint32_t channel_set[3] = {1, 3, 4};
    memset(layout, 0, sizeof *layout);
    layout->height = 1 + (((uint32_t)t[0] << 8 | t[1]) % 512u);
    layout->width = 1 + (((uint32_t)t[2] << 8 | t[3]) % 512u);
    layout->channels = channel_set[(t[4] & 0x7f) % 3];
    layout->element_size = t[4] & 0x80 ? 2 : 1;
    layout->rule = (h5img_rule)(1 + (t[5] & 3));
    layout->flags = t[6] & 3;
    if (t[6] & 0x80) layout->flags |= 0x40;
    *mode = t[7];
    uint32_t k = (uint32_t)(t[5] >> 4) << 5 | (uint32_t)(t[6] >> 2 & 31);
    *split_row = k ? 8 * k : H5IMG_JPEG_SPLIT_AUTO;
    if (t[5] & 8) layout->rule = h5img_resolve_rule(layout->channels, layout->element_size);
    if (t[5] & 4) layout->rule = H5IMG_RULE_AUTO;
}

/* A failure says why, a success says nothing. */
static void check_message(h5img_status status, const char *message)
{
    if (!status_valid(status)) __builtin_trap();
    if (status != H5IMG_OK && message[0] == '\0') __builtin_trap();
    if (status == H5IMG_OK && message[0] != '\0') __builtin_trap();
}

/* Decode on the reused decoder forced to two bands cut at `row` (0: the
 * normal rules), then put the hook back. */
static h5img_status decode_split(const uint8_t *image, size_t image_size, const h5img_layout *layout, uint8_t *out,
                                 size_t out_size, uint32_t row, int fail_thread_start, int is_jpeg)
{
    h5img_jpeg_force_split(shared_decoder, row, fail_thread_start);
    shared_decoder->jpeg_split_row = 0; /* only a decode that reaches the JPEG codec sets it */
    h5img_status status = h5img_decoder_decode(shared_decoder, image, image_size, layout, out, out_size);
    h5img_jpeg_force_split(shared_decoder, 0, 0);
    note_outcome(row != 0, status, h5img_decoder_message(shared_decoder), shared_decoder->jpeg_split_row,
                 layout->height);
    if (row && is_jpeg) {
        uint32_t cut = shared_decoder->jpeg_split_row;
        if (cut && (fail_thread_start || cut >= layout->height)) __builtin_trap();
        stats.split_decodes++;
        if (cut) stats.split_cut++;
        if (cut && status == H5IMG_OK) stats.split_cut_ok++;
    }
    return status;
}

/* A JPEG decoded as one band (`status`, and on success `pixels`, written
 * into a buffer pre-filled with 0x00) must decode the same cut in two at
 * the middle row and at the trailer's split row: same status, same pixels. */
static void check_split_same(const uint8_t *image, size_t image_size, const h5img_layout *layout, size_t give_size,
                             size_t out_size, h5img_status status, const uint8_t *pixels, uint32_t trailer_row)
{
    uint8_t *split = malloc(give_size);
    if (!split) return;
    uint32_t middle = layout->height / 2 ? layout->height / 2 : 1;
    const uint32_t rows[2] = {middle, trailer_row};
    stats.jpeg_inputs++;
    if (status == H5IMG_OK) stats.unsplit_ok++;
    for (int i = 0; i < 2; i++) {
        memset(split, 0xff, give_size);
        h5img_status got = decode_split(image, image_size, layout, split, give_size, rows[i], 0, 1);
        check_message(got, h5img_decoder_message(shared_decoder));
        if (got != status) __builtin_trap(); /* split and unsplit disagree on success or failure */
        if (status == H5IMG_OK && memcmp(split, pixels, out_size) != 0) __builtin_trap(); /* different pixels */
    }
    free(split);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size <= TRAILER) return 0;
    size_t image_size = size - TRAILER;
    h5img_layout layout;
    unsigned mode;
    uint32_t split_row;
    decode_trailer(data + image_size, &layout, &mode, &split_row);

    /* The image in a buffer of its exact size, so ASan sees any over-read. */
    uint8_t *image = malloc(image_size);
    if (!image) return 0;
    memcpy(image, data, image_size);

    int is_jpeg = h5img_detect(image, image_size) == H5IMG_CODEC_JPEG;
    current_shape = is_jpeg ? jpeg_shape(image, image_size) : 0;
    /* Mode bit 4: the reused decoder's decode below splits a JPEG. */
    uint32_t force_row = (mode & MODE_SPLIT) ? split_row : 0;
    int fail_thread = (mode & MODE_SPLIT) && (mode & MODE_SPLIT_NO_THREAD);

    h5img_info info;
    h5img_status probed = h5img_probe(image, image_size, &info);
    if (!status_valid(probed)) __builtin_trap();
    if (probed == H5IMG_OK) {
        if (info.width == 0 || info.height == 0) __builtin_trap(); /* probe accepted an empty image */
        if (info.channels != 1 && info.channels != 3 && info.channels != 4) __builtin_trap();
        if (info.element_size != 1 && info.element_size != 2) __builtin_trap();
        if (mode & MODE_PROBE_SIZE) {
            layout.width = info.width;
            layout.height = info.height;
        }
        if (mode & MODE_PROBE_TYPE) {
            layout.channels = info.channels;
            layout.element_size = info.element_size;
            if (layout.rule != H5IMG_RULE_AUTO) layout.rule = H5IMG_RULE_NATIVE;
        }
    }

    /* Only a layout within the harness' budget is decoded at all. */
    size_t out_size = h5img_layout_bytes(&layout);
    if (out_size == 0 || out_size > FUZZ_MAX_CHUNK_BYTES ||
        (uint64_t)layout.width * layout.height > FUZZ_MAX_PIXELS) {
        if (h5img_layout_check(&layout) == H5IMG_OK) __builtin_trap(); /* over the limits yet accepted */
        free(image);
        return 0;
    }
    size_t give_size = (mode & MODE_BAD_SIZE) ? out_size + 1 : out_size;
    uint8_t *first = malloc(give_size), *second = malloc(give_size);
    if (!first || !second) {
        free(first);
        free(second);
        free(image);
        return 0;
    }
    memset(first, 0x00, give_size);
    memset(second, 0xff, give_size);

    char message[256] = "";
    h5img_status status;
    if (mode & MODE_ONE_SHOT) {
        status = h5img_decode(image, image_size, &layout, first, give_size, message, sizeof message);
        note_outcome(0, status, message, 0, layout.height);
    } else {
        status = decode_split(image, image_size, &layout, first, give_size, force_row, fail_thread, is_jpeg);
        snprintf(message, sizeof message, "%s", h5img_decoder_message(shared_decoder));
    }
    check_message(status, message); /* a failure must say why, "" after success */
    if (h5img_strerror(status) == NULL) __builtin_trap();
    if ((mode & MODE_BAD_SIZE) && status != H5IMG_E_ARGUMENT && status != H5IMG_E_LIMIT) __builtin_trap();
    if (layout.rule == H5IMG_RULE_AUTO && status == H5IMG_OK) __builtin_trap(); /* AUTO is no decode layout */
    if (layout.flags & ~H5IMG_FLAGS_KNOWN && status == H5IMG_OK) __builtin_trap();

    if (status == H5IMG_OK) {
        /* Success only for a header that says exactly this size. */
        if (probed != H5IMG_OK || info.width != layout.width || info.height != layout.height) __builtin_trap();
        if (layout.rule == H5IMG_RULE_NATIVE &&
            (info.channels != layout.channels || info.element_size != layout.element_size))
            __builtin_trap();
        /* Every byte written, and the same bytes from the other decoder. */
        h5img_status again;
        if (mode & MODE_ONE_SHOT) {
            again = decode_split(image, image_size, &layout, second, out_size, force_row, fail_thread, is_jpeg);
        } else {
            again = h5img_decode(image, image_size, &layout, second, out_size, NULL, 0);
        }
        if (again != H5IMG_OK) __builtin_trap();
        if (memcmp(first, second, out_size) != 0) __builtin_trap();
    }

    /* Every JPEG: one band against two. The reference is the first decode
     * when it ran as one band, else a one-band decode made here. */
    if (is_jpeg) {
        if (force_row && !(mode & MODE_ONE_SHOT)) {
            memset(first, 0x00, give_size);
            status = decode_split(image, image_size, &layout, first, give_size, 0, 0, 0);
            check_message(status, h5img_decoder_message(shared_decoder));
        }
        check_split_same(image, image_size, &layout, give_size, out_size, status, first, split_row);
    }
    free(first);
    free(second);
    free(image);
    return 0;
}

#ifdef H5IMG_LIBFUZZER
#include "png_mutate.h"

/* The trailer alone (1 in 8), or the image with PNG-aware mutation and the trailer kept. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    if (size <= TRAILER || max_size <= 2 * TRAILER) return LLVMFuzzerMutate(data, size, max_size);
    uint8_t trailer[TRAILER];
    size_t image = size - TRAILER;
    memcpy(trailer, data + image, TRAILER);
    if (seed % 8 == 0) {
        LLVMFuzzerMutate(trailer, TRAILER, TRAILER);
    } else {
        image = pm_mutate(data, image, max_size - TRAILER, seed / 8);
        if (image == 0) image = 1;
    }
    memcpy(data + image, trailer, TRAILER);
    return image + TRAILER;
}
#endif
