/* ops/ops_fail.c: failure sentences and the size check of the mask operations. */
#include "ops/ops_private.h"

#include <stdarg.h>
#include <stdio.h>

h5img_status h5img_ops_fail(char *message, size_t message_size, h5img_status status, const char *format, ...)
{
    if (message && message_size) {
        va_list args;
        va_start(args, format);
        vsnprintf(message, message_size, format, args);
        va_end(args);
    }
    return status;
}

h5img_status h5img_ops_check_size(uint32_t height, uint32_t width, const char *what, size_t *pixels, char *message,
                                  size_t message_size)
{
    if (height == 0 || width == 0)
        return h5img_ops_fail(message, message_size, H5IMG_E_ARGUMENT, "%s of a %ux%u image: a side is zero", what,
                              width, height);
    uint64_t count = (uint64_t)height * width;
    if (count > h5img_max_pixels() || count > SIZE_MAX)
        return h5img_ops_fail(message, message_size, H5IMG_E_LIMIT,
                              "%s of a %ux%u image: %llu pixels exceed the limit of %llu", what, width, height,
                              (unsigned long long)count, (unsigned long long)h5img_max_pixels());
    *pixels = (size_t)count;
    if (message && message_size) message[0] = '\0';
    return H5IMG_OK;
}
