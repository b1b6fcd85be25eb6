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

/* The same walk, with every hard-link path of the dataset (names[0] is the
 * path dump_walk gives; the others follow in name order; NULL-terminated). */
typedef int (*dump_object_fn)(void *user, const char *const *names, size_t count);
int dump_walk_names(hid_t file, dump_object_fn fn, void *user);

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

/* ---- appended: --dilate and --format coco-rle (dump_extract.c, dump_write.c) ---- */

typedef struct dump_mask_options {
    unsigned dilate;    /* --dilate N: N x N dilation of mask frames; 0 or 1 = none */
    int coco_rle;       /* --format coco-rle: one COCO RLE .json per mask frame */
    unsigned threshold; /* --threshold T: foreground is value >= T (default 128) */
} dump_mask_options;

#define DUMP_DEFAULT_THRESHOLD 128u

/* dump_extract with mask options (dump_extract is this with none). */
int dump_extract_masks(hid_t file, const dump_options *options, const dump_mask_options *masks);

/* DIR/<stem>.json for a frame's COCO RLE (same checks as dump_output_path). */
char *dump_rle_output_path(const char *dir, const h5img_frame *frame, char *message, size_t message_size);

/* {"size": [H, W], "counts": "..."} of the frame's 1-channel uint8 pixels
 * (value >= threshold), written like every other output file. */
h5img_status dump_write_rle(const char *target, const h5img_frame *frame, unsigned threshold, char *message,
                            size_t message_size);

/* Write `data` to `target` through a temporary file renamed into place,
 * as every output of the tool is written. */
h5img_status dump_write_file(const char *target, const void *data, size_t size, char *message, size_t message_size);

/* ---- appended: --preview (dump_preview.c) ---- */

typedef struct dump_preview_options {
    const char *out;     /* --preview OUT.png */
    unsigned frame;      /* --frame N */
    unsigned tile_width; /* --tile-width W */
    int overlay;         /* --overlay mask (1) or none (0) */
} dump_preview_options;

#define DUMP_DEFAULT_TILE_WIDTH 320u

/* Write the contact sheet of FILE's cameras; with options->json print its
 * tile map on stdout. Returns an exit status. */
int dump_preview(hid_t file, const dump_options *options, const dump_preview_options *preview);

#endif /* H5IMG_TOOLS_DUMP_H */
