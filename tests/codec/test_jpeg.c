/* test_jpeg.c: JPEG probe and decode (one band, and split over two threads) against OpenCV; malformed input. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "codec/codec.h"
#include "core/second_thread.h"
#include "oracle.h"

#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <turbojpeg.h>

static oracle conformance_oracle; /* H5IMG_ORACLE_DIR: the libjpeg-turbo test images */
static oracle variant_oracle;     /* H5IMG_ORACLE_DIR/jpeg_variants: make_jpeg_variants.py */
static char conformance_jpeg_dir[1024];

static const char *const RULES[] = {"native", "color", "mask", "luma"};

/* ---- helpers ---- */

static h5img_rule rule_from_name(const char *name)
{
    if (strcmp(name, "native") == 0) return H5IMG_RULE_NATIVE;
    if (strcmp(name, "color") == 0) return H5IMG_RULE_COLOR;
    if (strcmp(name, "mask") == 0) return H5IMG_RULE_MASK;
    return H5IMG_RULE_LUMA;
}

static uint8_t *load(const char *dir, const char *name, size_t *size)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *data = read_file(path, size);
    ck_assert_msg(data != NULL, "cannot read %s", path);
    return data;
}

static uint8_t *load_testorig(size_t *size)
{
    return load(conformance_jpeg_dir, "testorig.jpg", size);
}

/* The oracle is RGB; H5IMG_FLAG_BGR output must be the same pixels swapped. */
static void swap_red_blue(uint8_t *pixels, size_t size)
{
    for (size_t i = 0; i + 2 < size; i += 3) {
        uint8_t t = pixels[i];
        pixels[i] = pixels[i + 2];
        pixels[i + 2] = t;
    }
}

/* How a test decodes: ONE_BAND on the calling thread, SPLIT_AUTO as two
 * bands cut where the automatic rule cuts, any other value as two bands cut
 * at that row (rounded by the decoder); SPLIT_AUTO and rows force the split
 * whatever the image size and CPU count. */
#define ONE_BAND 0u
#define SPLIT_AUTO H5IMG_JPEG_SPLIT_AUTO

static const uint32_t MODES[] = {ONE_BAND, SPLIT_AUTO};

static const char *mode_name(uint32_t mode)
{
    return mode == ONE_BAND ? "one band" : mode == SPLIT_AUTO ? "split (auto cut)" : "split (given cut)";
}

/* A decoder that forces the split, or stays on one thread, as `mode` says. */
static h5img_decoder *decoder_in_mode(uint32_t mode)
{
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    if (mode == ONE_BAND)
        ck_assert_int_eq(h5img_decoder_set_threads(decoder, 1), H5IMG_OK);
    else
        h5img_jpeg_force_split(decoder, mode, 0);
    return decoder;
}

/* Decode on a fresh decoder in `mode`; fills `message` and, if asked, the
 * first row of the second band (0 when the decode ran as one band). */
static h5img_status decode_in_mode(const uint8_t *data, size_t size, const h5img_layout *layout, uint8_t *out,
                                   uint32_t mode, char *message, size_t message_size, uint32_t *split_row)
{
    h5img_decoder *decoder = decoder_in_mode(mode);
    h5img_status status = h5img_decoder_decode(decoder, data, size, layout, out, h5img_layout_bytes(layout));
    snprintf(message, message_size, "%s", h5img_decoder_message(decoder));
    if (split_row) *split_row = decoder->jpeg_split_row;
    h5img_decoder_free(decoder);
    return status;
}

/* Offset of the first frame header (SOFn) found by walking segments, or 0. */
static size_t find_sof(const uint8_t *data, size_t size)
{
    size_t pos = 2;
    while (pos + 4 <= size && data[pos] == 0xff) {
        uint8_t m = data[pos + 1];
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) return pos;
        pos += 2 + ((size_t)data[pos + 2] << 8 | data[pos + 3]);
    }
    return 0;
}

/* Output rows per iMCU row: 8 x the largest vertical sampling factor. */
static uint32_t imcu_height(const uint8_t *data, size_t size)
{
    size_t sof = find_sof(data, size);
    ck_assert_uint_gt(sof, 0);
    uint32_t components = data[sof + 9], largest = 1;
    for (uint32_t c = 0; c < components; c++) {
        uint32_t v = data[sof + 11 + 3 * c] & 0x0f;
        if (v > largest) largest = v;
    }
    return 8 * largest;
}

/* Where a forced cut at `row` must land: down to an iMCU row boundary, at
 * least one iMCU row, at most the start of the last; 0 for one iMCU row. */
static uint32_t expected_cut(uint32_t row, uint32_t height, uint32_t imcu)
{
    if (height <= imcu) return 0;
    uint32_t last = (height - 1) / imcu * imcu, cut = row / imcu * imcu;
    if (cut < imcu) cut = imcu;
    return cut < last ? cut : last;
}

/* The second band's first row in `mode` must be where the rules put it:
 * none for progressive images, one-iMCU-row images and one-band decodes;
 * a whole iMCU row strictly inside the image otherwise. */
static void check_split_row(const char *name, const uint8_t *data, size_t size, uint32_t mode, uint32_t split_row)
{
    h5img_info info;
    ck_assert_int_eq(h5img_probe(data, size, &info), H5IMG_OK);
    uint32_t imcu = imcu_height(data, size);
    if (mode == ONE_BAND || info.interlaced || info.height <= imcu) {
        ck_assert_msg(split_row == 0, "%s (%s) split at row %u", name, mode_name(mode), split_row);
    } else if (mode == SPLIT_AUTO) {
        ck_assert_msg(split_row > 0 && split_row % imcu == 0 && split_row < info.height,
                      "%s: automatic cut at row %u of %u (iMCU %u)", name, split_row, info.height, imcu);
    } else {
        ck_assert_msg(split_row == expected_cut(mode, info.height, imcu), "%s: cut asked at %u landed at %u", name,
                      mode, split_row);
    }
}

/* Decode `dir/e->name` under the entry's rule in `mode` and compare with OpenCV. */
static void check_against_oracle_in_mode(const oracle *o, const char *dir, const oracle_entry *e, uint32_t flags,
                                         uint32_t mode)
{
    ck_assert_msg(e->ok, "OpenCV failed on %s (%s), which the JPEG tests expect to decode", e->name, e->rule);
    size_t size = 0, expected_size = 0;
    uint8_t *data = load(dir, e->name, &size);
    uint8_t *expected = oracle_pixels(o, e, &expected_size);
    ck_assert_msg(expected != NULL, "no oracle pixels for %s.%s", e->name, e->rule);
    h5img_layout layout = {e->height, e->width, e->channels, e->element_size, rule_from_name(e->rule), flags};
    size_t out_size = h5img_layout_bytes(&layout);
    ck_assert_uint_eq(out_size, expected_size);
    if ((flags & H5IMG_FLAG_BGR) && e->channels == 3) swap_red_blue(expected, expected_size);
    uint8_t *out = malloc(out_size);
    char message[256];
    uint32_t split_row = 0;
    h5img_status status = decode_in_mode(data, size, &layout, out, mode, message, sizeof message, &split_row);
    ck_assert_msg(status == H5IMG_OK, "%s %s%s, %s: status %d: %s", e->name, e->rule, flags ? " bgr" : "",
                  mode_name(mode), status, message);
    long diff = first_difference(out, expected, out_size);
    ck_assert_msg(diff < 0, "%s %s%s, %s (row %u) differs from OpenCV at byte %ld (%u vs %u)", e->name, e->rule,
                  flags ? " bgr" : "", mode_name(mode), split_row, diff, diff < 0 ? 0 : out[diff],
                  diff < 0 ? 0 : expected[diff]);
    check_split_row(e->name, data, size, mode, split_row);
    free(out);
    free(expected);
    free(data);
}

/* Both as one band and as two bands cut by the automatic rule. */
static void check_against_oracle(const oracle *o, const char *dir, const oracle_entry *e, uint32_t flags)
{
    for (size_t m = 0; m < sizeof MODES / sizeof *MODES; m++) check_against_oracle_in_mode(o, dir, e, flags, MODES[m]);
}

static void check_file_all_rules(const char *name, uint32_t flags)
{
    for (size_t r = 0; r < sizeof RULES / sizeof *RULES; r++) {
        const oracle_entry *e = oracle_find(&conformance_oracle, name, RULES[r]);
        ck_assert_msg(e != NULL, "no oracle entry for %s %s", name, RULES[r]);
        check_against_oracle(&conformance_oracle, conformance_jpeg_dir, e, flags);
    }
}

/* Decode bytes into a testorig-shaped COLOR layout in `mode`; returns the status and fills `message`. */
static h5img_status decode_testorig_shaped(const uint8_t *data, size_t size, uint32_t mode, char *message,
                                           size_t message_size)
{
    h5img_layout layout = {149, 227, 3, 1, H5IMG_RULE_COLOR, 0};
    uint8_t *out = malloc(h5img_layout_bytes(&layout));
    h5img_status status = decode_in_mode(data, size, &layout, out, mode, message, message_size, NULL);
    free(out);
    return status;
}

/* Broken bytes must fail the same way in every mode: same status, same
 * sentence (a split decode reports the failure a one-band decode meets
 * first). Returns the one-band status, its sentence in `message`. */
static h5img_status decode_testorig_every_mode(const uint8_t *data, size_t size, char *message, size_t message_size)
{
    h5img_status status = decode_testorig_shaped(data, size, ONE_BAND, message, message_size);
    static const uint32_t split_modes[] = {SPLIT_AUTO, 16, 128, 145};
    for (size_t m = 0; m < sizeof split_modes / sizeof *split_modes; m++) {
        char split_message[256] = "";
        h5img_status split = decode_testorig_shaped(data, size, split_modes[m], split_message, sizeof split_message);
        ck_assert_msg(split == status && strcmp(split_message, message) == 0,
                      "%zu bytes, cut %u: one band says %d (%s), split says %d (%s)", size, split_modes[m], status,
                      message, split, split_message);
    }
    return status;
}

/* Offset of the first `marker` found by walking segments from SOI, or 0. */
static size_t find_marker(const uint8_t *data, size_t size, uint8_t marker)
{
    size_t pos = 2;
    while (pos + 4 <= size && data[pos] == 0xff) {
        if (data[pos + 1] == marker) return pos;
        pos += 2 + ((size_t)data[pos + 2] << 8 | data[pos + 3]);
    }
    return 0;
}

/* ---- bit-identity with OpenCV ---- */

START_TEST(test_baseline_420_matches_opencv_all_rules)
{
    check_file_all_rules("testorig.jpg", 0);
    check_file_all_rules("testorig.jpg", H5IMG_FLAG_BGR);
}
END_TEST

/* Despite the conformance README, testimgint.jpg is baseline SOF0 (libjpeg-turbo's
 * "-dct int" reference); progressive coverage comes from the variants. */
START_TEST(test_testimgint_matches_opencv_all_rules)
{
    check_file_all_rules("testimgint.jpg", 0);
    check_file_all_rules("testimgint.jpg", H5IMG_FLAG_BGR);
}
END_TEST

START_TEST(test_arithmetic_matches_opencv_all_rules)
{
    check_file_all_rules("testimgari.jpg", 0);
    check_file_all_rules("testimgari.jpg", H5IMG_FLAG_BGR);
}
END_TEST

/* Every chroma layout (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1), gray, progressive,
 * restart intervals, optimised Huffman tables and partial-MCU sizes. */
START_TEST(test_chroma_layouts_and_variants_match_opencv)
{
    ck_assert_uint_ge(variant_oracle.count, 88);
    for (size_t i = 0; i < variant_oracle.count; i++) {
        check_against_oracle(&variant_oracle, variant_oracle.dir, &variant_oracle.entries[i], 0);
        check_against_oracle(&variant_oracle, variant_oracle.dir, &variant_oracle.entries[i], H5IMG_FLAG_BGR);
    }
}
END_TEST

/* ---- probe ---- */

START_TEST(test_probe_reports_frame_header)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    h5img_info info;
    ck_assert_int_eq(h5img_probe(data, size, &info), H5IMG_OK);
    ck_assert_int_eq(info.codec, H5IMG_CODEC_JPEG);
    ck_assert_uint_eq(info.width, 227);
    ck_assert_uint_eq(info.height, 149);
    ck_assert_uint_eq(info.channels, 3);
    ck_assert_uint_eq(info.color_type, 3);
    ck_assert_uint_eq(info.bit_depth, 8);
    ck_assert_uint_eq(info.element_size, 1);
    ck_assert_uint_eq(info.interlaced, 0);
    free(data);

    data = load(variant_oracle.dir, "tj_420_progressive.jpg", &size);
    ck_assert_int_eq(h5img_probe(data, size, &info), H5IMG_OK);
    ck_assert_uint_eq(info.interlaced, 1);
    free(data);

    data = load(conformance_jpeg_dir, "testimgari.jpg", &size);
    ck_assert_int_eq(h5img_probe(data, size, &info), H5IMG_OK);
    ck_assert_uint_eq(info.interlaced, 0);
    ck_assert_uint_eq(info.width, 227);
    free(data);

    data = load(variant_oracle.dir, "cv_gray.jpg", &size);
    ck_assert_int_eq(h5img_probe(data, size, &info), H5IMG_OK);
    ck_assert_uint_eq(info.channels, 1);
    free(data);
}
END_TEST

/* libjpeg skips 0xFF fill bytes and parameterless markers before the
 * frame: the probe must too, and the pixels must not change. */
START_TEST(test_fill_bytes_and_standalone_markers_accepted)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    static const uint8_t extra[] = {0xff, 0xff, 0xff, 0x01, 0xff, 0xff};
    uint8_t *padded = malloc(size + sizeof extra);
    memcpy(padded, data, 2);
    memcpy(padded + 2, extra, sizeof extra);
    memcpy(padded + 2 + sizeof extra, data + 2, size - 2);
    h5img_info info;
    ck_assert_int_eq(h5img_probe(padded, size + sizeof extra, &info), H5IMG_OK);
    ck_assert_uint_eq(info.width, 227);

    const oracle_entry *e = oracle_find(&conformance_oracle, "testorig.jpg", "color");
    ck_assert_ptr_nonnull(e);
    size_t expected_size;
    uint8_t *expected = oracle_pixels(&conformance_oracle, e, &expected_size);
    uint8_t *out = malloc(expected_size);
    h5img_layout layout = {149, 227, 3, 1, H5IMG_RULE_COLOR, 0};
    char message[256];
    ck_assert_int_eq(h5img_decode(padded, size + sizeof extra, &layout, out, expected_size, message, sizeof message),
                     H5IMG_OK);
    ck_assert_int_eq(first_difference(out, expected, expected_size), -1);
    free(out);
    free(expected);
    free(padded);
    free(data);
}
END_TEST

START_TEST(test_probe_rejects_bad_segments)
{
    /* Segment length running past the end of the data. */
    static const uint8_t past_end[] = {0xff, 0xd8, 0xff, 0xe0, 0x10, 0x00, 'J', 'F'};
    /* Segment length below its own two bytes. */
    static const uint8_t tiny_length[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01, 0xff, 0xd9};
    /* Garbage where a marker must start. */
    static const uint8_t garbage[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x02, 0x12, 0x34, 0x56};
    /* Scan and image end before any frame header. */
    static const uint8_t sos_first[] = {0xff, 0xd8, 0xff, 0xda, 0x00, 0x02};
    static const uint8_t eoi_first[] = {0xff, 0xd8, 0xff, 0xd9};
    static const uint8_t soi_only[] = {0xff, 0xd8, 0xff};
    h5img_info info;
    ck_assert_int_eq(h5img_probe(past_end, sizeof past_end, &info), H5IMG_E_TRUNCATED);
    ck_assert_int_eq(h5img_probe(tiny_length, sizeof tiny_length, &info), H5IMG_E_CORRUPT);
    ck_assert_int_eq(h5img_probe(garbage, sizeof garbage, &info), H5IMG_E_CORRUPT);
    ck_assert_int_eq(h5img_probe(sos_first, sizeof sos_first, &info), H5IMG_E_CORRUPT);
    ck_assert_int_eq(h5img_probe(eoi_first, sizeof eoi_first, &info), H5IMG_E_CORRUPT);
    ck_assert_int_eq(h5img_probe(soi_only, sizeof soi_only, &info), H5IMG_E_TRUNCATED);
}
END_TEST

/* Zero height means "see DNL", which libjpeg cannot decode; zero width and
 * a component count that disagrees with the segment length are corrupt. */
START_TEST(test_probe_rejects_degenerate_frame)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    size_t sof = find_marker(data, size, 0xc0);
    ck_assert_uint_gt(sof, 0);
    h5img_info info;
    uint8_t saved[4];
    memcpy(saved, data + sof + 5, 4);
    data[sof + 5] = data[sof + 6] = 0; /* height */
    ck_assert_int_eq(h5img_probe(data, size, &info), H5IMG_E_UNSUPPORTED);
    memcpy(data + sof + 5, saved, 4);
    data[sof + 7] = data[sof + 8] = 0; /* width */
    ck_assert_int_eq(h5img_probe(data, size, &info), H5IMG_E_CORRUPT);
    memcpy(data + sof + 5, saved, 4);
    data[sof + 9] = 2; /* components, while the length says 3 */
    ck_assert_int_eq(h5img_probe(data, size, &info), H5IMG_E_CORRUPT);
    free(data);
}
END_TEST

/* ---- rejected inputs ---- */

START_TEST(test_12bit_rejected_with_depth_status)
{
    size_t size;
    uint8_t *data = load(conformance_jpeg_dir, "monkey12.jpg", &size);
    h5img_info info;
    ck_assert_int_eq(h5img_probe(data, size, &info), H5IMG_OK);
    ck_assert_uint_eq(info.bit_depth, 12);
    const h5img_rule rules[] = {H5IMG_RULE_NATIVE, H5IMG_RULE_COLOR};
    for (int i = 0; i < 2; i++) {
        h5img_layout layout = {info.height, info.width, info.channels, 1, rules[i], 0};
        size_t out_size = h5img_layout_bytes(&layout);
        uint8_t *out = malloc(out_size);
        char message[256];
        ck_assert_int_eq(h5img_decode(data, size, &layout, out, out_size, message, sizeof message), H5IMG_E_DEPTH);
        ck_assert_msg(strstr(message, "12-bit") != NULL, "message: %s", message);
        free(out);
    }
    free(data);
}
END_TEST

/* libjpeg substitutes grey rows for missing data and only warns; every
 * truncation point, in the headers or in the scan, must be a failure. */
START_TEST(test_truncated_testorig_fails)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    size_t sos = find_marker(data, size, 0xda);
    ck_assert_uint_gt(sos, 0);
    const size_t lengths[] = {3, 4, 20, 100, sos, sos + 6, sos + 40, size / 2, size - 100, size - 2, size - 1};
    for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
        char message[256] = "";
        h5img_status status = decode_testorig_every_mode(data, lengths[i], message, sizeof message);
        ck_assert_msg(status != H5IMG_OK, "truncated to %zu of %zu bytes but decoded", lengths[i], size);
        ck_assert_msg(message[0] != '\0', "no message for truncation at %zu", lengths[i]);
        /* Once the frame header is complete the cause is recognisably the end of the data. */
        if (lengths[i] >= sos)
            ck_assert_msg(status == H5IMG_E_TRUNCATED, "truncation at %zu: status %d: %s", lengths[i], status,
                          message);
    }
    free(data);
}
END_TEST

static size_t scan_start(const uint8_t *data, size_t size)
{
    size_t sos = find_marker(data, size, 0xda);
    ck_assert_uint_gt(sos, 0);
    return sos + 2 + ((size_t)data[sos + 2] << 8 | data[sos + 3]);
}

/* One byte of entropy-coded data turned into 0xFF makes a marker out of it
 * and its (non-zero) successor: libjpeg stops the scan early and warns
 * "Corrupt JPEG data: premature end of data segment", which we refuse. */
START_TEST(test_corrupt_entropy_byte_fails)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    size_t scan = scan_start(data, size);
    const size_t starts[] = {scan + 10, scan + (size - scan) / 2, size - 20};
    for (size_t i = 0; i < sizeof starts / sizeof *starts; i++) {
        size_t at = starts[i];
        while (data[at] == 0xff || data[at + 1] == 0x00 || data[at + 1] == 0xff) at++;
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        copy[at] = 0xff;
        char message[256] = "";
        h5img_status status = decode_testorig_every_mode(copy, size, message, sizeof message);
        ck_assert_msg(status == H5IMG_E_CORRUPT, "0xFF at %zu: status %d: %s", at, status, message);
        ck_assert_msg(strstr(message, "227x149") != NULL, "message lacks the size: %s", message);
        free(copy);
    }
    free(data);
}
END_TEST

/* JPEG has no checksum, so a flipped bit in Huffman data may decode to
 * different pixels without any libjpeg complaint; what we guard is that no
 * flip crashes, hangs or reports anything but success or corruption, and
 * that a split decode returns exactly what a one-band decode does, pixels
 * included, whichever band the flip lands in. */
START_TEST(test_flipped_entropy_bits_never_crash)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    size_t scan = scan_start(data, size);
    uint8_t *copy = malloc(size);
    h5img_layout layout = {149, 227, 3, 1, H5IMG_RULE_COLOR, 0};
    size_t out_size = h5img_layout_bytes(&layout);
    uint8_t *one = malloc(out_size), *split = malloc(out_size);
    static const uint32_t split_modes[] = {SPLIT_AUTO, 64};
    for (size_t at = scan; at < size - 2; at += 37) {
        memcpy(copy, data, size);
        copy[at] ^= (uint8_t)(1u << (at % 8));
        char message[256] = "";
        h5img_status status = decode_in_mode(copy, size, &layout, one, ONE_BAND, message, sizeof message, NULL);
        ck_assert_msg(status == H5IMG_OK || status == H5IMG_E_CORRUPT || status == H5IMG_E_TRUNCATED,
                      "flip at %zu: status %d: %s", at, status, message);
        for (size_t m = 0; m < sizeof split_modes / sizeof *split_modes; m++) {
            char split_message[256] = "";
            h5img_status split_status =
                decode_in_mode(copy, size, &layout, split, split_modes[m], split_message, sizeof split_message, NULL);
            ck_assert_msg(split_status == status && strcmp(split_message, message) == 0,
                          "flip at %zu, cut %u: one band %d (%s), split %d (%s)", at, split_modes[m], status, message,
                          split_status, split_message);
            if (status == H5IMG_OK)
                ck_assert_msg(first_difference(one, split, out_size) < 0, "flip at %zu, cut %u: pixels differ", at,
                              split_modes[m]);
        }
    }
    free(one);
    free(split);
    free(copy);
    free(data);
}
END_TEST

START_TEST(test_header_only_and_garbage_fail)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    size_t sos = find_marker(data, size, 0xda);
    char message[256];
    /* Every table and the frame, then the image ends. */
    uint8_t *headers = malloc(sos + 2);
    memcpy(headers, data, sos);
    headers[sos] = 0xff;
    headers[sos + 1] = 0xd9;
    ck_assert_int_ne(decode_testorig_every_mode(headers, sos + 2, message, sizeof message), H5IMG_OK);
    ck_assert_str_ne(message, "");
    static const uint8_t soi_only[] = {0xff, 0xd8};
    ck_assert_int_ne(decode_testorig_every_mode(soi_only, sizeof soi_only, message, sizeof message), H5IMG_OK);
    ck_assert_str_ne(message, "");
    static const uint8_t soi_garbage[] = {0xff, 0xd8, 0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef};
    ck_assert_int_ne(decode_testorig_every_mode(soi_garbage, sizeof soi_garbage, message, sizeof message),
                     H5IMG_OK);
    ck_assert_str_ne(message, "");
    free(headers);
    free(data);
}
END_TEST

/* A 65500x65500 claim is refused from the header alone: the layout check or
 * the shape check fires before any pixel buffer exists. */
START_TEST(test_huge_header_rejected_before_allocation)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    size_t sof = find_marker(data, size, 0xc0);
    data[sof + 5] = data[sof + 7] = 0xff;
    data[sof + 6] = data[sof + 8] = 0xdc;
    h5img_info info;
    ck_assert_int_eq(h5img_probe(data, size, &info), H5IMG_OK);
    ck_assert_uint_eq(info.width, 65500);
    ck_assert_uint_eq(info.height, 65500);
    char message[256];
    h5img_status status = decode_testorig_shaped(data, size, ONE_BAND, message, sizeof message);
    ck_assert_msg(status == H5IMG_E_LIMIT || status == H5IMG_E_SHAPE, "status %d: %s", status, message);
    /* A layout matching the claim: `out` is deliberately tiny, so any write would be caught by ASan. */
    h5img_layout huge = {65500, 65500, 3, 1, H5IMG_RULE_COLOR, 0};
    uint8_t tiny[16];
    status = h5img_decode(data, size, &huge, tiny, h5img_layout_bytes(&huge), message, sizeof message);
    ck_assert_msg(status == H5IMG_E_LIMIT, "status %d: %s", status, message);
    free(data);
}
END_TEST

/* OpenCV converts CMYK/YCCK with its own arithmetic that we do not copy. */
START_TEST(test_cmyk_reported_as_three_channels_but_unsupported)
{
    enum { W = 16, H = 8 };
    uint8_t cmyk[W * H * 4];
    for (size_t i = 0; i < sizeof cmyk; i++) cmyk[i] = (uint8_t)(i * 7);
    tjhandle handle = tjInitCompress();
    ck_assert_ptr_nonnull(handle);
    unsigned char *jpeg = NULL;
    unsigned long jpeg_size = 0;
    ck_assert_int_eq(tjCompress2(handle, cmyk, W, W * 4, H, TJPF_CMYK, &jpeg, &jpeg_size, TJSAMP_444, 90, 0), 0);
    tjDestroy(handle);
    h5img_info info;
    ck_assert_int_eq(h5img_probe(jpeg, jpeg_size, &info), H5IMG_OK);
    ck_assert_uint_eq(info.channels, 3);
    ck_assert_uint_eq(info.color_type, 4);
    const h5img_rule rules[] = {H5IMG_RULE_NATIVE, H5IMG_RULE_COLOR, H5IMG_RULE_MASK, H5IMG_RULE_LUMA};
    for (int i = 0; i < 4; i++) {
        uint32_t channels = i < 2 ? 3 : 1;
        h5img_layout layout = {H, W, channels, 1, rules[i], 0};
        uint8_t out[W * H * 3];
        char message[256];
        ck_assert_int_eq(h5img_decode(jpeg, jpeg_size, &layout, out, h5img_layout_bytes(&layout), message,
                                      sizeof message),
                         H5IMG_E_UNSUPPORTED);
        ck_assert_msg(strstr(message, "CMYK") != NULL, "message: %s", message);
    }
    tjFree(jpeg);
}
END_TEST

/* One decoder serves many frames: a failure (in either band) must leave
 * nothing sticky behind, and success must clear the message. */
START_TEST(test_decoder_reusable_after_failure)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    const oracle_entry *e = oracle_find(&conformance_oracle, "testorig.jpg", "native");
    ck_assert_ptr_nonnull(e);
    size_t expected_size;
    uint8_t *expected = oracle_pixels(&conformance_oracle, e, &expected_size);
    uint8_t *out = malloc(expected_size);
    h5img_layout layout = {149, 227, 3, 1, H5IMG_RULE_NATIVE, 0};
    for (size_t m = 0; m < sizeof MODES / sizeof *MODES; m++) {
        h5img_decoder *decoder = decoder_in_mode(MODES[m]);
        for (int round = 0; round < 3; round++) {
            ck_assert_int_eq(h5img_decoder_decode(decoder, data, size / 2, &layout, out, expected_size),
                             H5IMG_E_TRUNCATED);
            ck_assert_str_ne(h5img_decoder_message(decoder), "");
            ck_assert_int_eq(h5img_decoder_decode(decoder, data, size, &layout, out, expected_size), H5IMG_OK);
            ck_assert_str_eq(h5img_decoder_message(decoder), "");
            ck_assert_int_eq(first_difference(out, expected, expected_size), -1);
            check_split_row("testorig.jpg", data, size, MODES[m], decoder->jpeg_split_row);
        }
        h5img_decoder_free(decoder);
    }
    free(out);
    free(expected);
    free(data);
}
END_TEST

/* Copy of a JPEG without its DQT segments (an "abbreviated" stream). */
static uint8_t *without_quant_tables(const uint8_t *data, size_t size, size_t *out_size)
{
    uint8_t *copy = malloc(size);
    ck_assert_ptr_nonnull(copy);
    size_t in = 2, out = 2, removed = 0;
    memcpy(copy, data, 2);
    while (in + 4 <= size && data[in] == 0xff && data[in + 1] != 0xda) {
        size_t length = 2 + ((size_t)data[in + 2] << 8 | data[in + 3]);
        ck_assert_uint_le(in + length, size);
        if (data[in + 1] == 0xdb) {
            removed++;
        } else {
            memcpy(copy + out, data + in, length);
            out += length;
        }
        in += length;
    }
    ck_assert_uint_gt(removed, 0);
    memcpy(copy + out, data + in, size - in);
    *out_size = out + size - in;
    return copy;
}

/* A JPEG without DQT must fail on `decoder` after it has decoded the
 * complete JPEG: its tables must not leak into the next image. */
static void check_no_table_reuse(h5img_decoder *decoder, const uint8_t *data, size_t size, const h5img_layout *layout,
                                 int expect_split)
{
    size_t abbreviated_size, out_size = h5img_layout_bytes(layout);
    uint8_t *abbreviated = without_quant_tables(data, size, &abbreviated_size);
    uint8_t *out = malloc(out_size);
    ck_assert_int_ne(h5img_decoder_decode(decoder, abbreviated, abbreviated_size, layout, out, out_size), H5IMG_OK);
    ck_assert_int_eq(h5img_decoder_decode(decoder, data, size, layout, out, out_size), H5IMG_OK);
    ck_assert_msg((decoder->jpeg_split_row != 0) == expect_split, "good decode split at row %u",
                  decoder->jpeg_split_row);
    ck_assert_int_eq(h5img_decoder_decode(decoder, abbreviated, abbreviated_size, layout, out, out_size),
                     H5IMG_E_CORRUPT);
    ck_assert_msg(strstr(h5img_decoder_message(decoder), "uantization table") != NULL, "message: %s",
                  h5img_decoder_message(decoder));
    free(out);
    free(abbreviated);
}

/* libjpeg keeps quantisation tables across images on one handle. A JPEG
 * without DQT must fail as it does in OpenCV, also on a decoder that has
 * just read a complete JPEG (in one band or two), or its pixels would
 * depend on history. */
START_TEST(test_missing_quant_tables_fail_even_after_a_good_decode)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    h5img_layout layout = {149, 227, 3, 1, H5IMG_RULE_NATIVE, 0};
    for (size_t m = 0; m < sizeof MODES / sizeof *MODES; m++) {
        h5img_decoder *decoder = decoder_in_mode(MODES[m]);
        check_no_table_reuse(decoder, data, size, &layout, MODES[m] != ONE_BAND);
        h5img_decoder_free(decoder);
    }
    free(data);
    /* A frame big enough for the split without forcing. */
    data = load(variant_oracle.dir, "tj_420_large.jpg", &size);
    h5img_layout large = {725, 1283, 3, 1, H5IMG_RULE_COLOR, 0};
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 2), H5IMG_OK);
    check_no_table_reuse(decoder, data, size, &large, 1);
    h5img_decoder_free(decoder);
    free(data);
}
END_TEST

/* The native rule must follow the stored channels: gray is 1, colour 3. */
START_TEST(test_native_channel_mismatch_is_shape_error)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    h5img_layout layout = {149, 227, 1, 1, H5IMG_RULE_NATIVE, 0};
    size_t out_size = h5img_layout_bytes(&layout);
    uint8_t *out = malloc(out_size);
    char message[256];
    ck_assert_int_eq(h5img_decode(data, size, &layout, out, out_size, message, sizeof message), H5IMG_E_SHAPE);
    free(out);
    free(data);
}
END_TEST

/* ---- two bands on two threads ---- */

struct sweep_image {
    const oracle *o;
    const char *dir;
    const char *name;
};

/* A cut asked at every row (and past the bottom) must land on the iMCU row
 * boundary below it and change no pixel: every chroma layout (context rows
 * for vertical upsampling in 4:2:0 and 4:4:0), gray, arithmetic coding,
 * restart markers, partial MCUs, and images too short to split. Colour
 * output upsamples the chroma; luma output skips it, a different path
 * through libjpeg's skip. */
START_TEST(test_every_cut_row_matches_opencv)
{
    const struct sweep_image images[] = {
        {&conformance_oracle, conformance_jpeg_dir, "testorig.jpg"},
        {&conformance_oracle, conformance_jpeg_dir, "testimgari.jpg"},
        {&variant_oracle, variant_oracle.dir, "tj_444.jpg"},
        {&variant_oracle, variant_oracle.dir, "tj_422.jpg"},
        {&variant_oracle, variant_oracle.dir, "tj_420.jpg"},
        {&variant_oracle, variant_oracle.dir, "tj_440.jpg"},
        {&variant_oracle, variant_oracle.dir, "tj_411.jpg"},
        {&variant_oracle, variant_oracle.dir, "tj_gray.jpg"},
        {&variant_oracle, variant_oracle.dir, "cv_restart.jpg"},
        {&variant_oracle, variant_oracle.dir, "tj_411_33x15.jpg"},
        {&variant_oracle, variant_oracle.dir, "tj_440_17x9.jpg"},
        {&variant_oracle, variant_oracle.dir, "tj_422_3x5.jpg"},
    };
    static const char *const rules[] = {"color", "luma"};
    for (size_t i = 0; i < sizeof images / sizeof *images; i++) {
        size_t size;
        uint8_t *data = load(images[i].dir, images[i].name, &size);
        uint32_t imcu = imcu_height(data, size);
        for (size_t r = 0; r < sizeof rules / sizeof *rules; r++) {
            const oracle_entry *e = oracle_find(images[i].o, images[i].name, rules[r]);
            ck_assert_msg(e != NULL && e->ok, "no oracle entry for %s %s", images[i].name, rules[r]);
            size_t expected_size;
            uint8_t *expected = oracle_pixels(images[i].o, e, &expected_size);
            ck_assert_ptr_nonnull(expected);
            h5img_layout layout = {e->height, e->width, e->channels, 1, rule_from_name(e->rule), 0};
            uint8_t *out = malloc(expected_size);
            for (uint32_t row = 1; row <= e->height + 1; row++) {
                char message[256];
                uint32_t split_row = 0;
                h5img_status status =
                    decode_in_mode(data, size, &layout, out, row, message, sizeof message, &split_row);
                ck_assert_msg(status == H5IMG_OK, "%s %s cut %u: %s", e->name, e->rule, row, message);
                ck_assert_msg(split_row == expected_cut(row, e->height, imcu),
                              "%s: cut asked at %u landed at %u (iMCU %u, %u rows)", e->name, row, split_row, imcu,
                              e->height);
                long diff = first_difference(out, expected, expected_size);
                ck_assert_msg(diff < 0, "%s %s cut at %u differs from OpenCV at byte %ld (row %zu)", e->name, e->rule,
                              split_row, diff, diff < 0 ? 0 : (size_t)diff / (expected_size / e->height));
            }
            free(out);
            free(expected);
        }
        free(data);
    }
}
END_TEST

/* Damage above the cut, below it, or in both places fails a split decode
 * with the status and sentence of a one-band decode: the second band
 * entropy-decodes the first band's rows too, and the first band's failure
 * is reported first. When the damage is all below the cut, the rows above
 * it come out right, which shows the first band finished and the failure
 * is the second band's. */
START_TEST(test_split_failures_in_either_band)
{
    size_t size, expected_size;
    uint8_t *data = load(variant_oracle.dir, "tj_420_large.jpg", &size);
    const oracle_entry *e = oracle_find(&variant_oracle, "tj_420_large.jpg", "color");
    ck_assert_ptr_nonnull(e);
    uint8_t *expected = oracle_pixels(&variant_oracle, e, &expected_size);
    h5img_layout layout = {725, 1283, 3, 1, H5IMG_RULE_COLOR, 0};
    size_t row_bytes = 1283 * 3;
    uint32_t cut = expected_cut(725 / 2, 725, imcu_height(data, size));
    size_t scan = scan_start(data, size);
    const struct {
        const char *what;
        size_t length;   /* bytes kept */
        size_t ff_at;    /* where an entropy byte becomes 0xFF (a marker), or 0 */
        h5img_status status;
        int above_cut_ok;
    } cases[] = {
        {"truncated at 30%", size * 3 / 10, 0, H5IMG_E_TRUNCATED, 0},
        {"truncated at 90%", size * 9 / 10, 0, H5IMG_E_TRUNCATED, 1},
        {"0xFF at 30%", size, scan + (size - scan) * 3 / 10, H5IMG_E_CORRUPT, 0},
        {"0xFF at 90%", size, scan + (size - scan) * 9 / 10, H5IMG_E_CORRUPT, 1},
        {"0xFF at 30% and truncated at 90%", size * 9 / 10, scan + (size - scan) * 3 / 10, H5IMG_E_CORRUPT, 0},
    };
    uint8_t *copy = malloc(size), *out = malloc(expected_size);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(copy, data, size);
        if (cases[i].ff_at) {
            size_t at = cases[i].ff_at;
            while (copy[at] == 0xff || copy[at + 1] == 0x00 || copy[at + 1] == 0xff) at++;
            copy[at] = 0xff;
        }
        char one_message[256], message[256];
        h5img_status one = decode_in_mode(copy, cases[i].length, &layout, out, ONE_BAND, one_message,
                                          sizeof one_message, NULL);
        ck_assert_msg(one == cases[i].status, "%s, one band: status %d: %s", cases[i].what, one, one_message);
        const uint32_t modes[] = {cut, SPLIT_AUTO};
        for (size_t m = 0; m < 2; m++) {
            uint32_t split_row = 0;
            memset(out, 0, expected_size);
            h5img_status status =
                decode_in_mode(copy, cases[i].length, &layout, out, modes[m], message, sizeof message, &split_row);
            ck_assert_msg(split_row != 0, "%s: no second band", cases[i].what);
            ck_assert_msg(status == one && strcmp(message, one_message) == 0,
                          "%s, cut %u: one band %d (%s), split %d (%s)", cases[i].what, split_row, one, one_message,
                          status, message);
            if (modes[m] == cut && cases[i].above_cut_ok)
                ck_assert_msg(first_difference(out, expected, cut * row_bytes) < 0,
                              "%s: rows above the cut differ from OpenCV", cases[i].what);
        }
    }
    /* Failed decodes, in either band, give back their busy count. */
    ck_assert_uint_eq(h5img_busy_threads(0), 0);
    free(out);
    free(copy);
    free(expected);
    free(data);
}
END_TEST

/* CPUs this process may run on, as the decoder counts them. */
static unsigned usable_cpus(void)
{
    cpu_set_t set;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    return (unsigned)CPU_COUNT(&set);
}

/* Decode the large variant on `decoder`, check it against OpenCV and
 * return the first row of the second band (0: one band). */
static uint32_t decode_large_as_is(h5img_decoder *decoder)
{
    size_t size, expected_size;
    uint8_t *data = load(variant_oracle.dir, "tj_420_large.jpg", &size);
    const oracle_entry *e = oracle_find(&variant_oracle, "tj_420_large.jpg", "mask");
    ck_assert_ptr_nonnull(e);
    uint8_t *expected = oracle_pixels(&variant_oracle, e, &expected_size);
    h5img_layout layout = {725, 1283, 1, 1, H5IMG_RULE_MASK, 0};
    uint8_t *out = malloc(expected_size);
    ck_assert_int_eq(h5img_decoder_decode(decoder, data, size, &layout, out, expected_size), H5IMG_OK);
    ck_assert_int_eq(first_difference(out, expected, expected_size), -1);
    free(out);
    free(expected);
    free(data);
    return decoder->jpeg_split_row;
}

/* The same, after clearing any contention rest an earlier decode of this
 * process set (its timing under valgrind or a busy machine is not what the
 * tests using this check). */
static uint32_t decode_large(h5img_decoder *decoder)
{
    h5img_jpeg_split_rest_clear();
    return decode_large_as_is(decoder);
}

static int environment_says_one_thread(void)
{
    const char *text = getenv("H5IMG_THREADS");
    return text && strcmp(text, "1") == 0;
}

/* 1 never splits; 2 (and more) splits a large single-scan JPEG whatever
 * the CPU count; automatic splits it with 2+ CPUs unless H5IMG_THREADS=1;
 * images under the size threshold stay on one thread unless forced. */
START_TEST(test_thread_setting_decides_the_split)
{
    ck_assert_int_eq(h5img_decoder_set_threads(NULL, 1), H5IMG_E_ARGUMENT);
    const struct {
        unsigned threads;
        int split;
    } cases[] = {
        {1, 0}, {2, 1}, {7, 1}, {0, usable_cpus() >= 2 && !environment_says_one_thread()},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        h5img_decoder *decoder = h5img_decoder_new();
        ck_assert_ptr_nonnull(decoder);
        ck_assert_int_eq(h5img_decoder_set_threads(decoder, cases[i].threads), H5IMG_OK);
        uint32_t split_row = decode_large(decoder);
        ck_assert_msg((split_row != 0) == cases[i].split, "threads %u: split at row %u", cases[i].threads, split_row);
        h5img_decoder_free(decoder);
    }
    /* 227x149 is far below the threshold. */
    size_t size;
    uint8_t *data = load_testorig(&size);
    h5img_layout layout = {149, 227, 3, 1, H5IMG_RULE_COLOR, 0};
    uint8_t *out = malloc(h5img_layout_bytes(&layout));
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 2), H5IMG_OK);
    ck_assert_int_eq(h5img_decoder_decode(decoder, data, size, &layout, out, h5img_layout_bytes(&layout)), H5IMG_OK);
    ck_assert_uint_eq(decoder->jpeg_split_row, 0);
    h5img_decoder_free(decoder);
    free(out);
    free(data);
}
END_TEST

/* Pinned to one CPU (taskset, a cpuset), automatic decoding stays on one
 * thread; an explicit 2 still splits. */
START_TEST(test_one_usable_cpu_keeps_automatic_on_one_thread)
{
    cpu_set_t saved, one;
    ck_assert_int_eq(sched_getaffinity(0, sizeof saved, &saved), 0);
    int cpu = 0;
    while (!CPU_ISSET(cpu, &saved)) cpu++;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    ck_assert_uint_eq(decode_large(decoder), 0);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 2), H5IMG_OK);
    ck_assert_uint_ne(decode_large(decoder), 0);
    h5img_decoder_free(decoder);
    ck_assert_int_eq(sched_setaffinity(0, sizeof saved, &saved), 0);
}
END_TEST

/* With every usable CPU already taken by decodes (other threads of the
 * program, stood for by the counter), automatic decoding stays on one
 * thread; an explicit 2 still splits; the count returns to zero. */
START_TEST(test_busy_cpus_keep_automatic_on_one_thread)
{
    ck_assert_uint_eq(h5img_busy_threads(0), 0);
    unsigned cpus = usable_cpus();
    int can_split = cpus >= 2 && !environment_says_one_thread();
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    ck_assert((decode_large(decoder) != 0) == can_split);
    ck_assert_uint_eq(h5img_busy_threads(0), 0);
    h5img_busy_threads((int)cpus - 1); /* this decode takes the last one */
    ck_assert_uint_eq(decode_large(decoder), 0);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 2), H5IMG_OK);
    ck_assert_uint_ne(decode_large(decoder), 0);
    h5img_busy_threads(1 - (int)cpus);
    ck_assert_uint_eq(h5img_busy_threads(0), 0);
    h5img_decoder_free(decoder);
}
END_TEST

/* Two second bands in a row that spent under 3/4 of their wall time on a
 * CPU (another process had the other core) rest automatic splitting for a
 * second; a single one (a passing disturbance), bands that were well
 * served, and bands too short to judge change nothing; an explicit 2
 * threads is not affected; after the rest, automatic splits again. */
START_TEST(test_contended_second_band_rests_automatic_splitting)
{
    int can_split = usable_cpus() >= 2 && !environment_says_one_thread();
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    h5img_jpeg_split_rest_clear();
    h5img_jpeg_split_contention(9000000, 10000000); /* 90% of 10 ms: a free core */
    h5img_jpeg_split_contention(100000, 900000);    /* 11% of 0.9 ms: too short to judge */
    ck_assert((decode_large_as_is(decoder) != 0) == can_split);
    /* That decode measured its own band, which a loaded test machine may
     * count as contended: only made-up times may decide what follows. */
    h5img_jpeg_split_rest_clear();
    h5img_jpeg_split_contention(5000000, 10000000); /* 50%: a shared core, once */
    h5img_jpeg_split_contention(9000000, 10000000); /* then a free one: the streak ends */
    h5img_jpeg_split_contention(5000000, 10000000);
    ck_assert((decode_large_as_is(decoder) != 0) == can_split);
    h5img_jpeg_split_rest_clear();
    h5img_jpeg_split_contention(5000000, 10000000); /* twice in a row */
    h5img_jpeg_split_contention(6000000, 10000000);
    ck_assert_uint_eq(decode_large_as_is(decoder), 0);
    ck_assert_uint_eq(decode_large_as_is(decoder), 0);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 2), H5IMG_OK);
    ck_assert_uint_ne(decode_large_as_is(decoder), 0);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 0), H5IMG_OK);
    usleep(1100 * 1000);
    ck_assert((decode_large_as_is(decoder) != 0) == can_split);
    ck_assert_uint_eq(h5img_busy_threads(0), 0);
    h5img_decoder_free(decoder);
    h5img_jpeg_split_rest_clear();
}
END_TEST

/* When the second thread cannot start, the calling thread decodes it all. */
START_TEST(test_thread_start_failure_decodes_on_one_thread)
{
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    h5img_jpeg_force_split(decoder, SPLIT_AUTO, 1);
    ck_assert_uint_eq(decode_large(decoder), 0);
    h5img_jpeg_force_split(decoder, 0, 0);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 2), H5IMG_OK);
    ck_assert_uint_ne(decode_large(decoder), 0);
    ck_assert_uint_eq(h5img_busy_threads(0), 0);
    h5img_decoder_free(decoder);
}
END_TEST

/* Run as it is and again by CTest with H5IMG_THREADS=1 (and
 * CK_RUN_CASE=environment): the variable keeps automatic decoders on one
 * thread and leaves an explicit setting alone. */
START_TEST(test_environment_one_thread_applies_to_automatic_only)
{
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    int split = usable_cpus() >= 2 && !environment_says_one_thread();
    ck_assert_msg((decode_large(decoder) != 0) == split, "H5IMG_THREADS=%s, %u CPUs",
                  getenv("H5IMG_THREADS") ? getenv("H5IMG_THREADS") : "(unset)", usable_cpus());
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, 2), H5IMG_OK);
    ck_assert_uint_ne(decode_large(decoder), 0);
    h5img_decoder_free(decoder);
}
END_TEST

static Suite *jpeg_suite(void)
{
    Suite *s = suite_create("jpeg");
    TCase *opencv = tcase_create("opencv");
    tcase_add_test(opencv, test_baseline_420_matches_opencv_all_rules);
    tcase_add_test(opencv, test_testimgint_matches_opencv_all_rules);
    tcase_add_test(opencv, test_arithmetic_matches_opencv_all_rules);
    tcase_add_test(opencv, test_chroma_layouts_and_variants_match_opencv);
    suite_add_tcase(s, opencv);
    TCase *probe = tcase_create("probe");
    tcase_add_test(probe, test_probe_reports_frame_header);
    tcase_add_test(probe, test_fill_bytes_and_standalone_markers_accepted);
    tcase_add_test(probe, test_probe_rejects_bad_segments);
    tcase_add_test(probe, test_probe_rejects_degenerate_frame);
    suite_add_tcase(s, probe);
    TCase *reject = tcase_create("reject");
    tcase_add_test(reject, test_12bit_rejected_with_depth_status);
    tcase_add_test(reject, test_truncated_testorig_fails);
    tcase_add_test(reject, test_corrupt_entropy_byte_fails);
    tcase_add_test(reject, test_flipped_entropy_bits_never_crash);
    tcase_add_test(reject, test_header_only_and_garbage_fail);
    tcase_add_test(reject, test_huge_header_rejected_before_allocation);
    tcase_add_test(reject, test_cmyk_reported_as_three_channels_but_unsupported);
    tcase_add_test(reject, test_decoder_reusable_after_failure);
    tcase_add_test(reject, test_missing_quant_tables_fail_even_after_a_good_decode);
    tcase_add_test(reject, test_native_channel_mismatch_is_shape_error);
    suite_add_tcase(s, reject);
    TCase *split = tcase_create("split");
    tcase_add_test(split, test_every_cut_row_matches_opencv);
    tcase_add_test(split, test_split_failures_in_either_band);
    tcase_add_test(split, test_thread_setting_decides_the_split);
    tcase_add_test(split, test_one_usable_cpu_keeps_automatic_on_one_thread);
    tcase_add_test(split, test_busy_cpus_keep_automatic_on_one_thread);
    tcase_add_test(split, test_thread_start_failure_decodes_on_one_thread);
    tcase_add_test(split, test_contended_second_band_rests_automatic_splitting);
    suite_add_tcase(s, split);
    TCase *environment = tcase_create("environment");
    tcase_add_test(environment, test_environment_one_thread_applies_to_automatic_only);
    suite_add_tcase(s, environment);
    return s;
}

int main(void)
{
    const char *oracle_dir = getenv("H5IMG_ORACLE_DIR");
    const char *conformance_dir = getenv("H5IMG_CONFORMANCE_DIR");
    if (!oracle_dir || !conformance_dir) {
        fprintf(stderr, "H5IMG_ORACLE_DIR and H5IMG_CONFORMANCE_DIR must be set (run through ctest)\n");
        return 1;
    }
    snprintf(conformance_jpeg_dir, sizeof conformance_jpeg_dir, "%s/jpeg", conformance_dir);
    char variants_dir[1100];
    snprintf(variants_dir, sizeof variants_dir, "%s/jpeg_variants", oracle_dir);
    if (oracle_load(&conformance_oracle, oracle_dir) != 0 || oracle_load(&variant_oracle, variants_dir) != 0) {
        fprintf(stderr, "cannot load the oracle manifests in %s and %s\n", oracle_dir, variants_dir);
        return 1;
    }
    SRunner *runner = srunner_create(jpeg_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    oracle_free(&conformance_oracle);
    oracle_free(&variant_oracle);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
