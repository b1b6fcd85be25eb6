/* image_detect.c: decides from a dataset's type, shape, first bytes and path whether it is a legacy image frame, and its layout. */
#include "hdf5/image_detect.h"

#include <string.h>
#include <strings.h>

#define FIRST_PREFIX 4096u /* most PNG and JPEG headers end well inside it */

int h5img_frame_is_candidate(const h5img_frame_shape *shape)
{
    return shape && shape->integer_class && shape->type_size == 1 && shape->is_unsigned && shape->simple &&
           shape->rank == 1 && shape->points > 0;
}

size_t h5img_frame_next_prefix(uint64_t length, size_t have)
{
    uint64_t ceiling = length < h5img_max_chunk_bytes() ? length : h5img_max_chunk_bytes();
    uint64_t want = have == 0 ? FIRST_PREFIX : (uint64_t)have * 8;
    if (want > ceiling) want = ceiling;
    return want > have ? (size_t)want : 0;
}

h5img_frame_verdict h5img_frame_examine(const void *head, size_t head_size, uint64_t length, h5img_rule rule,
                                        uint32_t flags, h5img_info *info, h5img_layout *layout,
                                        h5img_status *status)
{
    *status = H5IMG_OK;
    if (h5img_detect(head, head_size) == H5IMG_CODEC_UNKNOWN) return H5IMG_FRAME_NOT_IMAGE;
    *status = h5img_probe(head, head_size, info);
    if (*status == H5IMG_E_TRUNCATED && head_size < length && h5img_frame_next_prefix(length, head_size))
        return H5IMG_FRAME_NEED_MORE;
    if (*status != H5IMG_OK) return H5IMG_FRAME_UNPARSEABLE;
    h5img_frame_layout(rule, info, flags, layout);
    *status = h5img_layout_check(layout);
    return *status == H5IMG_OK ? H5IMG_FRAME_IMAGE : H5IMG_FRAME_UNSUITABLE;
}

int h5img_frame_path_is_mask(const char *path)
{
    if (!path) return 0;
    /* "mask" holds no '/', so any occurrence lies inside one component. */
    for (const char *s = path; *s; s++)
        if (strncasecmp(s, "mask", 4) == 0) return 1;
    return 0;
}

h5img_rule h5img_frame_default_rule(const char *path)
{
    return h5img_frame_path_is_mask(path) ? H5IMG_RULE_MASK : H5IMG_RULE_NATIVE;
}

void h5img_frame_layout(h5img_rule rule, const h5img_info *info, uint32_t flags, h5img_layout *layout)
{
    memset(layout, 0, sizeof *layout);
    layout->height = info->height;
    layout->width = info->width;
    layout->rule = rule;
    layout->element_size = 1;
    switch (rule) {
    case H5IMG_RULE_COLOR: layout->channels = 3; break;
    case H5IMG_RULE_MASK:
    case H5IMG_RULE_LUMA: layout->channels = 1; break;
    default:
        layout->channels = info->channels;
        layout->element_size = info->element_size;
        break;
    }
    if (layout->channels >= 3) layout->flags = flags & H5IMG_FLAG_BGR;
}
