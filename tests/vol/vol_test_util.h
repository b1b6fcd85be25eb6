/* vol_test_util.h: what the VOL connector's Check tests share: the oracle manifest, file access with and without the connector, error-stack text. */
#ifndef H5IMG_VOL_TEST_UTIL_H
#define H5IMG_VOL_TEST_UTIL_H

#include <check.h>
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* One line of make_vol_oracle.py's manifest. */
typedef struct vol_oracle_entry {
    char file[64];
    char path[160];
    char rule[16];
    int is_default; /* the rule the connector picks by itself */
    int ok;         /* OpenCV decoded it */
    uint32_t height, width, channels, element_size;
    char raw[64];
} vol_oracle_entry;

typedef struct vol_oracle {
    char dir[1024];
    vol_oracle_entry *entries;
    size_t count;
} vol_oracle;

/* Loads $H5IMG_VOL_ORACLE_DIR/manifest.tsv; fails the test if it cannot. */
void vol_oracle_load(vol_oracle *oracle);
void vol_oracle_free(vol_oracle *oracle);
const vol_oracle_entry *vol_oracle_find(const vol_oracle *oracle, const char *file, const char *path, const char *rule);
/* The reference pixels of an ok entry (malloc()ed); fails the test if unreadable. */
void *vol_oracle_pixels(const vol_oracle *oracle, const vol_oracle_entry *entry, size_t *size);

/* $name, failing the test when CTest did not set it. */
const char *vol_env(const char *name);
/* DIR/name in a static buffer (one at a time). */
const char *vol_path(const char *dir, const char *name);

/* A file access property list through the native connector only, or through
 * h5img registered by name with `info` ("under_vol=0;under_info={}...";
 * NULL: no info at all). */
hid_t vol_native_fapl(void);
hid_t vol_h5img_fapl(const char *info);

/* The whole file (malloc()ed), failing the test when unreadable. */
void *vol_slurp(const char *path, size_t *size);
/* Copy a file; fails the test on error. */
void vol_copy_file(const char *from, const char *to);

/* Index of the first differing byte, or -1 when equal. */
long vol_first_difference(const void *a, const void *b, size_t size);

/* Every description on the calling thread's HDF5 error stack, joined by
 * " | ", into a static buffer. */
const char *vol_error_text(void);

#endif /* H5IMG_VOL_TEST_UTIL_H */
