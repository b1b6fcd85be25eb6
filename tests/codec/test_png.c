/* test_png.c: PNG probe, decode and encode checked against OpenCV's decodes of PngSuite and against bad input. */
#include "codec/codec.h"
#include "oracle.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *const RULES[] = {"native", "color", "mask", "luma"};
static const h5img_rule RULE_IDS[] = {H5IMG_RULE_NATIVE, H5IMG_RULE_COLOR, H5IMG_RULE_MASK, H5IMG_RULE_LUMA};

static oracle the_oracle;

static const char *env_dir(const char *name)
{
    const char *dir = getenv(name);
    ck_assert_msg(dir && *dir, "%s is not set", name);
    return dir;
}

static void load_oracle(void)
{
    ck_assert_msg(oracle_load(&the_oracle, env_dir("H5IMG_ORACLE_DIR")) == 0, "cannot read the oracle manifest");
}

static void unload_oracle(void)
{
    oracle_free(&the_oracle);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the .png files in a conformance folder. */
static size_t list_pngs(const char *folder, char ***names)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", env_dir("H5IMG_CONFORMANCE_DIR"), folder);
    DIR *dir = opendir(path);
    ck_assert_msg(dir != NULL, "cannot open %s", path);
    size_t count = 0, capacity = 256;
    *names = malloc(capacity * sizeof **names);
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        size_t n = strlen(entry->d_name);
        if (n < 5 || strcmp(entry->d_name + n - 4, ".png") != 0) continue;
        if (count == capacity) *names = realloc(*names, (capacity *= 2) * sizeof **names);
        (*names)[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(*names, count, sizeof **names, by_name);
    return count;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++) free(names[i]);
    free(names);
}

static void *read_conformance(const char *folder, const char *name, size_t *size)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s/%s", env_dir("H5IMG_CONFORMANCE_DIR"), folder, name);
    void *data = read_file(path, size);
    ck_assert_msg(data != NULL, "cannot read %s", path);
    return data;
}

static h5img_layout layout_of(const oracle_entry *e, h5img_rule rule, uint32_t flags)
{
    h5img_layout layout = {e->height, e->width, e->channels, e->element_size, rule, flags};
    return layout;
}

/* The oracle is RGB(A) and host-endian: rearrange it as the flags ask. */
static void apply_flags(uint8_t *pixels, size_t bytes, const h5img_layout *layout)
{
    size_t es = layout->element_size, step = es * layout->channels;
    if ((layout->flags & H5IMG_FLAG_BGR) && layout->channels >= 3)
        for (size_t i = 0; i + step <= bytes; i += step)
            for (size_t k = 0; k < es; k++) {
                uint8_t t = pixels[i + k];
                pixels[i + k] = pixels[i + 2 * es + k];
                pixels[i + 2 * es + k] = t;
            }
    uint16_t one = 1;
    int host_big = *(uint8_t *)&one == 0;
    if (es == 2 && ((layout->flags & H5IMG_FLAG_BIG_ENDIAN) != 0) != host_big)
        for (size_t i = 0; i + 1 < bytes; i += 2) {
            uint8_t t = pixels[i];
            pixels[i] = pixels[i + 1];
            pixels[i + 1] = t;
        }
}

/* Empty string when the decode equals the oracle, else why not. */
static void compare_with_oracle(const char *name, const char *rule_name, h5img_rule rule, uint32_t flags,
                                char *why, size_t why_size)
{
    why[0] = '\0';
    const oracle_entry *e = oracle_find(&the_oracle, name, rule_name);
    if (!e || !e->ok) {
        snprintf(why, why_size, "%s/%s: no oracle decode", name, rule_name);
        return;
    }
    size_t size = 0, expected_size = 0;
    uint8_t *data = read_conformance("pngsuite", name, &size);
    uint8_t *expected = oracle_pixels(&the_oracle, e, &expected_size);
    h5img_layout layout = layout_of(e, rule, flags);
    apply_flags(expected, expected_size, &layout);
    uint8_t *out = malloc(expected_size);
    h5img_decoder *d = h5img_decoder_new();
    h5img_status status = h5img_decoder_decode(d, data, size, &layout, out, expected_size);
    long at = status == H5IMG_OK ? first_difference(out, expected, expected_size) : -1;
    if (status != H5IMG_OK)
        snprintf(why, why_size, "%s/%s flags %u: status %d (%s)", name, rule_name, flags, status,
                 h5img_decoder_message(d));
    else if (at >= 0)
        snprintf(why, why_size, "%s/%s flags %u: byte %ld is %u, OpenCV has %u", name, rule_name, flags, at, out[at],
                 expected[at]);
    h5img_decoder_free(d);
    free(out);
    free(expected);
    free(data);
}

typedef struct failures {
    char text[4096];
    int count;
} failures;

static void note(failures *f, const char *why)
{
    if (!why[0]) return;
    if (f->count++ < 12) {
        size_t used = strlen(f->text);
        snprintf(f->text + used, sizeof f->text - used, "\n  %s", why);
    }
}

static void check_suite_rules(uint32_t flags_for_color, int only_flagged)
{
    char **names;
    size_t count = list_pngs("pngsuite", &names);
    failures f = {"", 0};
    char why[512];
    ck_assert_uint_gt(count, 100);
    for (size_t i = 0; i < count; i++) {
        if (names[i][0] == 'x') continue;
        for (size_t r = 0; r < 4; r++) {
            const oracle_entry *e = oracle_find(&the_oracle, names[i], RULES[r]);
            uint32_t flags = 0;
            if (only_flagged) {
                if (!e || !e->ok) continue;
                if (e->channels >= 3) flags |= flags_for_color;
                if (e->element_size == 2) flags |= H5IMG_FLAG_BIG_ENDIAN;
                if (!flags) continue;
            }
            compare_with_oracle(names[i], RULES[r], RULE_IDS[r], flags, why, sizeof why);
            note(&f, why);
        }
    }
    free_names(names, count);
    ck_assert_msg(f.count == 0, "%d decode(s) differ from OpenCV:%s", f.count, f.text);
}

START_TEST(pngsuite_every_rule_matches_opencv)
{
    check_suite_rules(0, 0);
}
END_TEST

START_TEST(pngsuite_bgr_and_big_endian_match_opencv)
{
    check_suite_rules(H5IMG_FLAG_BGR, 1);
}
END_TEST

/* Decodes under every rule with a layout fitted to the header where there
 * is one; each attempt must fail and say why. */
static void expect_rejected(const char *folder, const char *name, failures *f)
{
    size_t size = 0;
    uint8_t *data = read_conformance(folder, name, &size);
    h5img_info info;
    int probed = h5img_probe(data, size, &info) == H5IMG_OK && (uint64_t)info.width * info.height <= 1u << 20;
    for (size_t r = 0; r < 4; r++) {
        int native = RULE_IDS[r] == H5IMG_RULE_NATIVE;
        h5img_layout layout = {probed ? info.height : 8, probed ? info.width : 8,
                               native ? (probed ? info.channels : 1) : RULE_IDS[r] == H5IMG_RULE_COLOR ? 3 : 1,
                               native && probed ? info.element_size : 1, RULE_IDS[r], 0};
        size_t bytes = h5img_layout_bytes(&layout);
        uint8_t *out = malloc(bytes);
        char message[H5IMG_MESSAGE_SIZE], why[512] = "";
        h5img_status status = h5img_decode(data, size, &layout, out, bytes, message, sizeof message);
        if (status == H5IMG_OK)
            snprintf(why, sizeof why, "%s/%s/%s decoded without error", folder, name, RULES[r]);
        else if (!message[0])
            snprintf(why, sizeof why, "%s/%s/%s failed (%d) without a message", folder, name, RULES[r], status);
        note(f, why);
        free(out);
    }
    free(data);
}

static void check_all_rejected(const char *folder, int x_only)
{
    char **names;
    size_t count = list_pngs(folder, &names), tried = 0;
    failures f = {"", 0};
    for (size_t i = 0; i < count; i++) {
        if (x_only && names[i][0] != 'x') continue;
        expect_rejected(folder, names[i], &f);
        tried++;
    }
    free_names(names, count);
    ck_assert_uint_gt(tried, 10);
    ck_assert_msg(f.count == 0, "%d bad input(s) accepted or unexplained:%s", f.count, f.text);
}

START_TEST(pngsuite_corrupt_x_files_rejected_with_message)
{
    check_all_rejected("pngsuite", 1);
}
END_TEST

START_TEST(png_crashers_rejected_with_message)
{
    check_all_rejected("png-crashers", 0);
}
END_TEST

/* 8-bit gray under MASK decodes straight into the output: equal to OpenCV,
 * and no scratch buffer taken where libspng decodes (interlaced files: the
 * libdeflate fast path is for non-interlaced ones and inflates into scratch). */
START_TEST(gray8_mask_fast_path_matches_opencv_without_scratch)
{
    const char *names[] = {"basi0g08.png", "basn0g08.png", "tp0n0g08.png", "f04n0g08.png", "ps1n0g08.png"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const oracle_entry *e = oracle_find(&the_oracle, names[i], "mask");
        ck_assert_msg(e && e->ok, "no oracle for %s", names[i]);
        size_t size = 0, expected_size = 0;
        uint8_t *data = read_conformance("pngsuite", names[i], &size);
        uint8_t *expected = oracle_pixels(&the_oracle, e, &expected_size);
        h5img_layout layout = layout_of(e, H5IMG_RULE_MASK, 0);
        uint8_t *out = malloc(expected_size);
        h5img_decoder *d = h5img_decoder_new();
        ck_assert_int_eq(h5img_decoder_decode(d, data, size, &layout, out, expected_size), H5IMG_OK);
        ck_assert_int_eq(first_difference(out, expected, expected_size), -1);
        if (names[i][3] == 'i')
            ck_assert_msg(d->scratch_size == 0, "%s: %zu scratch bytes taken", names[i], d->scratch_size);
        h5img_decoder_free(d);
        free(out);
        free(expected);
        free(data);
    }
}
END_TEST

static h5img_status decode_bytes(const uint8_t *data, size_t size, const h5img_layout *layout, char *message)
{
    size_t bytes = h5img_layout_bytes(layout);
    uint8_t *out = malloc(bytes);
    h5img_status status = h5img_decode(data, size, layout, out, bytes, message, H5IMG_MESSAGE_SIZE);
    free(out);
    return status;
}

START_TEST(shape_mismatch_names_both_sizes)
{
    size_t size;
    uint8_t *data = read_conformance("pngsuite", "basn2c08.png", &size);
    h5img_layout layout = {32, 33, 3, 1, H5IMG_RULE_COLOR, 0};
    char message[H5IMG_MESSAGE_SIZE];
    ck_assert_int_eq(decode_bytes(data, size, &layout, message), H5IMG_E_SHAPE);
    ck_assert_msg(strstr(message, "32x32") && strstr(message, "33x32"), "message: %s", message);
    free(data);
}
END_TEST

START_TEST(native_channel_mismatch_is_shape_error)
{
    size_t size;
    uint8_t *data = read_conformance("pngsuite", "basn2c08.png", &size);
    h5img_layout layout = {32, 32, 4, 1, H5IMG_RULE_NATIVE, 0};
    char message[H5IMG_MESSAGE_SIZE];
    ck_assert_int_eq(decode_bytes(data, size, &layout, message), H5IMG_E_SHAPE);
    ck_assert_str_ne(message, "");
    free(data);
}
END_TEST

START_TEST(sixteen_bit_into_uint8_native_is_depth_error)
{
    size_t size;
    uint8_t *data = read_conformance("pngsuite", "basn2c16.png", &size);
    h5img_layout layout = {32, 32, 3, 1, H5IMG_RULE_NATIVE, 0};
    char message[H5IMG_MESSAGE_SIZE];
    ck_assert_int_eq(decode_bytes(data, size, &layout, message), H5IMG_E_DEPTH);
    ck_assert_str_ne(message, "");
    free(data);
}
END_TEST

START_TEST(truncated_png_rejected_at_every_cut)
{
    size_t size;
    uint8_t *data = read_conformance("pngsuite", "basn2c08.png", &size);
    size_t cuts[] = {8, 20, 33, 40, 60, size / 2, size - 16, size - 12, size - 4, size - 1};
    for (size_t r = 0; r < 4; r++) {
        h5img_layout layout = {32, 32, RULE_IDS[r] == H5IMG_RULE_NATIVE || RULE_IDS[r] == H5IMG_RULE_COLOR ? 3 : 1, 1,
                               RULE_IDS[r], 0};
        for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
            char message[H5IMG_MESSAGE_SIZE];
            h5img_status status = decode_bytes(data, cuts[i], &layout, message);
            ck_assert_msg(status != H5IMG_OK, "cut at %zu of %zu accepted (%s)", cuts[i], size, RULES[r]);
            ck_assert_msg(message[0], "cut at %zu: no message", cuts[i]);
        }
    }
    free(data);
}
END_TEST

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xffffffffu;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Offset of the first IDAT chunk's length field. */
static size_t find_idat(const uint8_t *data, size_t size)
{
    for (size_t pos = 8; pos + 12 <= size; pos += 12 + get_be32(data + pos))
        if (memcmp(data + pos + 4, "IDAT", 4) == 0) return pos;
    ck_abort_msg("no IDAT");
    return 0;
}

static void fix_crc(uint8_t *data, size_t chunk)
{
    uint32_t length = get_be32(data + chunk), crc = crc32_of(data + chunk + 4, length + 4);
    uint8_t *p = data + chunk + 8 + length;
    p[0] = (uint8_t)(crc >> 24);
    p[1] = (uint8_t)(crc >> 16);
    p[2] = (uint8_t)(crc >> 8);
    p[3] = (uint8_t)crc;
}

/* Flips one byte `from_end` bytes before the end of the first IDAT's data
 * (or in its middle when 0), optionally with a recomputed CRC. */
static void expect_flip_rejected(size_t from_end, int fix)
{
    size_t size;
    uint8_t *data = read_conformance("pngsuite", "basn2c08.png", &size);
    size_t idat = find_idat(data, size), length = get_be32(data + idat);
    size_t at = idat + 8 + (from_end ? length - from_end : length / 2);
    data[at] ^= 0x5a;
    if (fix) fix_crc(data, idat);
    for (size_t r = 0; r < 4; r++) {
        h5img_layout layout = {32, 32, RULE_IDS[r] == H5IMG_RULE_NATIVE || RULE_IDS[r] == H5IMG_RULE_COLOR ? 3 : 1, 1,
                               RULE_IDS[r], 0};
        char message[H5IMG_MESSAGE_SIZE];
        h5img_status status = decode_bytes(data, size, &layout, message);
        ck_assert_msg(status != H5IMG_OK, "flip at %zu (crc fixed %d, %s) accepted", at, fix, RULES[r]);
        ck_assert_msg(message[0], "flip at %zu: no message", at);
    }
    free(data);
}

START_TEST(flipped_idat_byte_rejected)
{
    expect_flip_rejected(0, 0);
    expect_flip_rejected(0, 1);
}
END_TEST

START_TEST(flipped_adler32_rejected)
{
    for (size_t k = 1; k <= 4; k++) expect_flip_rejected(k, 1);
}
END_TEST

/* The file rebuilt with one IDAT holding its image data recompressed by zlib,
 * ended with `flush`: Z_FINISH gives a complete stream, Z_SYNC_FLUSH one that
 * holds every row but never ends (no final block, no Adler-32). */
static uint8_t *recompressed(const char *name, int flush, size_t *out_size)
{
    size_t size;
    uint8_t *data = read_conformance("pngsuite", name, &size);
    size_t first_idat = find_idat(data, size), raw_size = 0, packed_size = 0, pos;
    uint8_t *joined = malloc(size), *raw = malloc(1u << 20), *packed = malloc(1u << 20);
    for (pos = first_idat; memcmp(data + pos + 4, "IDAT", 4) == 0; pos += 12 + get_be32(data + pos)) {
        memcpy(joined + packed_size, data + pos + 8, get_be32(data + pos));
        packed_size += get_be32(data + pos);
    }
    size_t tail = pos; /* the chunks after the IDATs, IEND included */
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(inflateInit(&z), Z_OK);
    z.next_in = joined, z.avail_in = (uInt)packed_size, z.next_out = raw, z.avail_out = 1u << 20;
    ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    raw_size = z.total_out;
    inflateEnd(&z);
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit(&z, 6), Z_OK);
    z.next_in = raw, z.avail_in = (uInt)raw_size, z.next_out = packed, z.avail_out = 1u << 20;
    ck_assert_int_eq(deflate(&z, flush), flush == Z_FINISH ? Z_STREAM_END : Z_OK);
    packed_size = z.total_out;
    deflateEnd(&z);

    uint8_t *png = malloc(first_idat + 12 + packed_size + (size - tail));
    memcpy(png, data, first_idat);
    uint8_t *idat = png + first_idat;
    idat[0] = (uint8_t)(packed_size >> 24), idat[1] = (uint8_t)(packed_size >> 16);
    idat[2] = (uint8_t)(packed_size >> 8), idat[3] = (uint8_t)packed_size;
    memcpy(idat + 4, "IDAT", 4);
    memcpy(idat + 8, packed, packed_size);
    fix_crc(png, first_idat);
    memcpy(idat + 12 + packed_size, data + tail, size - tail);
    *out_size = first_idat + 12 + packed_size + (size - tail);
    free(joined), free(raw), free(packed), free(data);
    return png;
}

/* libspng stops once it has every row; OpenCV's libpng reads the zlib stream
 * to its end and fails a stream that never ends. Palette and interlaced
 * files take the libspng path, so this guards that path's own check. */
START_TEST(unended_zlib_stream_rejected_like_libpng)
{
    static const struct { const char *name; uint32_t height, width, channels; } files[] = {
        {"basn3p08.png", 32, 32, 3}, {"basi0g08.png", 32, 32, 1}};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t complete_size, unended_size;
        uint8_t *complete = recompressed(files[f].name, Z_FINISH, &complete_size);
        uint8_t *unended = recompressed(files[f].name, Z_SYNC_FLUSH, &unended_size);
        for (size_t r = 0; r < 4; r++) {
            h5img_layout layout = {files[f].height, files[f].width,
                                   RULE_IDS[r] == H5IMG_RULE_NATIVE ? files[f].channels
                                   : RULE_IDS[r] == H5IMG_RULE_COLOR ? 3 : 1,
                                   1, RULE_IDS[r], 0};
            char message[H5IMG_MESSAGE_SIZE];
            ck_assert_msg(decode_bytes(complete, complete_size, &layout, message) == H5IMG_OK,
                          "%s rebuilt with a complete stream (%s): %s", files[f].name, RULES[r], message);
            ck_assert_msg(decode_bytes(unended, unended_size, &layout, message) == H5IMG_E_CORRUPT,
                          "%s with an unended stream (%s) was not rejected as corrupt", files[f].name, RULES[r]);
            ck_assert_msg(strstr(message, "zlib stream") != NULL, "message: %s", message);
        }
        free(complete), free(unended);
    }
}
END_TEST

static uint32_t next_random(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static void round_trip(uint32_t channels, uint32_t element_size, uint32_t flags, int level)
{
    h5img_layout layout = {23, 37, channels, element_size, H5IMG_RULE_NATIVE, flags};
    size_t bytes = h5img_layout_bytes(&layout);
    uint8_t *pixels = malloc(bytes), *out = malloc(bytes);
    uint32_t state = channels * 31 + element_size * 7 + flags + (uint32_t)level;
    /* Half noise, half flat runs so both filters and matches get exercised. */
    for (size_t i = 0; i < bytes; i++) pixels[i] = i < bytes / 2 ? (uint8_t)next_random(&state) : (uint8_t)(i / 97);
    void *png = NULL;
    size_t png_size = 0;
    char message[H5IMG_MESSAGE_SIZE];
    h5img_status status =
        h5img_encode(pixels, bytes, &layout, H5IMG_CODEC_PNG, level, &png, &png_size, message, sizeof message);
    ck_assert_msg(status == H5IMG_OK, "encode %ux%u: %s", channels, element_size, message);
    status = h5img_decode(png, png_size, &layout, out, bytes, message, sizeof message);
    ck_assert_msg(status == H5IMG_OK, "decode %u ch x %u B flags %u: %s", channels, element_size, flags, message);
    ck_assert_msg(first_difference(out, pixels, bytes) == -1, "%u ch x %u B flags %u level %d: round trip differs",
                  channels, element_size, flags, level);
    h5img_free(png);
    free(pixels);
    free(out);
}

START_TEST(encode_then_native_decode_is_lossless)
{
    const uint32_t channels[] = {1, 3, 4};
    for (size_t c = 0; c < 3; c++)
        for (uint32_t es = 1; es <= 2; es++)
            for (uint32_t flags = 0; flags <= 3; flags++) {
                if ((flags & H5IMG_FLAG_BIG_ENDIAN) && es == 1) continue;
                round_trip(channels[c], es, flags, H5IMG_DEFAULT_PNG_LEVEL);
            }
    round_trip(3, 1, 0, 0);
    round_trip(4, 2, 0, 9);
}
END_TEST

static Suite *png_suite(void)
{
    Suite *s = suite_create("png");
    TCase *oracle_case = tcase_create("oracle");
    tcase_add_checked_fixture(oracle_case, load_oracle, unload_oracle);
    tcase_add_test(oracle_case, pngsuite_every_rule_matches_opencv);
    tcase_add_test(oracle_case, pngsuite_bgr_and_big_endian_match_opencv);
    tcase_add_test(oracle_case, gray8_mask_fast_path_matches_opencv_without_scratch);
    suite_add_tcase(s, oracle_case);
    TCase *bad = tcase_create("bad_input");
    tcase_add_test(bad, pngsuite_corrupt_x_files_rejected_with_message);
    tcase_add_test(bad, png_crashers_rejected_with_message);
    tcase_add_test(bad, shape_mismatch_names_both_sizes);
    tcase_add_test(bad, native_channel_mismatch_is_shape_error);
    tcase_add_test(bad, sixteen_bit_into_uint8_native_is_depth_error);
    tcase_add_test(bad, truncated_png_rejected_at_every_cut);
    tcase_add_test(bad, flipped_idat_byte_rejected);
    tcase_add_test(bad, flipped_adler32_rejected);
    tcase_add_test(bad, unended_zlib_stream_rejected_like_libpng);
    suite_add_tcase(s, bad);
    TCase *encode = tcase_create("encode");
    tcase_add_test(encode, encode_then_native_decode_is_lossless);
    suite_add_tcase(s, encode);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(png_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
