/* dump_write.c: output names and the keep/png/pgm-ppm/npy/coco-rle writers, each file written to a temporary name then renamed. */
#include "dump.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static mode_t file_mode = 0644;

void dump_write_init(void)
{
    mode_t mask = umask(0);
    umask(mask);
    file_mode = 0666 & ~mask;
}

static int host_is_big_endian(void)
{
    const uint16_t probe = 1;
    return *(const uint8_t *)&probe == 0;
}

/* ------------------------------------------------------------------------- */
/* Names                                                                     */
/* ------------------------------------------------------------------------- */

static const char *extension(const h5img_frame *frame, dump_format format, char *message, size_t message_size)
{
    switch (format) {
    case DUMP_KEEP:
        if (frame->codec == H5IMG_CODEC_PNG) return ".png";
        if (frame->codec == H5IMG_CODEC_JPEG) return ".jpg";
        snprintf(message, message_size, "stored bytes are neither PNG nor JPEG");
        return NULL;
    case DUMP_PNG: return ".png";
    case DUMP_NPY: return ".npy";
    case DUMP_PNM:
        if (frame->layout.channels == 1) return ".pgm";
        if (frame->layout.channels == 3) return ".ppm";
        snprintf(message, message_size,
                 "%u-channel image cannot be written as PGM/PPM without dropping its alpha; use --format png or npy",
                 frame->layout.channels);
        return NULL;
    }
    return NULL;
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* "." and ".." would escape or alias DIR; HDF5 allows them as link names. */
static int unsafe_component(const char *path)
{
    const char *start = path;
    for (;;) {
        const char *end = strchr(start, '/');
        size_t n = end ? (size_t)(end - start) : strlen(start);
        if ((n == 1 && start[0] == '.') || (n == 2 && start[0] == '.' && start[1] == '.')) return 1;
        if (!end) return 0;
        start = end + 1;
    }
}

char *dump_output_stem(const char *path)
{
    while (*path == '/') path++;
    const char *slash = strrchr(path, '/');
    const char *last = slash ? slash + 1 : path;
    int head = (int)(last - path);
    size_t size = strlen(path) + 8;
    char *stem = malloc(size);
    if (!stem) return NULL;
    /* Zero-padding keeps `ls` and shell globs in frame order. */
    size_t pad = all_digits(last) && strlen(last) < 6 ? 6 - strlen(last) : 0;
    snprintf(stem, size, "%.*s%.*s%s", head, path, (int)pad, "000000", last);
    return stem;
}

/* No system call takes a path of PATH_MAX bytes or more; refusing it here
 * keeps every later message, which names the path, within the reader's
 * message buffer (PATH_MAX plus a sentence). Frees `out` when refused. */
static char *within_path_max(char *out, char *message, size_t message_size)
{
    size_t length = strlen(out);
    if (length < PATH_MAX) return out;
    snprintf(message, message_size, "output path would be %zu bytes, over the system's limit of %d (PATH_MAX)",
             length, PATH_MAX - 1);
    free(out);
    return NULL;
}

char *dump_output_path(const char *dir, const h5img_frame *frame, dump_format format, char *message,
                       size_t message_size)
{
    const char *ext = extension(frame, format, message, message_size);
    if (!ext) return NULL;
    const char *path = frame->path;
    while (*path == '/') path++;
    if (!*path || unsafe_component(path)) {
        snprintf(message, message_size, "path has a '.' or '..' component or is empty; not written");
        return NULL;
    }
    char *stem = dump_output_stem(path);
    size_t size = strlen(dir) + (stem ? strlen(stem) : 0) + strlen(ext) + 2;
    char *out = stem ? malloc(size) : NULL;
    if (!out) {
        free(stem);
        snprintf(message, message_size, "out of memory");
        return NULL;
    }
    snprintf(out, size, "%s/%s%s", dir, stem, ext);
    free(stem);
    return within_path_max(out, message, message_size);
}

/* ------------------------------------------------------------------------- */
/* Atomic file writing                                                       */
/* ------------------------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t size)
{
    const unsigned char *p = data;
    while (size) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

#define TEMP_SUFFIX ".h5imgdump-XXXXXX"

/* How much of the output's base name the temporary name keeps: all of it
 * when "." + base + TEMP_SUFFIX fits NAME_MAX, else a prefix that does,
 * cut before a UTF-8 continuation byte so the name stays readable. */
static int temp_base_length(const char *base)
{
    size_t room = NAME_MAX - 1 - (sizeof TEMP_SUFFIX - 1);
    size_t length = strlen(base);
    if (length <= room) return (int)length;
    length = room;
    while (length > 0 && ((unsigned char)base[length] & 0xC0) == 0x80) length--;
    return (int)length;
}

/* Two parts (header + body) so no format needs a joined copy of the pixels. */
static h5img_status write_atomically(const char *target, const void *head, size_t head_size, const void *body,
                                     size_t body_size, char *message, size_t message_size)
{
    if (tool_make_parent_dirs(target) != 0) {
        snprintf(message, message_size, "cannot create the directory for %s: %s", target, strerror(errno));
        return H5IMG_E_IO;
    }
    const char *slash = strrchr(target, '/');
    int dir_length = slash ? (int)(slash - target + 1) : 0;
    size_t size = strlen(target) + sizeof TEMP_SUFFIX + 1;
    char *temp = malloc(size);
    if (!temp) return H5IMG_E_NOMEM;
    /* A hidden name in the same directory: rename() is then atomic, and a
     * leftover (kill -9) is recognisable and never mistaken for a frame. */
    snprintf(temp, size, "%.*s.%.*s" TEMP_SUFFIX, dir_length, target, temp_base_length(target + dir_length),
             target + dir_length);
    int fd = mkstemp(temp);
    if (fd < 0) {
        snprintf(message, message_size, "cannot create a temporary file beside %s: %s", target, strerror(errno));
        free(temp);
        return H5IMG_E_IO;
    }
    int failed = fchmod(fd, file_mode) != 0 || (head_size && write_all(fd, head, head_size) != 0) ||
                 write_all(fd, body, body_size) != 0;
    int saved = errno;
    if (close(fd) != 0 && !failed) failed = 1, saved = errno;
    if (!failed && rename(temp, target) != 0) failed = 1, saved = errno;
    if (failed) {
        unlink(temp);
        snprintf(message, message_size, "cannot write %s: %s", target, strerror(saved));
    }
    free(temp);
    return failed ? H5IMG_E_IO : H5IMG_OK;
}

/* ------------------------------------------------------------------------- */
/* Formats                                                                   */
/* ------------------------------------------------------------------------- */

static void swap_bytes16(uint8_t *p, size_t bytes)
{
    for (size_t i = 0; i + 1 < bytes; i += 2) {
        uint8_t t = p[i];
        p[i] = p[i + 1];
        p[i + 1] = t;
    }
}

/* BGR(A) -> RGB(A) in place, for formats that are RGB by definition. */
static void swap_red_blue(uint8_t *p, const h5img_layout *l)
{
    size_t pixel = (size_t)l->channels * l->element_size, count = (size_t)l->height * l->width;
    size_t es = l->element_size;
    for (size_t i = 0; i < count; i++, p += pixel)
        for (size_t b = 0; b < es; b++) {
            uint8_t t = p[b];
            p[b] = p[2 * es + b];
            p[2 * es + b] = t;
        }
}

static h5img_status write_pnm(const char *target, h5img_frame *f, char *message, size_t message_size)
{
    const h5img_layout *l = &f->layout;
    if (l->channels == 3 && (l->flags & H5IMG_FLAG_BGR)) swap_red_blue(f->pixels, l);
    /* Netpbm stores 16-bit samples big-endian. */
    int big = (l->flags & H5IMG_FLAG_BIG_ENDIAN) || host_is_big_endian();
    if (l->element_size == 2 && !big) swap_bytes16(f->pixels, f->pixels_size);
    char header[64];
    int n = snprintf(header, sizeof header, "P%c\n%u %u\n%u\n", l->channels == 1 ? '5' : '6', l->width, l->height,
                     l->element_size == 2 ? 65535u : 255u);
    return write_atomically(target, header, (size_t)n, f->pixels, f->pixels_size, message, message_size);
}

/* NPY format 1.0: magic, version, little-endian header length, then a
 * Python dict literal padded with spaces and ended by '\n' so the data
 * starts on a 64-byte boundary. */
static h5img_status write_npy(const char *target, h5img_frame *f, char *message, size_t message_size)
{
    const h5img_layout *l = &f->layout;
    /* Samples are in the dataset's byte order: big-endian if flagged, else the host's. */
    int big = (l->flags & H5IMG_FLAG_BIG_ENDIAN) || host_is_big_endian();
    const char *descr = l->element_size == 1 ? "|u1" : big ? ">u2" : "<u2";
    char dict[160], shape[64];
    if (l->channels == 1)
        snprintf(shape, sizeof shape, "(%u, %u)", l->height, l->width);
    else
        snprintf(shape, sizeof shape, "(%u, %u, %u)", l->height, l->width, l->channels);
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    unsigned char header[256];
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    size_t header_length = padded - 10;
    header[8] = (unsigned char)(header_length & 0xff);
    header[9] = (unsigned char)(header_length >> 8);
    memcpy(header + 10, dict, (size_t)n);
    memset(header + 10 + n, ' ', padded - total);
    header[padded - 1] = '\n';
    return write_atomically(target, header, padded, f->pixels, f->pixels_size, message, message_size);
}

static h5img_status write_png(const char *target, h5img_frame *f, char *message, size_t message_size)
{
    void *encoded = NULL;
    size_t encoded_size = 0;
    h5img_status status = h5img_encode(f->pixels, f->pixels_size, &f->layout, H5IMG_CODEC_PNG, DUMP_PNG_LEVEL,
                                       &encoded, &encoded_size, message, message_size);
    if (status != H5IMG_OK) {
        if (!message[0]) snprintf(message, message_size, "PNG encoding failed: %s", h5img_strerror(status));
        return status;
    }
    status = write_atomically(target, NULL, 0, encoded, encoded_size, message, message_size);
    h5img_free(encoded);
    return status;
}

h5img_status dump_write_frame(const char *target, h5img_frame *frame, dump_format format, char *message,
                              size_t message_size)
{
    message[0] = '\0';
    if (format == DUMP_KEEP)
        return write_atomically(target, NULL, 0, frame->encoded, frame->encoded_size, message, message_size);
    if (!frame->pixels) {
        snprintf(message, message_size, "no decoded pixels");
        return H5IMG_E_ARGUMENT;
    }
    switch (format) {
    case DUMP_PNG: return write_png(target, frame, message, message_size);
    case DUMP_PNM: return write_pnm(target, frame, message, message_size);
    case DUMP_NPY: return write_npy(target, frame, message, message_size);
    default: return H5IMG_E_ARGUMENT;
    }
}

/* ------------------------------------------------------------------------- */
/* COCO RLE                                                                  */
/* ------------------------------------------------------------------------- */

char *dump_rle_output_path(const char *dir, const h5img_frame *frame, char *message, size_t message_size)
{
    /* The npy name, whose checks (empty, '.' and '..' components) apply as
     * they are, with .json for .npy. */
    char *npy = dump_output_path(dir, frame, DUMP_NPY, message, message_size);
    if (!npy) return NULL;
    size_t length = strlen(npy);
    char *json = realloc(npy, length + 2);
    if (!json) {
        free(npy);
        snprintf(message, message_size, "out of memory");
        return NULL;
    }
    memcpy(json + length - 4, ".json", 6);
    return within_path_max(json, message, message_size); /* one byte longer than the npy name */
}

h5img_status dump_write_rle(const char *target, const h5img_frame *frame, unsigned threshold, char *message,
                            size_t message_size)
{
    message[0] = '\0';
    const h5img_layout *l = &frame->layout;
    if (!frame->pixels || l->channels != 1 || l->element_size != 1) {
        snprintf(message, message_size, "COCO RLE needs a 1-channel uint8 mask, not %u channel(s) of %u byte(s)",
                 l->channels, l->element_size);
        return H5IMG_E_ARGUMENT;
    }
    char *rle = NULL;
    size_t length = 0;
    h5img_status status = h5img_rle_encode(frame->pixels, l->height, l->width, threshold, &rle, &length, message,
                                           message_size);
    if (status != H5IMG_OK) return status;
    /* Digits run from '0' to 'o', so '\\' is the one character JSON needs
     * escaped; the body is at most twice the string. */
    char head[96];
    int n = snprintf(head, sizeof head, "{\"size\": [%u, %u], \"counts\": \"", l->height, l->width);
    char *body = malloc(2 * length + 4);
    if (!body) {
        h5img_free(rle);
        snprintf(message, message_size, "out of memory for a %zu-character RLE", length);
        return H5IMG_E_NOMEM;
    }
    size_t b = 0;
    for (size_t i = 0; i < length; i++) {
        if (rle[i] == '\\') body[b++] = '\\';
        body[b++] = rle[i];
    }
    memcpy(body + b, "\"}\n", 3);
    h5img_free(rle);
    status = write_atomically(target, head, (size_t)n, body, b + 3, message, message_size);
    free(body);
    return status;
}

h5img_status dump_write_file(const char *target, const void *data, size_t size, char *message, size_t message_size)
{
    message[0] = '\0';
    return write_atomically(target, NULL, 0, data, size, message, message_size);
}
