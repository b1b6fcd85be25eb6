/* test_rle.c: h5img_rle_encode is byte-identical to pycocotools, decode inverts it, and malformed strings fail naming their offset. */
#include "check_env.h"
#include "h5img.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rle_case {
    char name[160];
    uint32_t height, width;
    unsigned threshold;
};

static void *oracle_file(const char *name, const char *extension, size_t *size)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s%s", env_or_fail("H5IMG_OPS_ORACLE_DIR"), name, extension);
    void *data = read_file(path, size);
    ck_assert_msg(data != NULL, "cannot read %s", path);
    return data;
}

/* Guards byte-identity with pycocotools' mask.encode on generated masks
 * (noise, sparse, empty, full, runs of millions, first and last pixel set),
 * the sample masks and the same masks dilated, at thresholds 1, 128, 255;
 * and that decoding pycocotools' string gives value >= threshold. */
START_TEST(encode_matches_pycocotools_and_decode_inverts_it)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/rle.tsv", env_or_fail("H5IMG_OPS_ORACLE_DIR"));
    FILE *manifest = fopen(path, "r");
    ck_assert_msg(manifest != NULL, "cannot read %s (written by make_rle_oracle.py)", path);
    struct rle_case k;
    size_t checked = 0;
    while (fscanf(manifest, "%159s %u %u %u", k.name, &k.height, &k.width, &k.threshold) == 4) {
        size_t pixels = (size_t)k.height * k.width, mask_size = 0, want_size = 0;
        uint8_t *mask = oracle_file(k.name, ".mask", &mask_size);
        char *want = oracle_file(k.name, ".rle", &want_size);
        ck_assert_uint_eq(mask_size, pixels);
        char *rle = NULL, message[256];
        size_t length = 0;
        ck_assert_int_eq(h5img_rle_encode(mask, k.height, k.width, k.threshold, &rle, &length, message, sizeof message),
                         H5IMG_OK);
        ck_assert_uint_eq(strlen(rle), length);
        long at = length == want_size ? first_difference(rle, want, length) : (long)(length < want_size ? length : want_size);
        ck_assert_msg(length == want_size && at < 0,
                      "%s: %zu characters, pycocotools gives %zu; first difference at offset %ld", k.name, length,
                      want_size, at);
        uint8_t *decoded = malloc(pixels);
        ck_assert_ptr_nonnull(decoded);
        ck_assert_int_eq(h5img_rle_decode(want, want_size, k.height, k.width, decoded, pixels, message, sizeof message),
                         H5IMG_OK);
        for (size_t i = 0; i < pixels; i++) mask[i] = mask[i] >= k.threshold;
        at = first_difference(decoded, mask, pixels);
        ck_assert_msg(at < 0, "%s: decoded pixel %ld is %u, the foreground says %u", k.name, at,
                      at < 0 ? 0 : decoded[at], at < 0 ? 0 : mask[at]);
        h5img_free(rle);
        free(decoded);
        free(mask);
        free(want);
        checked++;
    }
    fclose(manifest);
    ck_assert_msg(checked >= 100, "%s lists only %zu masks", path, checked);
}
END_TEST

/* Guards decode(encode(x)) == x on random 0/1 masks of many shapes and
 * densities (threshold 1), including 1-pixel sides. */
START_TEST(round_trips)
{
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int trial = 0; trial < 400; trial++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t height = 1 + (uint32_t)(state >> 33) % 70, width = 1 + (uint32_t)(state >> 45) % 90;
        unsigned density = (unsigned)(state >> 20) % 101;
        size_t pixels = (size_t)height * width;
        uint8_t *mask = malloc(pixels), *back = malloc(pixels);
        ck_assert_ptr_nonnull(mask);
        ck_assert_ptr_nonnull(back);
        for (size_t i = 0; i < pixels; i++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            mask[i] = (state >> 40) % 100 < density;
        }
        char *rle = NULL, message[256];
        size_t length = 0;
        ck_assert_int_eq(h5img_rle_encode(mask, height, width, 1, &rle, &length, message, sizeof message), H5IMG_OK);
        memset(back, 7, pixels);
        ck_assert_int_eq(h5img_rle_decode(rle, length, height, width, back, pixels, message, sizeof message), H5IMG_OK);
        ck_assert_msg(first_difference(mask, back, pixels) < 0, "trial %d (%ux%u, %u%%): round trip differs", trial,
                      width, height, density);
        h5img_free(rle);
        free(mask);
        free(back);
    }
}
END_TEST

struct malformed {
    const char *rle;
    uint32_t height, width;
    const char *says;
};

/* Guards the decoder against strings no encoder writes: each fails with
 * H5IMG_E_CORRUPT and a sentence naming the offset, never a crash or a
 * write past the mask (the mask has a guard byte after it). */
START_TEST(malformed_strings_fail_naming_the_offset)
{
    static const struct malformed cases[] = {
        {"", 2, 2, "0 counts end at offset 0 covering 0 of the 2x2 = 4 pixels"},
        {"1", 2, 2, "1 counts end at offset 1 covering 1 of the 2x2 = 4 pixels"},
        {"5", 2, 2, "count 0 at offset 0 (5) runs past the 2x2 = 4 pixels (0 already filled)"},
        {"23", 2, 2, "count 1 at offset 1 (3) runs past the 2x2 = 4 pixels (2 already filled)"},
        {"0d", 2, 2, "count 1 starting at offset 1 is cut off by the end of the string at offset 2"},
        {"0 4", 2, 2, "byte 0x20 at offset 1 is not a count digit"},
        {"0p", 2, 2, "byte 0x70 at offset 1 is not a count digit"},
        {"0\xff", 2, 2, "byte 0xff at offset 1 is not a count digit"},
        {"0\0" "4", 2, 2, "byte 0x00 at offset 1 is not a count digit"},
        {"O", 2, 2, "count 0 at offset 0 is negative (-1)"},
        {"1001O", 2, 4, "count 4 at offset 4 is negative (-1)"},
        {"ooooooo0", 2, 2, "count 0 starting at offset 0 has more than 7 digits"},
        {"01111", 2, 2, "count 4 at offset 4 (2) runs past the 2x2 = 4 pixels (4 already filled)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct malformed *c = &cases[i];
        size_t length = strlen(c->rle);
        if (c->rle[0] == '0' && c->rle[1] == '\0' && c->rle[2] == '4') length = 3;
        size_t pixels = (size_t)c->height * c->width;
        uint8_t mask[17];
        memset(mask, 0xee, sizeof mask);
        char message[256] = "";
        ck_assert_int_eq(h5img_rle_decode(c->rle, length, c->height, c->width, mask, pixels, message, sizeof message),
                         H5IMG_E_CORRUPT);
        ck_assert_msg(strstr(message, c->says) != NULL, "case %zu: message '%s' lacks '%s'", i, message, c->says);
        ck_assert_msg(strstr(message, "offset") != NULL, "case %zu: '%s' names no offset", i, message);
        ck_assert_uint_eq(mask[pixels], 0xee);
    }
    /* The same decoder accepts what pycocotools would accept from these pieces. */
    uint8_t mask[4];
    ck_assert_int_eq(h5img_rle_decode("0112", 4, 2, 2, mask, 4, NULL, 0), H5IMG_E_CORRUPT);
    ck_assert_int_eq(h5img_rle_decode("022", 3, 2, 2, mask, 4, NULL, 0), H5IMG_OK);
    const uint8_t want[4] = {1, 0, 1, 0}; /* column-major: first column foreground */
    ck_assert_mem_eq(mask, want, 4);
}
END_TEST

/* Guards the argument and limit checks of both directions. */
START_TEST(bad_arguments_are_refused)
{
    uint8_t mask[4] = {0};
    char *rle = (char *)"x", message[256];
    size_t length = 99;
    ck_assert_int_eq(h5img_rle_encode(mask, 2, 2, 256, &rle, &length, message, sizeof message), H5IMG_E_ARGUMENT);
    ck_assert_msg(strstr(message, "threshold 256") != NULL, "message: %s", message);
    ck_assert_ptr_null(rle);
    ck_assert_int_eq(h5img_rle_encode(mask, 0, 2, 1, &rle, &length, message, sizeof message), H5IMG_E_ARGUMENT);
    ck_assert_int_eq(h5img_rle_encode(NULL, 2, 2, 1, &rle, &length, message, sizeof message), H5IMG_E_ARGUMENT);
    ck_assert_int_eq(h5img_rle_decode("4", 1, 2, 2, mask, 3, message, sizeof message), H5IMG_E_ARGUMENT);
    ck_assert_msg(strstr(message, "holds 3 bytes but a 2x2 mask needs 4") != NULL, "message: %s", message);
    ck_assert_int_eq(h5img_rle_decode(NULL, 1, 2, 2, mask, 4, NULL, 0), H5IMG_E_ARGUMENT);
    uint64_t limit = h5img_max_pixels();
    ck_assert_int_eq(h5img_rle_encode(mask, 1, (uint32_t)limit + 1, 1, &rle, &length, message, sizeof message),
                     H5IMG_E_LIMIT);
    ck_assert_int_eq(h5img_rle_decode("4", 1, 1, (uint32_t)limit + 1, mask, 4, message, sizeof message), H5IMG_E_LIMIT);
    ck_assert_msg(strstr(message, "exceed the limit") != NULL, "message: %s", message);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("rle");
    TCase *coco = tcase_create("pycocotools");
    tcase_set_timeout(coco, 120);
    tcase_add_test(coco, encode_matches_pycocotools_and_decode_inverts_it);
    suite_add_tcase(suite, coco);
    TCase *own = tcase_create("own");
    tcase_add_test(own, round_trips);
    tcase_add_test(own, malformed_strings_fail_naming_the_offset);
    tcase_add_test(own, bad_arguments_are_refused);
    suite_add_tcase(suite, own);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
