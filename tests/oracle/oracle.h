/* oracle.h: load OpenCV reference decodes written by make_oracle.py, for Check tests. */
#ifndef H5IMG_TEST_ORACLE_H
#define H5IMG_TEST_ORACLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct oracle_entry {
    char name[128];
    char rule[16];
    int ok; /* OpenCV produced an image */
    uint32_t height, width, channels, element_size;
} oracle_entry;

typedef struct oracle {
    char dir[1024];
    oracle_entry *entries;
    size_t count;
} oracle;

/* Read DIR/manifest.tsv; returns 0 on success. */
int oracle_load(oracle *o, const char *dir);
void oracle_free(oracle *o);
/* Entry for (file name, rule), or NULL. */
const oracle_entry *oracle_find(const oracle *o, const char *name, const char *rule);
/* The reference pixels of an ok entry (malloc()ed, *size set), or NULL. */
void *oracle_pixels(const oracle *o, const oracle_entry *e, size_t *size);
/* Whole file into memory (malloc()ed), or NULL. */
void *read_file(const char *path, size_t *size);
/* Index of the first differing byte, or -1 when equal. */
long first_difference(const void *a, const void *b, size_t size);

#endif
