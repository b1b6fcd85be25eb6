/* test_jpeg.c: JPEG probe and decode against the OpenCV oracle, plus malformed-input rejection. */
#include "h5img_internal.h"
#include "oracle.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Decode `dir/e->name` under the entry's rule and compare with OpenCV. */
static void check_against_oracle(const oracle *o, const char *dir, const oracle_entry *e, uint32_t flags)
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
    h5img_status status = h5img_decode(data, size, &layout, out, out_size, message, sizeof message);
    ck_assert_msg(status == H5IMG_OK, "%s %s%s: status %d: %s", e->name, e->rule, flags ? " bgr" : "", status, message);
    long diff = first_difference(out, expected, out_size);
    ck_assert_msg(diff < 0, "%s %s%s differs from OpenCV at byte %ld (%u vs %u)", e->name, e->rule,
                  flags ? " bgr" : "", diff, diff < 0 ? 0 : out[diff], diff < 0 ? 0 : expected[diff]);
    free(out);
    free(expected);
    free(data);
}

static void check_file_all_rules(const char *name, uint32_t flags)
{
    for (size_t r = 0; r < sizeof RULES / sizeof *RULES; r++) {
        const oracle_entry *e = oracle_find(&conformance_oracle, name, RULES[r]);
        ck_assert_msg(e != NULL, "no oracle entry for %s %s", name, RULES[r]);
        check_against_oracle(&conformance_oracle, conformance_jpeg_dir, e, flags);
    }
}

/* Decode bytes into a testorig-shaped COLOR layout; returns the status and fills `message`. */
static h5img_status decode_testorig_shaped(const uint8_t *data, size_t size, char *message, size_t message_size)
{
    h5img_layout layout = {149, 227, 3, 1, H5IMG_RULE_COLOR, 0};
    size_t out_size = h5img_layout_bytes(&layout);
    uint8_t *out = malloc(out_size);
    h5img_status status = h5img_decode(data, size, &layout, out, out_size, message, message_size);
    free(out);
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
    ck_assert_uint_ge(variant_oracle.count, 80);
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
        h5img_status status = decode_testorig_shaped(data, lengths[i], message, sizeof message);
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
        h5img_status status = decode_testorig_shaped(copy, size, message, sizeof message);
        ck_assert_msg(status == H5IMG_E_CORRUPT, "0xFF at %zu: status %d: %s", at, status, message);
        ck_assert_msg(strstr(message, "227x149") != NULL, "message lacks the size: %s", message);
        free(copy);
    }
    free(data);
}
END_TEST

/* JPEG has no checksum, so a flipped bit in Huffman data may decode to
 * different pixels without any libjpeg complaint; what we guard is that no
 * flip crashes, hangs or reports anything but success or corruption. */
START_TEST(test_flipped_entropy_bits_never_crash)
{
    size_t size;
    uint8_t *data = load_testorig(&size);
    size_t scan = scan_start(data, size);
    uint8_t *copy = malloc(size);
    for (size_t at = scan; at < size - 2; at += 37) {
        memcpy(copy, data, size);
        copy[at] ^= (uint8_t)(1u << (at % 8));
        char message[256] = "";
        h5img_status status = decode_testorig_shaped(copy, size, message, sizeof message);
        ck_assert_msg(status == H5IMG_OK || status == H5IMG_E_CORRUPT || status == H5IMG_E_TRUNCATED,
                      "flip at %zu: status %d: %s", at, status, message);
    }
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
    ck_assert_int_ne(decode_testorig_shaped(headers, sos + 2, message, sizeof message), H5IMG_OK);
    ck_assert_str_ne(message, "");
    static const uint8_t soi_only[] = {0xff, 0xd8};
    ck_assert_int_ne(decode_testorig_shaped(soi_only, sizeof soi_only, message, sizeof message), H5IMG_OK);
    ck_assert_str_ne(message, "");
    static const uint8_t soi_garbage[] = {0xff, 0xd8, 0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef};
    ck_assert_int_ne(decode_testorig_shaped(soi_garbage, sizeof soi_garbage, message, sizeof message), H5IMG_OK);
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
    h5img_status status = decode_testorig_shaped(data, size, message, sizeof message);
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

/* The TurboJPEG handle is kept across calls: a failure must leave no
 * sticky warning state, and success must clear the message. */
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
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(h5img_decoder_decode(decoder, data, size / 2, &layout, out, expected_size), H5IMG_E_TRUNCATED);
        ck_assert_str_ne(h5img_decoder_message(decoder), "");
        ck_assert_int_eq(h5img_decoder_decode(decoder, data, size, &layout, out, expected_size), H5IMG_OK);
        ck_assert_str_eq(h5img_decoder_message(decoder), "");
        ck_assert_int_eq(first_difference(out, expected, expected_size), -1);
    }
    h5img_decoder_free(decoder);
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

/* libjpeg keeps quantisation tables across images on one handle. A JPEG
 * without DQT must fail as it does in OpenCV, also on a decoder that has
 * just read a complete JPEG, or its pixels would depend on history. */
START_TEST(test_missing_quant_tables_fail_even_after_a_good_decode)
{
    size_t size, abbreviated_size;
    uint8_t *data = load_testorig(&size);
    uint8_t *abbreviated = without_quant_tables(data, size, &abbreviated_size);
    h5img_layout layout = {149, 227, 3, 1, H5IMG_RULE_NATIVE, 0};
    size_t out_size = h5img_layout_bytes(&layout);
    uint8_t *out = malloc(out_size);
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    ck_assert_int_ne(h5img_decoder_decode(decoder, abbreviated, abbreviated_size, &layout, out, out_size), H5IMG_OK);
    ck_assert_int_eq(h5img_decoder_decode(decoder, data, size, &layout, out, out_size), H5IMG_OK);
    ck_assert_int_eq(h5img_decoder_decode(decoder, abbreviated, abbreviated_size, &layout, out, out_size), H5IMG_E_CORRUPT);
    ck_assert_msg(strstr(h5img_decoder_message(decoder), "uantization table") != NULL, "message: %s",
                  h5img_decoder_message(decoder));
    h5img_decoder_free(decoder);
    free(out);
    free(abbreviated);
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
