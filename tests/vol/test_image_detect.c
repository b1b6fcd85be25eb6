/* test_image_detect.c: the shared legacy-frame detector (plugin/hdf5/image_detect.h) on its own, without HDF5. */
#include "hdf5/image_detect.h"
#include "oracle.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const h5img_frame_shape BYTES = {.integer_class = 1, .type_size = 1, .is_unsigned = 1, .simple = 1, .rank = 1,
                                        .points = 1000};

/* Guards: only a non-empty simple 1-D unsigned 1-byte integer dataset is looked at. */
START_TEST(candidates)
{
    ck_assert(h5img_frame_is_candidate(&BYTES));
    h5img_frame_shape s = BYTES;
    s.is_unsigned = 0;
    ck_assert(!h5img_frame_is_candidate(&s));
    s = BYTES, s.type_size = 2;
    ck_assert(!h5img_frame_is_candidate(&s));
    s = BYTES, s.rank = 2;
    ck_assert(!h5img_frame_is_candidate(&s));
    s = BYTES, s.points = 0;
    ck_assert(!h5img_frame_is_candidate(&s));
    s = BYTES, s.integer_class = 0;
    ck_assert(!h5img_frame_is_candidate(&s));
    s = BYTES, s.simple = 0;
    ck_assert(!h5img_frame_is_candidate(&s));
    ck_assert(!h5img_frame_is_candidate(NULL));
}
END_TEST

/* Guards: the prefix grows 4 KiB, x8, ... and never past the dataset. */
START_TEST(prefix_growth)
{
    ck_assert_uint_eq(h5img_frame_next_prefix(1000000, 0), 4096);
    ck_assert_uint_eq(h5img_frame_next_prefix(1000000, 4096), 32768);
    ck_assert_uint_eq(h5img_frame_next_prefix(1000000, 262144), 1000000);
    ck_assert_uint_eq(h5img_frame_next_prefix(1000000, 1000000), 0);
    ck_assert_uint_eq(h5img_frame_next_prefix(100, 0), 100);
    ck_assert_uint_eq(h5img_frame_next_prefix(100, 100), 0);
}
END_TEST

/* Guards: the mask convention looks at every path component, any case. */
START_TEST(mask_paths)
{
    ck_assert(h5img_frame_path_is_mask("/Camera/25/mask/7"));
    ck_assert(h5img_frame_path_is_mask("/Mask/00/x"));
    ck_assert(h5img_frame_path_is_mask("/a/body_MASKS/1"));
    ck_assert(!h5img_frame_path_is_mask("/Camera/25/color/7"));
    ck_assert(!h5img_frame_path_is_mask("/mas/k"));
    ck_assert(!h5img_frame_path_is_mask(NULL));
    ck_assert_int_eq(h5img_frame_default_rule("/Camera/25/mask/7"), H5IMG_RULE_MASK);
    ck_assert_int_eq(h5img_frame_default_rule("/Camera/25/color/7"), H5IMG_RULE_NATIVE);
}
END_TEST

/* Guards: each verdict, from a real PNG: no signature, header cut (more
 * needed, or unparseable when nothing more exists), parsed but beyond the
 * limits, and an image with each rule's layout. */
START_TEST(verdicts)
{
    const char *dir = getenv("H5IMG_CONFORMANCE_DIR");
    ck_assert_msg(dir && *dir, "H5IMG_CONFORMANCE_DIR is not set (run through ctest)");
    char path[1200];
    snprintf(path, sizeof path, "%s/pngsuite/basn6a16.png", dir);
    size_t size = 0;
    unsigned char *png = read_file(path, &size);
    ck_assert_msg(png != NULL, "cannot read %s", path);
    h5img_info info;
    h5img_layout layout;
    h5img_status status;
    unsigned char text[16] = "plain old bytes";
    ck_assert_int_eq(h5img_frame_examine(text, sizeof text, sizeof text, H5IMG_RULE_NATIVE, 0, &info, &layout, &status),
                     H5IMG_FRAME_NOT_IMAGE);
    ck_assert_int_eq(h5img_frame_examine(png, 20, size, H5IMG_RULE_NATIVE, 0, &info, &layout, &status),
                     H5IMG_FRAME_NEED_MORE);
    ck_assert_int_eq(h5img_frame_examine(png, 20, 20, H5IMG_RULE_NATIVE, 0, &info, &layout, &status),
                     H5IMG_FRAME_UNPARSEABLE);
    ck_assert_int_eq(h5img_frame_examine(png, size, size, H5IMG_RULE_NATIVE, H5IMG_FLAG_BGR, &info, &layout, &status),
                     H5IMG_FRAME_IMAGE);
    ck_assert_uint_eq(layout.channels, 4);
    ck_assert_uint_eq(layout.element_size, 2);
    ck_assert_uint_eq(layout.flags, H5IMG_FLAG_BGR);
    ck_assert_int_eq(h5img_frame_examine(png, size, size, H5IMG_RULE_MASK, H5IMG_FLAG_BGR, &info, &layout, &status),
                     H5IMG_FRAME_IMAGE);
    ck_assert_uint_eq(layout.channels, 1);
    ck_assert_uint_eq(layout.element_size, 1);
    ck_assert_uint_eq(layout.flags, 0);
    ck_assert_int_eq(h5img_frame_examine(png, size, size, H5IMG_RULE_COLOR, 0, &info, &layout, &status),
                     H5IMG_FRAME_IMAGE);
    ck_assert_uint_eq(layout.channels, 3);
    /* The same header claiming 60000 x 60000: parsed, then refused by the limits. */
    unsigned char *huge = malloc(size);
    memcpy(huge, png, size);
    huge[16] = 0, huge[17] = 0, huge[18] = 0xea, huge[19] = 0x60;
    huge[20] = 0, huge[21] = 0, huge[22] = 0xea, huge[23] = 0x60;
    ck_assert_int_eq(h5img_frame_examine(huge, size, size, H5IMG_RULE_NATIVE, 0, &info, &layout, &status),
                     H5IMG_FRAME_UNSUITABLE);
    ck_assert_int_eq(status, H5IMG_E_LIMIT);
    free(huge);
    free(png);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("image_detect");
    TCase *tc = tcase_create("detect");
    tcase_add_test(tc, candidates);
    tcase_add_test(tc, prefix_growth);
    tcase_add_test(tc, mask_paths);
    tcase_add_test(tc, verdicts);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
