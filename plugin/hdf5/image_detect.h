/* image_detect.h: the one answer to "is this legacy dataset an image frame, and how does it decode", shared by the tools and the VOL connector. */
#ifndef H5IMG_IMAGE_DETECT_H
#define H5IMG_IMAGE_DETECT_H

#include "h5img.h"

#include <stddef.h>
#include <stdint.h>

/* No HDF5 header here: callers query HDF5 themselves (through whichever
 * binding they use) and hand over plain facts, so the same code decides for
 * h5imgrepack, h5imgdump (linked HDF5) and the VOL connector (run-time HDF5). */

/* What HDF5 says about a dataset, before any of its bytes are read. */
typedef struct h5img_frame_shape {
    int integer_class; /* the type class is H5T_INTEGER */
    size_t type_size;  /* H5Tget_size */
    int is_unsigned;   /* H5Tget_sign == H5T_SGN_NONE */
    int simple;        /* the dataspace is H5S_SIMPLE */
    int rank;
    uint64_t points; /* elements in the dataspace */
} h5img_frame_shape;

/* Non-zero for the legacy SMC layout: a non-empty 1-D dataset of unsigned
 * 1-byte integers, the only datasets whose bytes are worth looking at. */
int h5img_frame_is_candidate(const h5img_frame_shape *shape);

/* How many leading bytes to read for the next look at a candidate of
 * `length` bytes, after `have` were not enough (0 the first time): 4 KiB,
 * then eight times more, never past the dataset or the chunk limit. Returns
 * 0 when there is nothing more worth reading. */
size_t h5img_frame_next_prefix(uint64_t length, size_t have);

typedef enum h5img_frame_verdict {
    H5IMG_FRAME_NOT_IMAGE = 0, /* no PNG/JPEG signature: ordinary bytes */
    H5IMG_FRAME_NEED_MORE,     /* signature seen, header runs past the prefix: read h5img_frame_next_prefix() */
    H5IMG_FRAME_UNPARSEABLE,   /* signature, but the header does not parse: stays bytes */
    H5IMG_FRAME_UNSUITABLE,    /* header parses, but the chosen rule cannot produce it (limits, depth) */
    H5IMG_FRAME_IMAGE          /* an image: `info` and `layout` are filled */
} h5img_frame_verdict;

/* The verdict on a candidate from its first `head_size` bytes (of `length`
 * in all). `rule` is the rule chosen for its path (h5img_frame_rule), never
 * AUTO; `flags` are H5IMG_FLAG_* bits for the layout (BGR). `status` gets
 * the probe's or the layout check's status when they fail. */
h5img_frame_verdict h5img_frame_examine(const void *head, size_t head_size, uint64_t length, h5img_rule rule,
                                        uint32_t flags, h5img_info *info, h5img_layout *layout,
                                        h5img_status *status);

/* Non-zero when some '/'-separated component of `path` contains "mask" in
 * any case: the SMC convention for mask frames. */
int h5img_frame_path_is_mask(const char *path);

/* The rule a legacy frame at `path` decodes with when nobody chose one:
 * MASK for mask paths, NATIVE otherwise. */
h5img_rule h5img_frame_default_rule(const char *path);

/* The layout of a frame with header `info` under `rule` (never AUTO):
 * colour is 3-channel uint8, mask and luma 1-channel uint8, native as stored. */
void h5img_frame_layout(h5img_rule rule, const h5img_info *info, uint32_t flags, h5img_layout *layout);

#endif /* H5IMG_IMAGE_DETECT_H */
