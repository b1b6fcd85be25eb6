/* dump.h: interfaces between h5imgdump's parts (summary, extraction, writers, dataset scan). */
#ifndef H5IMG_TOOLS_DUMP_H
#define H5IMG_TOOLS_DUMP_H

#include "h5img.h"
#include "reader/reader_internal.h"

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* Output formats of --extract. */
typedef enum dump_format { DUMP_KEEP, DUMP_PNG, DUMP_PNM, DUMP_NPY } dump_format;

typedef struct dump_options {
    const char *file;
    int json;
    const char *extract_dir; /* NULL: summary */
    dump_format format;
    const char *const *select; /* glob patterns, NULL-terminated; none = everything */
    unsigned jobs;
    int bgr; /* legacy colour frames in BGR(A) order (--bgr) */
} dump_options;

/* ---- dump_scan.c: walking the file ---- */

/* Called once per dataset (each object once, even with several hard links),
 * in name order, with its path without the leading '/'. Return 0 to go on,
 * non-zero to stop the walk (that value is returned by dump_walk). */
typedef int (*dump_dataset_fn)(void *user, const char *path);
int dump_walk(hid_t file, dump_dataset_fn fn, void *user);

/* Whether a legacy candidate's first bytes carry a PNG/JPEG signature, and
 * its header when `info` is given (reads a prefix, grown until the header
 * parses; never the whole image unless it is tiny). Returns the codec,
 * H5IMG_CODEC_UNKNOWN when not an image; *probe_status says whether the
 * header parsed. */
h5img_codec dump_probe_legacy(hid_t dataset, const h5img_dataset_desc *desc, h5img_info *info,
                              h5img_status *probe_status);

/* Order paths as a person would: numeric components numerically ("2" before "10"). */
int dump_natural_compare(const char *a, const char *b);
void dump_sort_paths(char **paths, size_t count);

/* ---- dump_summary.c ---- */
int dump_summary(hid_t file, const dump_options *options);

/* ---- dump_extract.c ---- */
int dump_extract(hid_t file, const dump_options *options);

/* ---- dump_write.c: one output file per frame ---- */

/* Output name for a frame: DIR/<path> with the last component zero-padded
 * to 6 digits when it is a number, plus the format's extension. Returns a
 * malloc()ed string, or NULL when the frame cannot be written in this
 * format (message says why). */
char *dump_output_path(const char *dir, const h5img_frame *frame, dump_format format, char *message,
                       size_t message_size);

/* The DIR-relative part of dump_output_path without the extension (the
 * path, its last component zero-padded), malloc()ed; NULL when out of
 * memory. Two frames with the same stem would write the same file. */
char *dump_output_stem(const char *path);

/* Write the frame in the format to `target` through a temporary file in
 * the same directory renamed into place, so `target` is either the old
 * file or the complete new one, never half written. */
h5img_status dump_write_frame(const char *target, h5img_frame *frame, dump_format format, char *message,
                              size_t message_size);

/* Remember the process umask once, before threads start: mkstemp creates
 * files 0600, and outputs should get the usual 0666 & ~umask. */
void dump_write_init(void);

/* PNG level for --format png: 1, because extraction speed is what users
 * wait on and the output is lossless at every level. */
#define DUMP_PNG_LEVEL 1

#endif /* H5IMG_TOOLS_DUMP_H */
