/* ops/ops_private.h: what the mask operations share: their failure sentences (not installed). */
#ifndef H5IMG_OPS_PRIVATE_H
#define H5IMG_OPS_PRIVATE_H

#include "h5img.h"

/* Write the sentence into `message` (may be NULL or 0 bytes) and return
 * `status`, so an operation can `return h5img_ops_fail(...)`. */
h5img_status h5img_ops_fail(char *message, size_t message_size, h5img_status status, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* The check every operation makes before it allocates: sides non-zero and
 * height x width within h5img_max_pixels(). `what` names the operation in
 * the sentence. Sets *pixels on success. */
h5img_status h5img_ops_check_size(uint32_t height, uint32_t width, const char *what, size_t *pixels, char *message,
                                  size_t message_size);

#endif /* H5IMG_OPS_PRIVATE_H */
