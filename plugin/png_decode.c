/* PLACEHOLDER (codec helper replaces) */
#include "h5img_internal.h"
h5img_status h5img_png_decode(h5img_decoder *d, const uint8_t *data, size_t size, const h5img_info *info, const h5img_layout *layout, uint8_t *out) { return H5IMG_E_UNSUPPORTED; }
