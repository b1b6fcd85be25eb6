/* PLACEHOLDER (codec helper replaces) */
#include "h5img_internal.h"
h5img_status h5img_png_encode(const uint8_t *pixels, const h5img_layout *layout, int level, void **encoded, size_t *encoded_size, char *message, size_t message_size) { return H5IMG_E_UNSUPPORTED; }
