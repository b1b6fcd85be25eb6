/* ops/rle_encode.c: COCO run-length encoding of a thresholded mask, byte-identical to pycocotools' string form. */
#include "ops/ops_private.h"

#include <stdlib.h>
#include <string.h>

/* Columns gathered per pass: COCO runs go down the columns while the mask
 * is stored by rows, so a strip of this many columns is transposed into a
 * buffer that stays in cache, then each of its columns is scanned. */
#define STRIP 64

struct text {
    char *data;
    size_t length, capacity;
    int failed;
};

static void put(struct text *t, char c)
{
    if (t->length + 1 >= t->capacity) {
        size_t capacity = t->capacity ? 2 * t->capacity : 256;
        char *grown = t->failed ? NULL : realloc(t->data, capacity);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->capacity = capacity;
    }
    t->data[t->length++] = c;
}

/* pycocotools' rleToString for one count (already the difference when it
 * should be): 5-bit groups, low first, bit 5 set while more follow, the
 * last group's bit 4 carrying the sign; x >> 5 is an arithmetic shift there,
 * written out so it is defined for negative x here too. */
static void put_count(struct text *t, int64_t x)
{
    for (;;) {
        int c = (int)(x & 0x1f);
        x = x < 0 ? ~(~x >> 5) : x >> 5;
        int more = (c & 0x10) ? x != -1 : x != 0;
        if (more) c |= 0x20;
        put(t, (char)(c + 48));
        if (!more) return;
    }
}

struct runs {
    struct text text;
    uint64_t index;   /* counts emitted so far */
    int64_t before2, before1; /* the last two counts, for the differences */
    uint64_t current; /* length of the run being counted */
    uint8_t value;    /* 0 or 1: what the current run holds */
};

static void end_run(struct runs *r)
{
    int64_t count = (int64_t)r->current;
    put_count(&r->text, r->index > 2 ? count - r->before2 : count);
    r->before2 = r->before1;
    r->before1 = count;
    r->index++;
    r->current = 0;
}

static void scan(struct runs *r, const uint8_t *column, uint32_t height)
{
    for (uint32_t y = 0; y < height; y++) {
        if (column[y] != r->value) {
            end_run(r);
            r->value = column[y];
        }
        r->current++;
    }
}

h5img_status h5img_rle_encode(const uint8_t *mask, uint32_t height, uint32_t width, unsigned threshold, char **rle,
                              size_t *rle_length, char *message, size_t message_size)
{
    if (!mask || !rle || !rle_length)
        return h5img_ops_fail(message, message_size, H5IMG_E_ARGUMENT, "RLE encoding: NULL %s",
                              mask ? "output" : "mask");
    *rle = NULL;
    *rle_length = 0;
    if (threshold > 255)
        return h5img_ops_fail(message, message_size, H5IMG_E_ARGUMENT,
                              "RLE encoding: threshold %u is outside 0..255", threshold);
    size_t pixels = 0;
    h5img_status status = h5img_ops_check_size(height, width, "RLE encoding", &pixels, message, message_size);
    if (status != H5IMG_OK) return status;
    uint8_t *strip = malloc((size_t)STRIP * height);
    if (!strip)
        return h5img_ops_fail(message, message_size, H5IMG_E_NOMEM,
                              "RLE encoding of a %ux%u mask: cannot allocate %zu bytes", width, height,
                              (size_t)STRIP * height);
    struct runs r;
    memset(&r, 0, sizeof r);
    for (uint32_t x0 = 0; x0 < width; x0 += STRIP) {
        uint32_t columns = width - x0 < STRIP ? width - x0 : STRIP;
        for (uint32_t y = 0; y < height; y++) {
            const uint8_t *row = mask + (size_t)y * width + x0;
            for (uint32_t c = 0; c < columns; c++) strip[(size_t)c * height + y] = row[c] >= threshold;
        }
        for (uint32_t c = 0; c < columns; c++) scan(&r, strip + (size_t)c * height, height);
    }
    end_run(&r);
    free(strip);
    put(&r.text, '\0');
    if (r.text.failed) {
        free(r.text.data);
        return h5img_ops_fail(message, message_size, H5IMG_E_NOMEM,
                              "RLE encoding of a %ux%u mask: out of memory after %zu characters", width, height,
                              r.text.length);
    }
    *rle = r.text.data;
    *rle_length = r.text.length - 1;
    return H5IMG_OK;
}
