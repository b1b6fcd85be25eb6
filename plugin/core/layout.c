/* layout.c: what an output layout is: its byte size, whether h5img can produce it, and the rule auto picks for it. */
#include "core/decoder_state.h"

h5img_rule h5img_resolve_rule(uint32_t channels, uint32_t element_size)
{
    if (element_size == 2) return H5IMG_RULE_NATIVE;
    if (channels == 1) return H5IMG_RULE_MASK;
    if (channels == 3) return H5IMG_RULE_COLOR;
    return H5IMG_RULE_NATIVE;
}

size_t h5img_layout_bytes(const h5img_layout *layout)
{
    size_t bytes = 0;
    if (!layout || !h5img_mul_size(&bytes, layout->height, layout->width, layout->channels, layout->element_size))
        return 0;
    return bytes;
}

h5img_status h5img_layout_check(const h5img_layout *layout)
{
    if (!layout || layout->height == 0 || layout->width == 0) return H5IMG_E_ARGUMENT;
    if (layout->channels != 1 && layout->channels != 3 && layout->channels != 4) return H5IMG_E_ARGUMENT;
    if (layout->element_size != 1 && layout->element_size != 2) return H5IMG_E_ARGUMENT;
    if (layout->flags & ~H5IMG_FLAGS_KNOWN) return H5IMG_E_ARGUMENT;
    switch (layout->rule) {
    case H5IMG_RULE_NATIVE: break;
    case H5IMG_RULE_COLOR:
        if (layout->channels != 3 || layout->element_size != 1) return H5IMG_E_ARGUMENT;
        break;
    case H5IMG_RULE_MASK:
    case H5IMG_RULE_LUMA:
        if (layout->channels != 1 || layout->element_size != 1) return H5IMG_E_ARGUMENT;
        break;
    default: return H5IMG_E_ARGUMENT;
    }
    if ((uint64_t)layout->height * layout->width > h5img_max_pixels()) return H5IMG_E_LIMIT;
    size_t bytes = h5img_layout_bytes(layout);
    if (bytes == 0 || bytes > h5img_max_chunk_bytes()) return H5IMG_E_LIMIT;
    return H5IMG_OK;
}
