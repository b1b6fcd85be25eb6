/* jpeg_encode.c: JPEG encoding with TurboJPEG (uint8 gray or RGB/BGR; 4:2:0 chroma for colour). */
#include "codec/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <turbojpeg.h>

static h5img_status encode_failure(h5img_status status, char *message, size_t message_size, const h5img_layout *layout,
                                   const char *what)
{
    if (message && message_size)
        snprintf(message, message_size, "JPEG encode of %ux%ux%u: %s", layout->width, layout->height,
                 layout->channels, what);
    return status;
}

h5img_status h5img_jpeg_encode(const uint8_t *pixels, const h5img_layout *layout, int quality, void **encoded,
                               size_t *encoded_size, char *message, size_t message_size)
{
    if (layout->element_size != 1 || (layout->channels != 1 && layout->channels != 3))
        return encode_failure(H5IMG_E_UNSUPPORTED, message, message_size, layout, "only uint8 gray or RGB is possible");
    if (layout->width > H5IMG_JPEG_MAX_SIDE || layout->height > H5IMG_JPEG_MAX_SIDE)
        return encode_failure(H5IMG_E_UNSUPPORTED, message, message_size, layout, "JPEG sides are at most 65500 (libjpeg)");
    int gray = layout->channels == 1;
    int subsamp = gray ? TJSAMP_GRAY : TJSAMP_420;
    int format = gray ? TJPF_GRAY : (layout->flags & H5IMG_FLAG_BGR) ? TJPF_BGR : TJPF_RGB;
    int width = (int)layout->width, height = (int)layout->height;

    /* A worst-case buffer from malloc with NOREALLOC lets the caller free()
     * the result: TurboJPEG never swaps in a tjAlloc'd buffer of its own. */
    unsigned long capacity = tjBufSize(width, height, subsamp);
    if (capacity == (unsigned long)-1)
        return encode_failure(H5IMG_E_ENCODE, message, message_size, layout, tjGetErrorStr2(NULL));
    unsigned char *buffer = malloc(capacity);
    if (!buffer) return encode_failure(H5IMG_E_NOMEM, message, message_size, layout, "out of memory");
    tjhandle handle = tjInitCompress();
    if (!handle) {
        free(buffer);
        return encode_failure(H5IMG_E_NOMEM, message, message_size, layout, tjGetErrorStr2(NULL));
    }
    unsigned long size = capacity;
    int failed = tjCompress2(handle, pixels, width, width * tjPixelSize[format], height, format, &buffer, &size,
                             subsamp, quality, TJFLAG_NOREALLOC);
    if (failed) {
        encode_failure(H5IMG_E_ENCODE, message, message_size, layout, tjGetErrorStr2(handle));
        tjDestroy(handle);
        free(buffer);
        return H5IMG_E_ENCODE;
    }
    tjDestroy(handle);
    /* Give back the worst-case slack; keeping the larger block is fine too. */
    unsigned char *shrunk = realloc(buffer, size);
    *encoded = shrunk ? shrunk : buffer;
    *encoded_size = size;
    return H5IMG_OK;
}
