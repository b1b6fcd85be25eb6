/* test_dilate.c: h5img_dilate equals cv2.dilate with an n x n square of ones for every n from 1 to 63, and refuses what it must. */
#include "check_env.h"
#include "h5img.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDES 63

struct mask_case {
    char name[128];
    uint32_t height, width;
};

/* The cases of make_dilate_oracle.py's manifest (fails the test if unreadable). */
static size_t load_cases(struct mask_case *cases, size_t max)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/dilate.tsv", env_or_fail("H5IMG_OPS_ORACLE_DIR"));
    FILE *manifest = fopen(path, "r");
    ck_assert_msg(manifest != NULL, "cannot read %s", path);
    size_t count = 0;
    while (count < max && fscanf(manifest, "%127s %u %u", cases[count].name, &cases[count].height,
                                 &cases[count].width) == 3)
        count++;
    fclose(manifest);
    ck_assert_msg(count >= 20, "%s lists only %zu masks", path, count);
    return count;
}

static void *oracle_file(const char *name, const char *extension, size_t expected)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s%s", env_or_fail("H5IMG_OPS_ORACLE_DIR"), name, extension);
    size_t size = 0;
    void *data = read_file(path, &size);
    ck_assert_msg(data != NULL, "cannot read %s", path);
    ck_assert_msg(size == expected, "%s holds %zu bytes, expected %zu", path, size, expected);
    return data;
}

/* Guards bit-identity with OpenCV (anchor n/2 for odd and even n, border
 * never winning, images smaller than the kernel), out of place and in place. */
START_TEST(every_side_matches_opencv)
{
    static struct mask_case cases[256];
    size_t count = load_cases(cases, 256), checked = 0;
    for (size_t c = 0; c < count; c++) {
        const struct mask_case *k = &cases[c];
        size_t pixels = (size_t)k->height * k->width;
        uint8_t *in = oracle_file(k->name, ".in", pixels);
        uint8_t *want = oracle_file(k->name, ".dilate", pixels * SIDES);
        uint8_t *out = malloc(pixels), *inplace = malloc(pixels);
        ck_assert_ptr_nonnull(out);
        ck_assert_ptr_nonnull(inplace);
        for (uint32_t n = 1; n <= SIDES; n++) {
            char message[256] = "unset";
            memset(out, 0xa5, pixels);
            ck_assert_int_eq(h5img_dilate(in, out, k->height, k->width, n, message, sizeof message), H5IMG_OK);
            const uint8_t *expected = want + (n - 1) * pixels;
            long at = first_difference(out, expected, pixels);
            ck_assert_msg(at < 0, "%s (%ux%u), n = %u: pixel (%ld, %ld) is %u, cv2.dilate gives %u", k->name,
                          k->width, k->height, n, at % (long)k->width, at / (long)k->width, out[at], expected[at]);
            memcpy(inplace, in, pixels);
            ck_assert_int_eq(h5img_dilate(inplace, inplace, k->height, k->width, n, NULL, 0), H5IMG_OK);
            ck_assert_msg(first_difference(inplace, expected, pixels) < 0, "%s, n = %u: in place differs", k->name, n);
            checked++;
        }
        free(in);
        free(want);
        free(out);
        free(inplace);
    }
    ck_assert_uint_eq(checked, count * SIDES);
}
END_TEST

/* Guards the even-side anchor on a case small enough to reason about by hand:
 * for n = 2 the window of x is [x - 1, x], for n = 4 it is [x - 2, x + 1]. */
START_TEST(even_sides_extend_left_and_up)
{
    uint8_t in[5] = {0, 0, 9, 0, 0}, out[5];
    ck_assert_int_eq(h5img_dilate(in, out, 1, 5, 2, NULL, 0), H5IMG_OK);
    const uint8_t two[5] = {0, 0, 9, 9, 0};
    ck_assert_mem_eq(out, two, 5);
    ck_assert_int_eq(h5img_dilate(in, out, 1, 5, 4, NULL, 0), H5IMG_OK);
    const uint8_t four[5] = {0, 9, 9, 9, 9};
    ck_assert_mem_eq(out, four, 5);
    ck_assert_int_eq(h5img_dilate(in, out, 5, 1, 4, NULL, 0), H5IMG_OK);
    ck_assert_mem_eq(out, four, 5);
}
END_TEST

/* Guards the argument checks: each refusal names the number at fault. */
START_TEST(bad_arguments_are_refused)
{
    uint8_t in[16] = {0}, out[16];
    char message[256];
    ck_assert_int_eq(h5img_dilate(in, out, 4, 4, 0, message, sizeof message), H5IMG_E_ARGUMENT);
    ck_assert_msg(strstr(message, "side 0 is outside 1..1023") != NULL, "message: %s", message);
    ck_assert_int_eq(h5img_dilate(in, out, 4, 4, H5IMG_MAX_DILATE + 1, message, sizeof message), H5IMG_E_ARGUMENT);
    ck_assert_msg(strstr(message, "1024") != NULL, "message: %s", message);
    ck_assert_int_eq(h5img_dilate(in, out, 0, 4, 3, message, sizeof message), H5IMG_E_ARGUMENT);
    ck_assert_msg(strstr(message, "4x0") != NULL, "message: %s", message);
    ck_assert_int_eq(h5img_dilate(NULL, out, 4, 4, 3, message, sizeof message), H5IMG_E_ARGUMENT);
    ck_assert_int_eq(h5img_dilate(in, NULL, 4, 4, 3, NULL, 0), H5IMG_E_ARGUMENT);
    /* The largest side works, and on an image smaller than it every pixel
     * becomes the image's maximum. */
    in[5] = 7;
    ck_assert_int_eq(h5img_dilate(in, out, 4, 4, H5IMG_MAX_DILATE, message, sizeof message), H5IMG_OK);
    for (int i = 0; i < 16; i++) ck_assert_uint_eq(out[i], 7);
}
END_TEST

/* Guards validation before allocation: an image one pixel over
 * h5img_max_pixels() is refused without its pixels being read (the buffer
 * passed is far smaller). CTest runs this case again with
 * H5IMG_MAX_PIXELS=1000, where an image at the limit must still work. */
START_TEST(images_over_the_pixel_limit_are_refused)
{
    uint64_t limit = h5img_max_pixels();
    ck_assert_uint_lt(limit, UINT32_MAX);
    static uint8_t in[1000], out[1000];
    char message[256];
    ck_assert_int_eq(h5img_dilate(in, out, 1, (uint32_t)limit + 1, 3, message, sizeof message), H5IMG_E_LIMIT);
    char expected[128];
    snprintf(expected, sizeof expected, "%llu pixels exceed the limit of %llu", (unsigned long long)limit + 1,
             (unsigned long long)limit);
    ck_assert_msg(strstr(message, expected) != NULL, "message: %s", message);
    if (limit == 1000) ck_assert_int_eq(h5img_dilate(in, out, 10, 100, 3, message, sizeof message), H5IMG_OK);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("dilate");
    TCase *opencv = tcase_create("opencv");
    tcase_add_test(opencv, every_side_matches_opencv);
    tcase_add_test(opencv, even_sides_extend_left_and_up);
    tcase_add_test(opencv, bad_arguments_are_refused);
    suite_add_tcase(suite, opencv);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, images_over_the_pixel_limit_are_refused);
    suite_add_tcase(suite, limits);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
