/* PLACEHOLDER (codec helper replaces) */
#include "h5img_internal.h"
h5img_status h5img_jpeg_probe(const uint8_t *data, size_t size, h5img_info *info) { return H5IMG_E_UNSUPPORTED; }
