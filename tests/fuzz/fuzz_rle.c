/* fuzz_rle.c: libFuzzer harness for h5img_rle_decode: any string, any small mask size; no crash, no write outside the mask, re-encoding round-trips. */
/*
 * Input = 2 bytes choosing the mask (height = 1 + byte 0 % 64, width =
 * 1 + byte 1 % 64), then the RLE string (any bytes, NULs included). What it
 * guards, beyond "no crash, no sanitizer report" (the mask is malloc()ed at
 * its exact size, so ASan sees a write past it):
 *   - a status is H5IMG_OK or H5IMG_E_CORRUPT, and a failure's message
 *     names an offset within the string;
 *   - success writes only 0 and 1, every pixel (the decode runs twice, into
 *     masks pre-filled with 0x00 and 0xff, and both must agree);
 *   - what decoded re-encodes (threshold 1) to a string that decodes to the
 *     same mask.
 * Any violation is __builtin_trap(), so libFuzzer keeps the input.
 */
#include "h5img.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok)
{
    if (!ok) __builtin_trap();
}

/* Masks here are at most 64 x 64, so nothing needs the limits tightened. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint32_t height = 1 + data[0] % 64, width = 1 + data[1] % 64;
    const char *rle = (const char *)data + 2;
    size_t length = size - 2, pixels = (size_t)height * width;
    uint8_t *a = malloc(pixels), *b = malloc(pixels);
    check(a && b);
    memset(a, 0x00, pixels);
    memset(b, 0xff, pixels);
    char message[256] = "unset";
    h5img_status status = h5img_rle_decode(rle, length, height, width, a, pixels, message, sizeof message);
    check(status == H5IMG_OK || status == H5IMG_E_CORRUPT);
    check(h5img_rle_decode(rle, length, height, width, b, pixels, NULL, 0) == status);
    if (status != H5IMG_OK) {
        const char *at = strstr(message, "offset ");
        check(at != NULL);
        check(strtoull(at + 7, NULL, 10) <= length);
    } else {
        check(memcmp(a, b, pixels) == 0);
        for (size_t i = 0; i < pixels; i++) check(a[i] <= 1);
        char *again = NULL;
        size_t again_length = 0;
        check(h5img_rle_encode(a, height, width, 1, &again, &again_length, message, sizeof message) == H5IMG_OK);
        memset(b, 0xff, pixels);
        check(h5img_rle_decode(again, again_length, height, width, b, pixels, message, sizeof message) == H5IMG_OK);
        check(memcmp(a, b, pixels) == 0);
        h5img_free(again);
    }
    free(a);
    free(b);
    return 0;
}
