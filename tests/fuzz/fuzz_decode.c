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
 *   - the limits from the environment are the ones in force.
 * Any violation is __builtin_trap(), so libFuzzer keeps the input.
 */
#include "h5img.h"

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
 *           h5img_resolve_rule
 *   t[6]    flags: t[6] & 3 (BGR, BIG_ENDIAN); bit 7: also an unknown bit
 *   t[7]    mode: bit 0 height/width from h5img_probe; bit 1 channels and
 *           element size from the probe too; bit 2 decode with h5img_decode
 *           (one-shot) first instead of the reused decoder; bit 3 give a
 *           wrong output size (must be refused as H5IMG_E_ARGUMENT) */
enum { MODE_PROBE_SIZE = 1, MODE_PROBE_TYPE = 2, MODE_ONE_SHOT = 4, MODE_BAD_SIZE = 8 };

static h5img_decoder *shared_decoder;

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
    return 0;
}

static int status_valid(h5img_status status)
{
    return status >= H5IMG_OK && status <= H5IMG_E_IO;
}

static void decode_trailer(const uint8_t *t, h5img_layout *layout, unsigned *mode)
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
    if (t[5] & 8) layout->rule = h5img_resolve_rule(layout->channels, layout->element_size);
    if (t[5] & 4) layout->rule = H5IMG_RULE_AUTO;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size <= TRAILER) return 0;
    size_t image_size = size - TRAILER;
    h5img_layout layout;
    unsigned mode;
    decode_trailer(data + image_size, &layout, &mode);

    /* The image in a buffer of its exact size, so ASan sees any over-read. */
    uint8_t *image = malloc(image_size);
    if (!image) return 0;
    memcpy(image, data, image_size);

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
    } else {
        status = h5img_decoder_decode(shared_decoder, image, image_size, &layout, first, give_size);
        snprintf(message, sizeof message, "%s", h5img_decoder_message(shared_decoder));
    }
    if (!status_valid(status)) __builtin_trap();
    if (status != H5IMG_OK && message[0] == '\0') __builtin_trap(); /* a failure must say why */
    if (status == H5IMG_OK && message[0] != '\0') __builtin_trap(); /* "" after success */
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
            again = h5img_decoder_decode(shared_decoder, image, image_size, &layout, second, out_size);
        } else {
            again = h5img_decode(image, image_size, &layout, second, out_size, NULL, 0);
        }
        if (again != H5IMG_OK) __builtin_trap();
        if (memcmp(first, second, out_size) != 0) __builtin_trap();
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
