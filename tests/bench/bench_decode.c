/* bench_decode.c: times h5img_decoder_decode and bare libspng on encoded frames held in memory (driven by bench.py; also the profiling target). */
#include "h5img.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <spng.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum decoder_kind { DEC_H5IMG, DEC_SPNG_G8 };

typedef struct frame {
    const char *path;
    unsigned char *data;
    size_t size;
    h5img_layout layout; /* h5img only */
    size_t out_bytes;
} frame;

static const char USAGE[] =
    "Usage: bench_decode [--decoder h5img|spng-g8] [--rule mask|color|native|luma] [--bgr]\n"
    "                    [--threads N] [--reps N] [--warmup N] [--dump] FILE...\n"
    "Decodes every FILE (PNG or JPEG bytes) once per pass, all inputs already in memory.\n"
    "Timing mode prints one line 'ms_per_frame X' per timed pass: wall time over frames\n"
    "decoded. With --threads N, N threads each decode every FILE (own decoder and buffer),\n"
    "so X is the wall time per frame of N-way parallel decoding.\n"
    "--dump decodes once and writes the pixels of each FILE, in order, to standard output.\n";

static int read_file(const char *path, unsigned char **data, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return fprintf(stderr, "bench_decode: %s: %s\n", path, strerror(errno)), -1;
    /* Seeking to the end gives the size without a second pass over the file. */
    if (fseek(fp, 0, SEEK_END) != 0) return fclose(fp), -1;
    long n = ftell(fp);
    rewind(fp);
    if (n <= 0) return fprintf(stderr, "bench_decode: %s: empty\n", path), fclose(fp), -1;
    *data = malloc((size_t)n);
    if (!*data || fread(*data, 1, (size_t)n, fp) != (size_t)n) {
        fprintf(stderr, "bench_decode: %s: short read\n", path);
        fclose(fp);
        return -1;
    }
    fclose(fp);
    *size = (size_t)n;
    return 0;
}

static int parse_rule(const char *text, h5img_rule *rule)
{
    static const struct { const char *name; h5img_rule rule; } rules[] = {
        {"mask", H5IMG_RULE_MASK}, {"color", H5IMG_RULE_COLOR},
        {"native", H5IMG_RULE_NATIVE}, {"luma", H5IMG_RULE_LUMA}};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(text, rules[i].name) == 0) return *rule = rules[i].rule, 0;
    return -1;
}

/* The layout a dataset written by h5imgrepack would carry, so the C figure
 * measures the same work as the h5py figure on the repacked file. */
static int plan_h5img(frame *f, h5img_rule rule, uint32_t flags)
{
    h5img_info info;
    h5img_status st = h5img_probe(f->data, f->size, &info);
    if (st != H5IMG_OK) return fprintf(stderr, "bench_decode: %s: %s\n", f->path, h5img_strerror(st)), -1;
    f->layout.height = info.height;
    f->layout.width = info.width;
    f->layout.rule = rule;
    f->layout.flags = flags;
    f->layout.channels = rule == H5IMG_RULE_NATIVE ? info.channels : rule == H5IMG_RULE_COLOR ? 3 : 1;
    f->layout.element_size = rule == H5IMG_RULE_NATIVE ? info.element_size : 1;
    st = h5img_layout_check(&f->layout);
    if (st != H5IMG_OK) return fprintf(stderr, "bench_decode: %s: %s\n", f->path, h5img_strerror(st)), -1;
    f->out_bytes = h5img_layout_bytes(&f->layout);
    return 0;
}

static int plan_spng(frame *f)
{
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) return -1;
    spng_set_png_buffer(ctx, f->data, f->size);
    int err = spng_decoded_image_size(ctx, SPNG_FMT_G8, &f->out_bytes);
    spng_ctx_free(ctx);
    if (err) return fprintf(stderr, "bench_decode: %s: spng: %s\n", f->path, spng_strerror(err)), -1;
    return 0;
}

/* A fresh context per image is part of what a real caller pays: libspng
 * contexts decode exactly one image. */
static int decode_spng(const frame *f, void *out)
{
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) return -1;
    spng_set_png_buffer(ctx, f->data, f->size);
    int err = spng_decode_image(ctx, out, f->out_bytes, SPNG_FMT_G8, 0);
    spng_ctx_free(ctx);
    if (err) return fprintf(stderr, "bench_decode: %s: spng: %s\n", f->path, spng_strerror(err)), -1;
    return 0;
}

static int decode_one(enum decoder_kind kind, h5img_decoder *dec, const frame *f, void *out)
{
    if (kind == DEC_SPNG_G8) return decode_spng(f, out);
    h5img_status st = h5img_decoder_decode(dec, f->data, f->size, &f->layout, out, f->out_bytes);
    if (st != H5IMG_OK)
        return fprintf(stderr, "bench_decode: %s: %s (%s)\n", f->path, h5img_strerror(st), h5img_decoder_message(dec)), -1;
    return 0;
}

typedef struct worker {
    enum decoder_kind kind;
    const frame *frames;
    size_t count;
    h5img_decoder *dec;
    unsigned char *out;
    int failed;
} worker;

static void *decode_all(void *arg)
{
    worker *w = arg;
    for (size_t i = 0; i < w->count && !w->failed; i++)
        if (decode_one(w->kind, w->dec, &w->frames[i], w->out) != 0) w->failed = 1;
    return NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    enum decoder_kind kind = DEC_H5IMG;
    h5img_rule rule = H5IMG_RULE_MASK;
    uint32_t flags = 0;
    long reps = 5, warmup = 1, threads = 1;
    int dump = 0;
    static const struct option options[] = {
        {"decoder", required_argument, NULL, 'd'}, {"rule", required_argument, NULL, 'r'},
        {"bgr", no_argument, NULL, 'b'},           {"reps", required_argument, NULL, 'n'},
        {"warmup", required_argument, NULL, 'w'},  {"dump", no_argument, NULL, 'D'},
        {"threads", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "d:r:bn:w:t:Dh", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (strcmp(optarg, "h5img") == 0) kind = DEC_H5IMG;
            else if (strcmp(optarg, "spng-g8") == 0) kind = DEC_SPNG_G8;
            else return fputs(USAGE, stderr), 2;
            break;
        case 'r':
            if (parse_rule(optarg, &rule) != 0) return fputs(USAGE, stderr), 2;
            break;
        case 'b': flags |= H5IMG_FLAG_BGR; break;
        case 'n': reps = strtol(optarg, NULL, 10); break;
        case 'w': warmup = strtol(optarg, NULL, 10); break;
        case 't': threads = strtol(optarg, NULL, 10); break;
        case 'D': dump = 1; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: return fputs(USAGE, stderr), 2;
        }
    }
    size_t count = (size_t)(argc - optind);
    if (count == 0 || reps < 1 || warmup < 0 || threads < 1 || threads > 64) return fputs(USAGE, stderr), 2;

    frame *frames = calloc(count, sizeof *frames);
    if (!frames) return 1;
    size_t max_out = 0;
    for (size_t i = 0; i < count; i++) {
        frame *f = &frames[i];
        f->path = argv[optind + (int)i];
        if (read_file(f->path, &f->data, &f->size) != 0) return 1;
        if ((kind == DEC_SPNG_G8 ? plan_spng(f) : plan_h5img(f, rule, flags)) != 0) return 1;
        if (f->out_bytes > max_out) max_out = f->out_bytes;
    }
    /* One output buffer per thread for every frame: the figure is the
     * decoder's own cost, not page faults on fresh allocations (h5py pays
     * those). */
    worker *workers = calloc((size_t)threads, sizeof *workers);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (!workers || !tids) return fputs("bench_decode: out of memory\n", stderr), 1;
    for (long t = 0; t < threads; t++) {
        worker *w = &workers[t];
        w->kind = kind;
        w->frames = frames;
        w->count = count;
        w->out = malloc(max_out);
        w->dec = kind == DEC_H5IMG ? h5img_decoder_new() : NULL;
        if (!w->out || (kind == DEC_H5IMG && !w->dec)) return fputs("bench_decode: out of memory\n", stderr), 1;
        memset(w->out, 0, max_out);
    }

    if (dump) {
        for (size_t i = 0; i < count; i++) {
            if (decode_one(kind, workers[0].dec, &frames[i], workers[0].out) != 0) return 1;
            if (fwrite(workers[0].out, 1, frames[i].out_bytes, stdout) != frames[i].out_bytes) return 1;
        }
        return fflush(stdout) == 0 ? 0 : 1;
    }

    for (long pass = -warmup; pass < reps; pass++) {
        double t0 = now_seconds();
        if (threads == 1) {
            decode_all(&workers[0]);
        } else {
            for (long t = 0; t < threads; t++)
                if (pthread_create(&tids[t], NULL, decode_all, &workers[t]) != 0)
                    return fputs("bench_decode: cannot start a thread\n", stderr), 1;
            for (long t = 0; t < threads; t++) pthread_join(tids[t], NULL);
        }
        double elapsed = now_seconds() - t0;
        for (long t = 0; t < threads; t++)
            if (workers[t].failed) return 1;
        if (pass >= 0) printf("ms_per_frame %.4f\n", elapsed * 1e3 / (double)(count * (size_t)threads));
    }

    for (long t = 0; t < threads; t++) {
        h5img_decoder_free(workers[t].dec);
        free(workers[t].out);
    }
    free(workers);
    free(tids);
    for (size_t i = 0; i < count; i++) free(frames[i].data);
    free(frames);
    return 0;
}
