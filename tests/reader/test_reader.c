/* test_reader.c: the parallel reader API on both layouts: order, pixels against OpenCV, failures, memory bound, one thread per frame. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <check.h>
#include <hdf5.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5img.h"
#include "codec/codec.h"
#include "core/second_thread.h"
#include "check_env.h"
#include "oracle.h"

/* ------------------------------------------------------------------------- */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------- */

static void file_path(char *path, size_t size, const char *name)
{
    snprintf(path, size, "%s/%s.h5", env_or_fail("H5IMG_TEST_DIR"), name);
}

/* SMC layout: the encoded bytes as a 1-D uint8 dataset, groups made on the way. */
static void write_legacy(hid_t file, const char *path, const void *bytes, size_t size)
{
    hsize_t dims[1] = {size};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dset = H5Dcreate2(file, path, H5T_STD_U8LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(dset >= 0, "cannot create %s", path);
    ck_assert_int_ge(H5Dwrite(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes), 0);
    H5Dclose(dset);
    H5Pclose(lcpl);
    H5Sclose(space);
}

/* Repacked layout: one chunk holding the untouched encoded bytes behind the h5img filter. */
static void write_repacked(hid_t file, const char *path, const void *bytes, size_t size, uint32_t height,
                           uint32_t width, uint32_t channels, h5img_rule rule)
{
    hsize_t dims[3] = {height, width, channels};
    int rank = channels == 1 ? 2 : 3;
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert_int_ge(H5Pset_chunk(dcpl, rank, dims), 0);
    unsigned cd[2] = {0, (unsigned)rule};
    ck_assert_int_ge(H5Pset_filter(dcpl, H5IMG_FILTER_ID, H5Z_FLAG_MANDATORY, 2, cd), 0);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dset = H5Dcreate2(file, path, H5T_STD_U8LE, space, lcpl, dcpl, H5P_DEFAULT);
    ck_assert_msg(dset >= 0, "cannot create %s", path);
    hsize_t offset[3] = {0, 0, 0};
    ck_assert_int_ge(H5Dwrite_chunk(dset, H5P_DEFAULT, 0, offset, size, bytes), 0);
    H5Dclose(dset);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(space);
}

/* ------------------------------------------------------------------------- */
/* The frame list: both layouts, PNG and JPEG, and two frames that must fail */
/* ------------------------------------------------------------------------- */

typedef struct frame_case {
    const char *path;
    const char *source;  /* conformance file, NULL: not written */
    int repacked;
    h5img_rule rule;     /* repacked frames: the stored rule */
    const char *oracle_rule;
    int truncate;        /* store only the first half of the bytes */
    h5img_status expect; /* H5IMG_OK, or the failure the frame must carry */
} frame_case;

/* The legacy rules are the default legacy layout's: "mask" in the path
 * means MASK, anything else NATIVE. */
static const frame_case FRAMES[] = {
    {"cam00/color/000000", "jpeg/testorig.jpg", 0, 0, "native", 0, H5IMG_OK},
    {"cam00/mask/000000", "pngsuite/basn0g08.png", 0, 0, "mask", 0, H5IMG_OK},
    {"packed/color/000000", "jpeg/testorig.jpg", 1, H5IMG_RULE_COLOR, "color", 0, H5IMG_OK},
    {"packed/mask/000000", "pngsuite/basn2c08.png", 1, H5IMG_RULE_MASK, "mask", 0, H5IMG_OK},
    {"cam00/color/000001", "pngsuite/basn2c08.png", 0, 0, "native", 0, H5IMG_OK},
    {"cam00/color/missing", NULL, 0, 0, NULL, 0, H5IMG_E_HDF5},
    {"cam00/color/broken", "jpeg/testorig.jpg", 0, 0, NULL, 1, H5IMG_E_TRUNCATED},
    {"cam00/mask/000001", "pngsuite/basn2c08.png", 0, 0, "mask", 0, H5IMG_OK}, /* colour: max differs from luma */
};
#define FRAME_COUNT (sizeof FRAMES / sizeof FRAMES[0])

static int register_once(void)
{
    static int done;
    if (!done) {
        ck_assert_int_eq(h5img_register(), 0);
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
    return 1;
}

static hid_t open_frames_file(void)
{
    register_once();
    char path[1024];
    file_path(path, sizeof path, "frames");
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(file >= 0, "cannot create %s", path);
    oracle o;
    ck_assert_msg(oracle_load(&o, env_or_fail("H5IMG_ORACLE_DIR")) == 0, "no oracle manifest");
    for (size_t i = 0; i < FRAME_COUNT; i++) {
        const frame_case *c = &FRAMES[i];
        if (!c->source) continue;
        size_t size = 0;
        void *bytes = conformance_file(c->source, &size);
        if (c->truncate) size /= 2;
        if (c->repacked) {
            const oracle_entry *e = oracle_find(&o, strrchr(c->source, '/') + 1, c->oracle_rule);
            ck_assert_msg(e && e->ok, "oracle has no %s decode of %s", c->oracle_rule, c->source);
            write_repacked(file, c->path, bytes, size, e->height, e->width, e->channels, c->rule);
        } else {
            write_legacy(file, c->path, bytes, size);
        }
        free(bytes);
    }
    oracle_free(&o);
    ck_assert_int_ge(H5Fclose(file), 0);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(file >= 0, "cannot reopen %s", path);
    return file;
}

static const char *const *frame_paths(void)
{
    static const char *paths[FRAME_COUNT];
    for (size_t i = 0; i < FRAME_COUNT; i++) paths[i] = FRAMES[i].path;
    return paths;
}

/* ------------------------------------------------------------------------- */
/* Delivery checks                                                           */
/* ------------------------------------------------------------------------- */

typedef struct delivery {
    oracle oracle;
    const char *const *paths;
    size_t delivered;
    size_t stop_after; /* 0: never stop */
    h5img_read_mode mode;
    int held, most_held; /* frames past the work hook and not yet delivered */
    pthread_mutex_t lock;
} delivery;

static void delivery_init(delivery *d, h5img_read_mode mode)
{
    memset(d, 0, sizeof *d);
    ck_assert_msg(oracle_load(&d->oracle, env_or_fail("H5IMG_ORACLE_DIR")) == 0, "no oracle manifest");
    d->paths = frame_paths();
    d->mode = mode;
    pthread_mutex_init(&d->lock, NULL);
}

static void delivery_free(delivery *d)
{
    oracle_free(&d->oracle);
    pthread_mutex_destroy(&d->lock);
}

static void check_decoded(delivery *d, const frame_case *c, const h5img_frame *frame)
{
    const oracle_entry *e = oracle_find(&d->oracle, strrchr(c->source, '/') + 1, c->oracle_rule);
    ck_assert_msg(e && e->ok, "oracle has no %s decode of %s", c->oracle_rule, c->source);
    ck_assert_uint_eq(frame->layout.height, e->height);
    ck_assert_uint_eq(frame->layout.width, e->width);
    ck_assert_uint_eq(frame->layout.channels, e->channels);
    size_t expected_size = 0;
    void *expected = oracle_pixels(&d->oracle, e, &expected_size);
    ck_assert_ptr_nonnull(expected);
    ck_assert_ptr_nonnull(frame->pixels);
    ck_assert_uint_eq(frame->pixels_size, expected_size);
    long at = first_difference(expected, frame->pixels, expected_size);
    ck_assert_msg(at < 0, "%s: pixels differ from OpenCV's %s decode at byte %ld", c->path, c->oracle_rule, at);
    free(expected);
}

static void check_raw(const frame_case *c, const h5img_frame *frame)
{
    size_t size = 0;
    void *bytes = conformance_file(c->source, &size);
    if (c->truncate) size /= 2;
    ck_assert_ptr_null(frame->pixels);
    ck_assert_uint_eq(frame->encoded_size, size);
    ck_assert_msg(memcmp(frame->encoded, bytes, size) == 0, "%s: stored bytes differ from the file's", c->path);
    free(bytes);
}

static int deliver_checked(void *user, const h5img_frame *frame)
{
    delivery *d = user;
    if (frame->status == H5IMG_OK) { /* only those went through the work hook */
        pthread_mutex_lock(&d->lock);
        d->held--;
        pthread_mutex_unlock(&d->lock);
    }
    /* In order, each exactly once, with the caller's own path string. */
    ck_assert_uint_eq(frame->index, d->delivered);
    ck_assert_ptr_eq(frame->path, d->paths[frame->index]);
    const frame_case *c = &FRAMES[frame->index];
    ck_assert_uint_eq(frame->storage, c->source ? (c->repacked ? H5IMG_STORAGE_REPACKED : H5IMG_STORAGE_LEGACY)
                                                 : H5IMG_STORAGE_NONE);
    if (c->expect == H5IMG_OK) {
        ck_assert_msg(frame->status == H5IMG_OK, "%s failed: %s", c->path, frame->message);
        ck_assert_str_eq(frame->message, "");
        if (d->mode == H5IMG_READ_DECODE)
            check_decoded(d, c, frame);
        else
            check_raw(c, frame);
    } else if (d->mode == H5IMG_READ_DECODE || !c->source) {
        ck_assert_msg(frame->status == c->expect, "%s: status %s, expected %s (%s)", c->path,
                      h5img_strerror(frame->status), h5img_strerror(c->expect), frame->message);
        ck_assert_ptr_null(frame->pixels);
        /* The sentence names the frame's problem, not just a status. */
        ck_assert_msg(strlen(frame->message) > strlen(h5img_strerror(frame->status)), "%s: thin message \"%s\"",
                      c->path, frame->message);
    } else {
        /* Raw mode does not decode, so damaged bytes still arrive as stored. */
        ck_assert_msg(frame->status == H5IMG_OK, "%s failed in raw mode: %s", c->path, frame->message);
        check_raw(c, frame);
    }
    d->delivered++;
    return d->stop_after && d->delivered == d->stop_after;
}

/* Counts the frames between the work hook and delivery: a lower bound on
 * what the reader holds, which must stay within max_in_flight. */
static h5img_status work_counted(void *user, h5img_frame *frame, char *message, size_t message_size)
{
    (void)frame;
    (void)message;
    (void)message_size;
    delivery *d = user;
    pthread_mutex_lock(&d->lock);
    if (++d->held > d->most_held) d->most_held = d->held;
    pthread_mutex_unlock(&d->lock);
    usleep(2000); /* slower than the reading thread, so frames queue up */
    return H5IMG_OK;
}

static void run_reader(hid_t file, delivery *d, unsigned threads, unsigned max_in_flight, const char *const *paths,
                       size_t count)
{
    h5img_reader_options options;
    h5img_reader_options_init(&options);
    options.mode = d->mode;
    options.threads = threads;
    options.max_in_flight = max_in_flight;
    options.work = work_counted;
    options.user = d;
    h5img_reader *reader = h5img_reader_new(&options);
    ck_assert_ptr_nonnull(reader);
    h5img_status status = h5img_reader_run(reader, file, paths, count, deliver_checked);
    ck_assert_msg(status == H5IMG_OK, "h5img_reader_run: %s", h5img_reader_message(reader));
    ck_assert_str_eq(h5img_reader_message(reader), "");
    h5img_reader_free(reader);
}

/* ------------------------------------------------------------------------- */
/* Tests                                                                     */
/* ------------------------------------------------------------------------- */

static const unsigned THREADS[] = {1, 2, 3};
static const unsigned IN_FLIGHT[] = {0, 1, 4};

/* Guards: every frame arrives once, in the caller's order, decoded exactly
 * as OpenCV decodes it (legacy and repacked, PNG and JPEG), whatever the
 * number of workers; a missing dataset and a damaged frame arrive with
 * their own status and sentence while the others carry on. */
START_TEST(decodes_in_order_like_opencv)
{
    hid_t file = open_frames_file();
    for (size_t t = 0; t < sizeof THREADS / sizeof THREADS[0]; t++) {
        for (size_t f = 0; f < sizeof IN_FLIGHT / sizeof IN_FLIGHT[0]; f++) {
            delivery d;
            delivery_init(&d, H5IMG_READ_DECODE);
            run_reader(file, &d, THREADS[t], IN_FLIGHT[f], d.paths, FRAME_COUNT);
            ck_assert_uint_eq(d.delivered, FRAME_COUNT);
            delivery_free(&d);
        }
    }
    H5Fclose(file);
}
END_TEST

/* Guards: raw mode hands back the stored bytes of both layouts untouched
 * (the repacked chunk read directly, not through the filter). */
START_TEST(raw_mode_gives_stored_bytes)
{
    hid_t file = open_frames_file();
    delivery d;
    delivery_init(&d, H5IMG_READ_RAW);
    run_reader(file, &d, 2, 0, d.paths, FRAME_COUNT);
    ck_assert_uint_eq(d.delivered, FRAME_COUNT);
    delivery_free(&d);
    H5Fclose(file);
}
END_TEST

/* Guards the memory bound: with deliveries slower than decoding, no more
 * than max_in_flight frames are ever decoded and waiting. */
START_TEST(in_flight_frames_stay_bounded)
{
    hid_t file = open_frames_file();
    for (unsigned bound = 1; bound <= 3; bound++) {
        delivery d;
        delivery_init(&d, H5IMG_READ_DECODE);
        run_reader(file, &d, 3, bound, d.paths, FRAME_COUNT);
        ck_assert_uint_eq(d.delivered, FRAME_COUNT);
        ck_assert_msg(d.most_held <= (int)bound, "%d frames decoded and waiting with max_in_flight %u", d.most_held,
                      bound);
        ck_assert_int_eq(d.held, 0);
        delivery_free(&d);
    }
    H5Fclose(file);
}
END_TEST

/* Guards: a non-zero return from deliver stops the run cleanly: nothing
 * more is delivered and the run still succeeds. */
START_TEST(deliver_can_stop_the_run)
{
    hid_t file = open_frames_file();
    delivery d;
    delivery_init(&d, H5IMG_READ_DECODE);
    d.stop_after = 3;
    run_reader(file, &d, 2, 0, d.paths, FRAME_COUNT);
    ck_assert_uint_eq(d.delivered, 3);
    delivery_free(&d);
    H5Fclose(file);
}
END_TEST

/* Guards: options the reader cannot honour are refused up front. */
START_TEST(bad_options_are_refused)
{
    h5img_reader_options options;
    h5img_reader_options_init(&options);
    options.mode = (h5img_read_mode)7;
    ck_assert_ptr_null(h5img_reader_new(&options));
    h5img_reader_options_init(&options);
    options.legacy_flags = 0x80000000u;
    ck_assert_ptr_null(h5img_reader_new(&options));
    ck_assert_ptr_null(h5img_reader_new(NULL));
}
END_TEST

static unsigned usable_cpus(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1u;
}

/* A JPEG large enough for the decoder to split on its own (1024x768). */
static void *large_jpeg(size_t *size, h5img_layout *layout)
{
    *layout = (h5img_layout){.height = 768, .width = 1024, .channels = 3, .element_size = 1, .rule = H5IMG_RULE_NATIVE};
    size_t bytes = h5img_layout_bytes(layout);
    uint8_t *pixels = malloc(bytes);
    ck_assert_ptr_nonnull(pixels);
    for (size_t i = 0; i < bytes; i++) pixels[i] = (uint8_t)(i * 7 + (i / 3072) * 5 + (i % 13) * 11);
    void *encoded = NULL;
    char message[256];
    ck_assert_int_eq(h5img_encode(pixels, bytes, layout, H5IMG_CODEC_JPEG, 90, &encoded, size, message, sizeof message),
                     H5IMG_OK);
    free(pixels);
    return encoded;
}

static int deliver_large(void *user, const h5img_frame *frame)
{
    const uint8_t *expected = user;
    ck_assert_msg(frame->status == H5IMG_OK, "%s failed: %s", frame->path, frame->message);
    ck_assert_msg(memcmp(frame->pixels, expected, frame->pixels_size) == 0, "%s: pixels differ", frame->path);
    return 0;
}

/* Guards the promise of h5imgdump -j N: the reader's workers decode each
 * frame on their own thread, never starting the second JPEG band, so N
 * workers use N cores. The control decode shows that the same bytes do
 * start a second thread in an ordinary decoder, so the check can fail. */
START_TEST(workers_never_start_a_second_thread)
{
    register_once();
    size_t size = 0;
    h5img_layout layout;
    void *jpeg = large_jpeg(&size, &layout);
    size_t bytes = h5img_layout_bytes(&layout);
    uint8_t *expected = malloc(bytes);
    ck_assert_ptr_nonnull(expected);

    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    unsigned long before = h5img_second_threads_started();
    h5img_jpeg_split_rest_clear();
    ck_assert_int_eq(h5img_decoder_decode(decoder, jpeg, size, &layout, expected, bytes), H5IMG_OK);
    if (usable_cpus() >= 2)
        ck_assert_uint_eq(h5img_second_threads_started(), before + 1);
    else
        ck_assert_uint_eq(h5img_second_threads_started(), before);
    h5img_decoder_free(decoder);

    char path[1024];
    file_path(path, sizeof path, "large");
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(file, 0);
    write_legacy(file, "cam00/color/000000", jpeg, size);
    write_repacked(file, "packed/color/000000", jpeg, size, layout.height, layout.width, 3, H5IMG_RULE_NATIVE);
    ck_assert_int_ge(H5Fclose(file), 0);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(file, 0);
    const char *paths[] = {"cam00/color/000000", "packed/color/000000", "cam00/color/000000", "packed/color/000000"};
    for (unsigned threads = 1; threads <= 2; threads++) {
        h5img_reader_options options;
        h5img_reader_options_init(&options);
        options.threads = threads;
        options.user = expected;
        h5img_reader *reader = h5img_reader_new(&options);
        ck_assert_ptr_nonnull(reader);
        h5img_jpeg_split_rest_clear();
        before = h5img_second_threads_started();
        ck_assert_int_eq(h5img_reader_run(reader, file, paths, 4, deliver_large), H5IMG_OK);
        ck_assert_msg(h5img_second_threads_started() == before, "%u workers started %lu second threads", threads,
                      h5img_second_threads_started() - before);
        h5img_reader_free(reader);
    }
    H5Fclose(file);
    free(expected);
    h5img_free(jpeg);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("reader");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, decodes_in_order_like_opencv);
    tcase_add_test(tc, raw_mode_gives_stored_bytes);
    tcase_add_test(tc, in_flight_frames_stay_bounded);
    tcase_add_test(tc, deliver_can_stop_the_run);
    tcase_add_test(tc, bad_options_are_refused);
    tcase_add_test(tc, workers_never_start_a_second_thread);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
