/* frame_candidate.h: the tools' bridge from a linked-HDF5 dataset to the shared image detector's first question. */
#ifndef H5IMG_TOOLS_FRAME_CANDIDATE_H
#define H5IMG_TOOLS_FRAME_CANDIDATE_H

#include <hdf5.h>

/* Non-zero when `dataset` has the legacy SMC frame's shape (h5img_frame_is_candidate
 * of plugin/hdf5/image_detect.h: a non-empty 1-D dataset of unsigned bytes). */
int tool_frame_is_candidate(hid_t dataset);

#endif /* H5IMG_TOOLS_FRAME_CANDIDATE_H */
