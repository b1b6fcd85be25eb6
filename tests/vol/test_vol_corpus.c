/* test_vol_corpus.c: conformance and hostile images wrapped as legacy 1-D frames, read through the h5img VOL connector. */
#include "oracle.h"
#include "vol_test_util.h"

#include <check.h>
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <zlib.h>

typedef struct corpus_file {
    char name[128];
    unsigned char *bytes;
    size_t size;
} corpus_file;

typedef struct corpus {
    corpus_file *files;
    size_t count;
} corpus;

static void add_file(corpus *c, const char *dir, const char *name)
{
    c->files = realloc(c->files, (c->count + 1) * sizeof *c->files);
    corpus_file *f = &c->files[c->count++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->bytes = vol_slurp(vol_path(dir, name), &f->size);
}

/* The files of conformance folder `folder` whose name ends in `suffix` and
 * that start (or, with `invert`, do not start) with `prefix`. */
static void add_folder(corpus *c, const char *folder, const char *suffix, const char *prefix, int invert)
{
    char dir[1500];
    snprintf(dir, sizeof dir, "%s/%s", vol_env("H5IMG_CONFORMANCE_DIR"), folder);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot list %s", dir);
    struct dirent *entry;
    while ((entry = readdir(d))) {
        size_t n = strlen(entry->d_name), m = strlen(suffix);
        if (n < m || strcmp(entry->d_name + n - m, suffix) != 0) continue;
        int has_prefix = strncmp(entry->d_name, prefix, strlen(prefix)) == 0;
        if (has_prefix != !invert) continue;
        add_file(c, dir, entry->d_name);
    }
    closedir(d);
}

static void free_corpus(corpus *c)
{
    for (size_t i = 0; i < c->count; i++) free(c->files[i].bytes);
    free(c->files);
}

/* One HDF5 file (native connector) holding each corpus file as /group/<name>. */
static const char *wrap_corpus(const corpus *c, const char *file_name)
{
    static char path[2048];
    snprintf(path, sizeof path, "%s", vol_path(vol_env("H5IMG_TEST_DIR"), file_name));
    hid_t fapl = vol_native_fapl();
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    ck_assert(file >= 0);
    for (size_t i = 0; i < c->count; i++) {
        hsize_t dim = c->files[i].size;
        hid_t space = H5Screate_simple(1, &dim, NULL);
        hid_t dataset = H5Dcreate2(file, c->files[i].name, H5T_STD_U8LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert(dataset >= 0);
        ck_assert(H5Dwrite(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->files[i].bytes) >= 0);
        H5Dclose(dataset);
        H5Sclose(space);
    }
    H5Fclose(file);
    H5Pclose(fapl);
    return path;
}

typedef enum outcome { STAYED_BYTES, READ_FAILED, DECODED } outcome;

/* What the connector made of one wrapped file: its bytes unchanged, a read
 * error (h5img's message on the stack, no partial pixels), or pixels
 * (returned in *pixels, with the view's dims). */
static outcome read_through(hid_t file, const corpus_file *f, void **pixels, size_t *size, hsize_t *dims, int *rank)
{
    hid_t dataset = H5Dopen2(file, f->name, H5P_DEFAULT);
    ck_assert_msg(dataset >= 0, "%s: cannot open: %s", f->name, vol_error_text());
    hid_t space = H5Dget_space(dataset), type = H5Dget_type(dataset);
    *rank = H5Sget_simple_extent_dims(space, dims, NULL);
    hssize_t points = H5Sget_simple_extent_npoints(space);
    size_t element = H5Tget_size(type);
    *size = (size_t)points * element;
    unsigned char *out = malloc(*size ? *size : 1);
    memset(out, 0xab, *size);
    hid_t memory = element == 2 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT8;
    herr_t status = H5Dread(dataset, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    outcome result;
    if (status < 0) {
        const char *text = vol_error_text();
        ck_assert_msg(strstr(text, "h5img: /") != NULL, "%s: the read failed without h5img's reason: %s", f->name, text);
        size_t nonzero = 0;
        while (nonzero < *size && out[nonzero] == 0) nonzero++;
        ck_assert_msg(nonzero == *size, "%s: partial pixels after a failed read (byte %zu)", f->name, nonzero);
        result = READ_FAILED;
    } else if (*rank == 1) {
        ck_assert_msg(*size == f->size && memcmp(out, f->bytes, f->size) == 0, "%s: bytes changed", f->name);
        result = STAYED_BYTES;
    } else {
        result = DECODED;
    }
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(dataset);
    *pixels = out;
    return result;
}

/* Guards: every PngSuite image and the 8-bit libjpeg-turbo files, stored as
 * legacy frames, read through the connector as OpenCV's IMREAD_UNCHANGED. */
START_TEST(conformance_matches_opencv)
{
    corpus c = {0};
    add_folder(&c, "pngsuite", ".png", "x", 1);
    add_folder(&c, "jpeg", ".jpg", "testi", 0);
    add_folder(&c, "jpeg", ".jpg", "testo", 0);
    ck_assert_msg(c.count > 150, "only %zu conformance files", c.count);
    oracle o;
    ck_assert_msg(oracle_load(&o, vol_env("H5IMG_CORPUS_ORACLE_DIR")) == 0, "no corpus oracle (the vol.corpus_oracle fixture)");
    const char *path = wrap_corpus(&c, "conformance.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(file >= 0);
    size_t decoded = 0;
    for (size_t i = 0; i < c.count; i++) {
        const oracle_entry *e = oracle_find(&o, c.files[i].name, "native");
        ck_assert_msg(e != NULL, "%s: not in the oracle", c.files[i].name);
        void *pixels;
        size_t size;
        hsize_t dims[8];
        int rank;
        outcome result = read_through(file, &c.files[i], &pixels, &size, dims, &rank);
        if (!e->ok) {
            ck_assert_msg(result != DECODED, "%s: OpenCV refuses it, the connector decoded it", c.files[i].name);
        } else {
            ck_assert_msg(result == DECODED, "%s: OpenCV decodes it, the connector gave %s", c.files[i].name,
                          result == READ_FAILED ? "a read error" : "its bytes");
            ck_assert_msg(dims[0] == e->height && dims[1] == e->width && (e->channels == 1 ? rank == 2 : dims[2] == e->channels),
                          "%s: shape differs from OpenCV's", c.files[i].name);
            size_t want_size;
            void *want = oracle_pixels(&o, e, &want_size);
            ck_assert(want && want_size == size);
            ck_assert_msg(first_difference(pixels, want, size) < 0, "%s: pixels differ from OpenCV's", c.files[i].name);
            free(want);
            decoded++;
        }
        free(pixels);
    }
    ck_assert_msg(decoded > 150, "only %zu decoded", decoded);
    H5Fclose(file);
    oracle_free(&o);
    free_corpus(&c);
}
END_TEST

/* A PNG whose IHDR claims `width` x `height`: its header parses, the
 * limits refuse it before anything is allocated. */
static void add_claimed_size(corpus *c, const char *name, uint32_t width, uint32_t height)
{
    static const unsigned char head[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    unsigned char png[33 + 12 + 12];
    memset(png, 0, sizeof png);
    memcpy(png, head, sizeof head);
    unsigned char *ihdr = png + 16;
    for (int i = 0; i < 4; i++) ihdr[i] = (unsigned char)(width >> (24 - 8 * i)), ihdr[4 + i] = (unsigned char)(height >> (24 - 8 * i));
    ihdr[8] = 8, ihdr[9] = 2;
    uLong crc = crc32(0, png + 12, 17);
    for (int i = 0; i < 4; i++) png[29 + i] = (unsigned char)(crc >> (24 - 8 * i));
    memcpy(png + 33 + 4, "IDAT", 4);
    memcpy(png + 45 + 4, "IEND", 4);
    c->files = realloc(c->files, (c->count + 1) * sizeof *c->files);
    corpus_file *f = &c->files[c->count++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->bytes = malloc(sizeof png);
    memcpy(f->bytes, png, sizeof png);
    f->size = sizeof png;
}

/* Guards: libspng's crashers, PngSuite's corrupt x* files, a 12-bit JPEG
 * and headers claiming billions of pixels, as legacy frames, each either
 * stay their bytes or fail to read with h5img's reason and no partial
 * pixels; none decodes, crashes or takes memory its header asks for. */
START_TEST(hostile_fail_cleanly)
{
#ifndef __SANITIZE_ADDRESS__
    /* ASan reserves terabytes of address space for its shadow, so a cap on
     * it cannot coexist with ASan: the normal pass checks the memory taken,
     * the sanitizer pass the memory errors. */
    struct rlimit cap = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    ck_assert(setrlimit(RLIMIT_AS, &cap) == 0);
#endif
    corpus c = {0};
    add_folder(&c, "png-crashers", ".png", "", 0);
    add_folder(&c, "pngsuite", ".png", "x", 0);
    add_folder(&c, "jpeg", ".jpg", "monkey12", 0);
    add_claimed_size(&c, "claims_2G_pixels", 65536, 32768);
    add_claimed_size(&c, "claims_max_side", 0x7fffffff, 1);
    ck_assert_msg(c.count > 40, "only %zu hostile files", c.count);
    const char *path = wrap_corpus(&c, "hostile.h5");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(file >= 0);
    size_t failed = 0, bytes = 0;
    for (size_t i = 0; i < c.count; i++) {
        void *pixels;
        size_t size;
        hsize_t dims[8];
        int rank;
        outcome result = read_through(file, &c.files[i], &pixels, &size, dims, &rank);
        ck_assert_msg(result != DECODED, "%s: a hostile file decoded to a rank-%d image", c.files[i].name, rank);
        failed += result == READ_FAILED;
        bytes += result == STAYED_BYTES;
        free(pixels);
    }
    ck_assert_msg(failed >= 10, "only %zu read errors (and %zu left as bytes)", failed, bytes);
    H5Fclose(file);
    free_corpus(&c);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("vol_corpus");
    TCase *tc = tcase_create("corpus");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, conformance_matches_opencv);
    tcase_add_test(tc, hostile_fail_cleanly);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
