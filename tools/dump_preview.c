/* dump_preview.c: --preview: one PNG contact sheet with a tile per camera (frame N, scaled, named, mask tinted), and its tile map as JSON. */
#include "codec/codec.h"
#include "dump.h"
#include "dump_font.h"
#include "dump_resize.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAP 4                                 /* pixels between tiles and around the sheet */
#define LABEL_HEIGHT (DUMP_FONT_HEIGHT + 4)   /* strip under each tile for the camera's name */
#define MAX_COLUMNS 16
static const uint8_t background[3] = {24, 24, 24};
static const uint8_t failed_fill[3] = {72, 16, 16};
static const uint8_t label_ink[3] = {230, 230, 230};
/* The mask's tint: at a mask value of 255 the pixel is 60% its colour, 40% this. */
static const uint8_t tint[3] = {0, 255, 96};

struct tile {
    char *camera;     /* "Camera/25" */
    char *color_path; /* the frame shown, NULL when the camera has no frame N */
    char *mask_path;  /* its mask, NULL when there is none or --overlay none */
    /* Filled on the worker threads, one tile per frame, so never shared. */
    uint8_t *rgb, *mask;
    uint32_t w, h, mask_w, mask_h;
    h5img_status status, mask_status;
    char message[256], mask_message[256];
    uint32_t x, y; /* where the image lies in the sheet */
};

struct preview {
    const dump_options *options;
    const dump_preview_options *settings;
    char **datasets; /* every dataset path, sorted for bsearch */
    size_t ndatasets, capacity;
    struct tile *tiles;
    size_t ntiles;
    int out_of_memory;
};

/* ------------------------------------------------------------------------- */
/* Finding the cameras                                                       */
/* ------------------------------------------------------------------------- */

static int collect_dataset(void *user, const char *path)
{
    struct preview *p = user;
    if (p->ndatasets == p->capacity) {
        size_t capacity = p->capacity ? 2 * p->capacity : 256;
        char **grown = realloc(p->datasets, capacity * sizeof *grown);
        if (!grown) return p->out_of_memory = 1;
        p->datasets = grown;
        p->capacity = capacity;
    }
    if (!(p->datasets[p->ndatasets] = strdup(path))) return p->out_of_memory = 1;
    p->ndatasets++;
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_dataset(const struct preview *p, const char *path)
{
    return bsearch(&path, p->datasets, p->ndatasets, sizeof *p->datasets, compare_strings) != NULL;
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* For PREFIX/color/DIGITS, the length of PREFIX; 0 when the path is not a colour frame. */
static size_t camera_length(const char *path, const char **frame)
{
    const char *last = strrchr(path, '/');
    if (!last || !all_digits(last + 1)) return 0;
    static const char color[] = "/color";
    size_t before = (size_t)(last - path);
    if (before <= sizeof color - 1 || strncmp(last - (sizeof color - 1), color, sizeof color - 1) != 0) return 0;
    *frame = last + 1;
    return before - (sizeof color - 1);
}

static char *joined(const char *a, size_t a_length, const char *b, const char *c)
{
    size_t size = a_length + strlen(b) + strlen(c) + 1;
    char *out = malloc(size);
    if (out) snprintf(out, size, "%.*s%s%s", (int)a_length, a, b, c);
    return out;
}

/* The mask of a camera's frame: CAMERA/mask/N (RenderMe-360), else
 * Mask/<camera's last component>/mask/N (DNA-Rendering). */
static char *find_mask(const struct preview *p, const char *camera, const char *frame)
{
    char *path = joined(camera, strlen(camera), "/mask/", frame);
    if (path && has_dataset(p, path)) return path;
    free(path);
    const char *slash = strrchr(camera, '/');
    const char *id = slash ? slash + 1 : camera;
    char *head = joined("Mask/", 5, id, "/mask/");
    path = head ? joined(head, strlen(head), frame, "") : NULL;
    free(head);
    if (path && has_dataset(p, path)) return path;
    free(path);
    return NULL;
}

static struct tile *tile_for(struct preview *p, const char *camera, size_t length)
{
    for (size_t i = 0; i < p->ntiles; i++)
        if (strlen(p->tiles[i].camera) == length && strncmp(p->tiles[i].camera, camera, length) == 0)
            return &p->tiles[i];
    struct tile *grown = realloc(p->tiles, (p->ntiles + 1) * sizeof *grown);
    if (!grown) return NULL;
    p->tiles = grown;
    struct tile *t = &p->tiles[p->ntiles];
    memset(t, 0, sizeof *t);
    if (!(t->camera = joined(camera, length, "", ""))) return NULL;
    t->status = t->mask_status = H5IMG_OK;
    p->ntiles++;
    return t;
}

static int compare_tiles(const void *a, const void *b)
{
    return dump_natural_compare(((const struct tile *)a)->camera, ((const struct tile *)b)->camera);
}

/* Every camera with any colour frame gets a tile; the one holding frame N
 * (by number, so "7" and "000007" both count) is what it shows. */
static int find_cameras(struct preview *p)
{
    for (size_t i = 0; i < p->ndatasets; i++) {
        const char *frame = NULL, *path = p->datasets[i];
        size_t length = camera_length(path, &frame);
        if (!length) continue;
        struct tile *t = tile_for(p, path, length);
        if (!t) return -1;
        if (t->color_path || strtoull(frame, NULL, 10) != p->settings->frame) continue;
        if (!(t->color_path = strdup(path))) return -1;
        /* No mask (or no memory to name one) leaves the tile untinted. */
        if (p->settings->overlay) t->mask_path = find_mask(p, t->camera, frame);
    }
    /* qsort's array may not be NULL, even for no elements. */
    if (p->ntiles) qsort(p->tiles, p->ntiles, sizeof *p->tiles, compare_tiles);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Decoding, on the reader's worker threads                                  */
/* ------------------------------------------------------------------------- */

/* Reader entry i shows tile i / 2: the colour frame (even) or its mask (odd). */
struct job {
    struct preview *p;
    char **paths;
    struct tile **owner;
    int *is_mask;
};

static uint32_t tile_height(const struct preview *p, uint32_t width, uint32_t height)
{
    double h = (double)height * p->settings->tile_width / width;
    return h < 1 ? 1 : (uint32_t)lround(h);
}

/* Full decode under `rule` (colour or mask), the probed size checked against the limit first. */
static h5img_status decode_full(const h5img_frame *f, const h5img_info *info, h5img_rule rule, uint8_t **pixels,
                                char *message, size_t message_size)
{
    h5img_layout layout = {info->height, info->width, rule == H5IMG_RULE_COLOR ? 3u : 1u, 1, rule, 0};
    h5img_status status = h5img_layout_check(&layout);
    if (status != H5IMG_OK) {
        snprintf(message, message_size, "%ux%u image: %s", info->width, info->height, h5img_strerror(status));
        return status;
    }
    size_t bytes = h5img_layout_bytes(&layout);
    if (!(*pixels = malloc(bytes))) {
        snprintf(message, message_size, "cannot allocate %zu bytes to decode a %ux%u frame", bytes, info->width,
                 info->height);
        return H5IMG_E_NOMEM;
    }
    status = h5img_decode(f->encoded, f->encoded_size, &layout, *pixels, bytes, message, message_size);
    if (status != H5IMG_OK) {
        free(*pixels);
        *pixels = NULL;
    }
    return status;
}

/* Colour: JPEG at the smallest DCT scale that covers the tile, anything
 * else in full; then resampled to the tile. */
static h5img_status colour_tile(struct preview *p, struct tile *t, const h5img_frame *f, char *message,
                                size_t message_size)
{
    h5img_info info;
    h5img_status status = h5img_probe(f->encoded, f->encoded_size, &info);
    if (status != H5IMG_OK) {
        snprintf(message, message_size, "header does not parse: %s", h5img_strerror(status));
        return status;
    }
    uint32_t w = p->settings->tile_width, h = tile_height(p, info.width, info.height);
    uint8_t *source = NULL;
    uint32_t source_w = info.width, source_h = info.height;
    if (info.codec == H5IMG_CODEC_JPEG) {
        h5img_jpeg_scaled scaled;
        status = h5img_jpeg_decode_scaled(f->encoded, f->encoded_size, w, h, 0, &scaled, message, message_size);
        source = scaled.pixels, source_w = scaled.width, source_h = scaled.height;
    } else {
        status = decode_full(f, &info, H5IMG_RULE_COLOR, &source, message, message_size);
    }
    if (status != H5IMG_OK) return status;
    if (!(t->rgb = malloc((size_t)w * h * 3))) status = H5IMG_E_NOMEM;
    if (status == H5IMG_OK) status = dump_resize(source, source_w, source_h, 3, t->rgb, w, h);
    free(source);
    if (status != H5IMG_OK) {
        snprintf(message, message_size, "out of memory for a %ux%u tile", w, h);
        return status;
    }
    t->w = w, t->h = h;
    return H5IMG_OK;
}

/* Mask: the mask rule's full decode (what a reader gets), resampled. */
static h5img_status mask_tile(struct preview *p, struct tile *t, const h5img_frame *f, char *message,
                              size_t message_size)
{
    h5img_info info;
    h5img_status status = h5img_probe(f->encoded, f->encoded_size, &info);
    if (status != H5IMG_OK) {
        snprintf(message, message_size, "header does not parse: %s", h5img_strerror(status));
        return status;
    }
    uint8_t *source = NULL;
    if ((status = decode_full(f, &info, H5IMG_RULE_MASK, &source, message, message_size)) != H5IMG_OK) return status;
    uint32_t w = p->settings->tile_width, h = tile_height(p, info.width, info.height);
    if (!(t->mask = malloc((size_t)w * h))) status = H5IMG_E_NOMEM;
    if (status == H5IMG_OK) status = dump_resize(source, info.width, info.height, 1, t->mask, w, h);
    free(source);
    if (status != H5IMG_OK) {
        snprintf(message, message_size, "out of memory for a %ux%u mask tile", w, h);
        return status;
    }
    t->mask_w = w, t->mask_h = h;
    return H5IMG_OK;
}

static h5img_status decode_tile(void *user, h5img_frame *frame, char *message, size_t message_size)
{
    struct job *job = user;
    struct tile *t = job->owner[frame->index];
    return job->is_mask[frame->index] ? mask_tile(job->p, t, frame, message, message_size)
                                      : colour_tile(job->p, t, frame, message, message_size);
}

/* Reading thread, in order: note each failure on its tile. */
static int deliver_tile(void *user, const h5img_frame *frame)
{
    struct job *job = user;
    struct tile *t = job->owner[frame->index];
    if (frame->status != H5IMG_OK) {
        int mask = job->is_mask[frame->index];
        snprintf(mask ? t->mask_message : t->message, sizeof t->message, "%s",
                 frame->message[0] ? frame->message : h5img_strerror(frame->status));
        if (mask)
            t->mask_status = frame->status;
        else
            t->status = frame->status;
    }
    tool_progress_update(frame->index + 1, 0);
    return 0;
}

static int decode_tiles(hid_t file, struct preview *p)
{
    size_t most = 2 * p->ntiles, count = 0;
    struct job job = {p, calloc(most + 1, sizeof(char *)), calloc(most + 1, sizeof(struct tile *)),
                      calloc(most + 1, sizeof(int))};
    int result = -1;
    if (!job.paths || !job.owner || !job.is_mask) goto done;
    for (size_t i = 0; i < p->ntiles; i++) {
        struct tile *t = &p->tiles[i];
        if (!t->color_path) {
            t->status = H5IMG_E_ARGUMENT;
            snprintf(t->message, sizeof t->message, "%s has no frame %u", t->camera, p->settings->frame);
            continue;
        }
        job.paths[count] = t->color_path, job.owner[count] = t, job.is_mask[count++] = 0;
        if (t->mask_path) job.paths[count] = t->mask_path, job.owner[count] = t, job.is_mask[count++] = 1;
    }
    h5img_reader_options ro;
    h5img_reader_options_init(&ro);
    ro.mode = H5IMG_READ_RAW;
    ro.threads = p->options->jobs;
    ro.work = decode_tile;
    ro.user = &job;
    h5img_reader *reader = h5img_reader_new(&ro);
    if (!reader) goto done;
    tool_progress_start("preview", count);
    h5img_status status = h5img_reader_run(reader, file, (const char *const *)job.paths, count, deliver_tile);
    tool_progress_finish();
    if (status != H5IMG_OK)
        tool_error("%s", h5img_reader_message(reader));
    else
        result = 0;
    h5img_reader_free(reader);
done:
    if (result && (!job.paths || !job.owner || !job.is_mask)) tool_error("out of memory while setting up the preview");
    free(job.paths);
    free(job.owner);
    free(job.is_mask);
    return result;
}

/* ------------------------------------------------------------------------- */
/* The sheet                                                                 */
/* ------------------------------------------------------------------------- */

struct sheet {
    uint8_t *rgb;
    uint32_t width, height;
};

/* The rectangle's first row pixel by pixel, the others copied from it. */
static void fill(struct sheet *s, uint32_t x, uint32_t y, uint32_t w, uint32_t h, const uint8_t colour[3])
{
    if (x >= s->width || y >= s->height) return;
    if (w > s->width - x) w = s->width - x;
    if (h > s->height - y) h = s->height - y;
    uint8_t *first = s->rgb + ((size_t)y * s->width + x) * 3;
    for (uint32_t c = 0; c < w; c++) memcpy(first + (size_t)c * 3, colour, 3);
    for (uint32_t r = 1; r < h; r++) memcpy(first + (size_t)r * s->width * 3, first, (size_t)w * 3);
}

/* The camera's name under its tile; names wider than the tile keep their
 * end, which is where the camera number is. */
static void draw_label(struct sheet *s, uint32_t x, uint32_t y, uint32_t width, const char *text)
{
    size_t length = strlen(text), fits = width / DUMP_FONT_WIDTH;
    if (length > fits) text += length - fits, length = fits;
    for (size_t i = 0; i < length; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch < DUMP_FONT_FIRST || ch > DUMP_FONT_LAST) ch = '?';
        const uint8_t *glyph = dump_font[ch - DUMP_FONT_FIRST];
        for (uint32_t r = 0; r < DUMP_FONT_HEIGHT; r++)
            for (uint32_t c = 0; c < DUMP_FONT_WIDTH; c++)
                if (glyph[r] & (0x40u >> c)) fill(s, x + (uint32_t)i * DUMP_FONT_WIDTH + c, y + r, 1, 1, label_ink);
    }
}

/* Blend the mask over the tile's image: out = pixel + (tint - pixel) * 0.4 * m / 255. */
static void draw_tile(struct sheet *s, const struct tile *t)
{
    for (uint32_t r = 0; r < t->h; r++) {
        uint8_t *out = s->rgb + ((size_t)(t->y + r) * s->width + t->x) * 3;
        const uint8_t *in = t->rgb + (size_t)r * t->w * 3;
        for (uint32_t c = 0; c < t->w; c++, out += 3, in += 3) {
            unsigned m = 0;
            if (t->mask) {
                /* A mask of another size than its frame is sampled to fit. */
                uint32_t mr = (uint32_t)((uint64_t)r * t->mask_h / t->h), mc = (uint32_t)((uint64_t)c * t->mask_w / t->w);
                m = t->mask[(size_t)mr * t->mask_w + mc];
            }
            unsigned a = m * 2 / 5;
            for (int k = 0; k < 3; k++) out[k] = (uint8_t)((in[k] * (255u - a) + tint[k] * a + 127) / 255u);
        }
    }
}

static uint32_t columns_for(size_t tiles)
{
    if (tiles <= 4) return (uint32_t)(tiles ? tiles : 1);
    uint32_t columns = (uint32_t)ceil(sqrt(tiles * 1.5));
    return columns > MAX_COLUMNS ? MAX_COLUMNS : columns;
}

/* Tiles in rows of `columns`, each row as tall as its tallest tile plus the label strip. */
static int lay_out(struct preview *p, struct sheet *s)
{
    uint32_t columns = columns_for(p->ntiles), w = p->settings->tile_width, y = GAP;
    uint32_t failed_h = tile_height(p, 4, 3);
    for (size_t first = 0; first < p->ntiles; first += columns) {
        uint32_t tallest = 0;
        for (size_t i = first; i < p->ntiles && i < first + columns; i++) {
            struct tile *t = &p->tiles[i];
            if (!t->rgb) t->w = w, t->h = failed_h; /* the dark tile of a frame that failed */
            t->x = GAP + (uint32_t)(i - first) * (w + GAP);
            t->y = y;
            if (t->h > tallest) tallest = t->h;
        }
        uint64_t next = (uint64_t)y + tallest + LABEL_HEIGHT + GAP;
        if (next > 65535) return tool_error("the preview would be over 65535 pixels tall: use a smaller --tile-width"), -1;
        y = (uint32_t)next;
    }
    s->width = GAP + columns * (w + GAP);
    s->height = p->ntiles ? y : 2 * GAP;
    return 0;
}

static int draw_sheet(struct preview *p, struct sheet *s)
{
    if (lay_out(p, s)) return -1;
    if (!(s->rgb = malloc((size_t)s->width * s->height * 3))) {
        tool_error("cannot allocate a %ux%u preview", s->width, s->height);
        return -1;
    }
    fill(s, 0, 0, s->width, s->height, background);
    for (size_t i = 0; i < p->ntiles; i++) {
        struct tile *t = &p->tiles[i];
        if (t->rgb)
            draw_tile(s, t);
        else
            fill(s, t->x, t->y, t->w, t->h, failed_fill);
        draw_label(s, t->x, t->y + t->h + 2, t->w, t->camera);
    }
    return 0;
}

static int write_sheet(const struct preview *p, const struct sheet *s)
{
    h5img_layout layout = {s->height, s->width, 3, 1, H5IMG_RULE_COLOR, 0};
    void *encoded = NULL;
    size_t encoded_size = 0;
    char message[256] = "";
    h5img_status status = h5img_encode(s->rgb, (size_t)s->width * s->height * 3, &layout, H5IMG_CODEC_PNG,
                                       DUMP_PNG_LEVEL, &encoded, &encoded_size, message, sizeof message);
    if (status == H5IMG_OK) {
        status = dump_write_file(p->settings->out, encoded, encoded_size, message, sizeof message);
        h5img_free(encoded);
    }
    if (status != H5IMG_OK) {
        tool_error("%s", message[0] ? message : h5img_strerror(status));
        return -1;
    }
    tool_verbose("%zu tile(s), %ux%u, written to %s", p->ntiles, s->width, s->height, p->settings->out);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* The tile map                                                              */
/* ------------------------------------------------------------------------- */

static void json_string(const char *s)
{
    if (!s) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t len = tool_utf8_length((const unsigned char *)s + i, n - i);
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || len == 0) /* camera names are link names: any bytes */
            printf("\\u%04x", c);
        else {
            fwrite(s + i, 1, len, stdout);
            i += len - 1;
        }
    }
    putchar('"');
}

static void print_map(const struct preview *p, const struct sheet *s)
{
    fputs("{\"preview\": ", stdout);
    json_string(p->settings->out);
    printf(", \"file\": ");
    json_string(p->options->file);
    printf(", \"frame\": %u, \"width\": %u, \"height\": %u, \"tiles\": [", p->settings->frame, s->width, s->height);
    for (size_t i = 0; i < p->ntiles; i++) {
        const struct tile *t = &p->tiles[i];
        fputs(i ? ",\n  {\"camera\": " : "\n  {\"camera\": ", stdout);
        json_string(t->camera);
        fputs(", \"path\": ", stdout);
        json_string(t->color_path);
        fputs(", \"mask\": ", stdout);
        json_string(t->rgb && t->mask ? t->mask_path : NULL);
        printf(", \"x\": %u, \"y\": %u, \"w\": %u, \"h\": %u", t->x, t->y, t->w, t->h);
        if (!t->rgb) {
            fputs(", \"error\": ", stdout);
            json_string(t->message);
        }
        putchar('}');
    }
    puts(p->ntiles ? "\n]}" : "]}");
}

/* ------------------------------------------------------------------------- */

static void free_preview(struct preview *p)
{
    for (size_t i = 0; i < p->ndatasets; i++) free(p->datasets[i]);
    free(p->datasets);
    for (size_t i = 0; i < p->ntiles; i++) {
        struct tile *t = &p->tiles[i];
        free(t->camera), free(t->color_path), free(t->mask_path), free(t->rgb), free(t->mask);
    }
    free(p->tiles);
}

/* Failures are reported per camera, in camera order; a failed mask leaves
 * its tile untinted. */
static size_t report_failures(const struct preview *p)
{
    size_t failed = 0;
    for (size_t i = 0; i < p->ntiles; i++) {
        const struct tile *t = &p->tiles[i];
        if (!t->rgb) {
            tool_error("%s: %s", t->color_path ? t->color_path : t->camera, t->message);
            failed++;
        } else if (t->mask_path && t->mask_status != H5IMG_OK) {
            tool_error("%s: %s", t->mask_path, t->mask_message);
            failed++;
        }
    }
    return failed;
}

int dump_preview(hid_t file, const dump_options *options, const dump_preview_options *settings)
{
    struct preview p;
    memset(&p, 0, sizeof p);
    p.options = options;
    p.settings = settings;
    struct sheet s = {NULL, 0, 0};
    int result = TOOL_EXIT_FAILURE;
    if (dump_walk(file, collect_dataset, &p) < 0 || p.out_of_memory) {
        tool_error(p.out_of_memory ? "out of memory while listing datasets" : "cannot walk the objects of %s",
                   options->file);
        goto done;
    }
    qsort(p.datasets, p.ndatasets, sizeof *p.datasets, compare_strings);
    if (find_cameras(&p)) {
        tool_error("out of memory while listing cameras");
        goto done;
    }
    if (p.ntiles == 0) {
        tool_error("%s holds no camera frames (no dataset at .../color/N)", options->file);
        goto done;
    }
    tool_verbose("%zu camera(s), frame %u", p.ntiles, settings->frame);
    if (decode_tiles(file, &p) || draw_sheet(&p, &s) || write_sheet(&p, &s)) goto done;
    size_t failed = report_failures(&p);
    if (options->json) print_map(&p, &s);
    if (failed) tool_warning("%zu of %zu camera(s) failed", failed, p.ntiles);
    result = failed ? TOOL_EXIT_PARTIAL : TOOL_EXIT_OK;
done:
    free(s.rgb);
    free_preview(&p);
    return result;
}
