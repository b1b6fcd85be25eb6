/* test_install_dir.c: `cmake --install` must put the plugin where HDF5 looks when HDF5_PLUGIN_PATH is unset. */
#include <check.h>
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_install_dir_is_hdf5_default_plugin_path)
{
    /* The path table is read from the environment when the library starts. */
    unsetenv("HDF5_PLUGIN_PATH");
    unsigned count = 0;
    ck_assert_int_ge(H5PLsize(&count), 0);
    ck_assert_uint_ge(count, 1);
    int found = 0;
    char dir[4096];
    for (unsigned i = 0; i < count && !found; i++) {
        ck_assert_int_gt(H5PLget(i, dir, sizeof dir), 0);
        found = strcmp(dir, H5IMG_PLUGIN_INSTALL_DIR) == 0;
    }
    ck_assert_msg(found, "H5IMG_PLUGIN_INSTALL_DIR is %s but HDF5's default plugin path starts with %s",
                  H5IMG_PLUGIN_INSTALL_DIR, dir);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("install-dir");
    TCase *tc = tcase_create("hdf5");
    tcase_add_test(tc, test_install_dir_is_hdf5_default_plugin_path);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
