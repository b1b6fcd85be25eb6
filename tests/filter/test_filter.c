/* test_filter.c: the filter through the HDF5 C API; built twice, linked (h5img_register) and loaded from HDF5_PLUGIN_PATH. */
#include <check.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5img.h"
#include "check_env.h"
#include "error_stack_text.h"
#include "oracle.h"

/* The plugin build links neither h5img nor its filter: the only way HDF5
 * can find filter 49301 there is by loading libh5img.so. */
#ifdef H5IMG_TEST_PLUGIN
#define MODE "plugin"
#else
#define MODE "linked"
#endif

static const unsigned char PNG_SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* ------------------------------------------------------------------------- */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------- */

static void ensure_filter(void)
{
#ifdef H5IMG_TEST_PLUGIN
    ck_assert_int_gt(H5Zfilter_avail(H5IMG_FILTER_ID), 0);
#else
    ck_assert_int_eq(h5img_register(), 0);
#endif
}

/* The HDF5 error stack as one string, for messages and for asserting that
 * the filter's sentence reached the caller. */
static const char *error_stack(void)
{
    static stack_text stack;
    memset(&stack, 0, sizeof stack);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &stack);
    return stack.text;
}

static void assert_stack_contains(const char *stack, const char *needle)
{
    ck_assert_msg(strstr(stack, needle) != NULL, "error stack lacks \"%s\": %s", needle, stack);
}

static hid_t create_file(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-%s.h5", env_or_fail("H5IMG_TEST_DIR"), MODE, name);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(file >= 0, "cannot create %s: %s", path, error_stack());
    return file;
}

static hid_t reopen_file(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-%s.h5", env_or_fail("H5IMG_TEST_DIR"), MODE, name);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(file >= 0, "cannot open %s: %s", path, error_stack());
    return file;
}

static hid_t filter_dcpl(int rank, const hsize_t *chunk, size_t ncd, const unsigned *cd)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ck_assert_int_ge(H5Pset_chunk(dcpl, rank, chunk), 0);
    ck_assert_int_ge(H5Pset_filter(dcpl, H5IMG_FILTER_ID, H5Z_FLAG_MANDATORY, ncd, cd), 0);
    return dcpl;
}

/* Returns the dataset or a negative id (creation refused); the error stack
 * of H5Dcreate2 is saved in *stack before later calls clear it. */
static hid_t try_create(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims, const hsize_t *chunk,
                        size_t ncd, const unsigned *cd, const char **stack)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = filter_dcpl(rank, chunk, ncd, cd);
    hid_t dset = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    *stack = error_stack();
    H5Pclose(dcpl);
    H5Sclose(space);
    return dset;
}

static hid_t create_dataset(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims,
                            const hsize_t *chunk, size_t ncd, const unsigned *cd)
{
    const char *stack = NULL;
    hid_t dset = try_create(file, name, type, rank, dims, chunk, ncd, cd, &stack);
    ck_assert_msg(dset >= 0, "H5Dcreate2(%s) failed: %s", name, stack);
    return dset;
}

static size_t count_elements(int rank, const hsize_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    return n;
}

/* Smooth gradients plus a little structure: compressible like a picture,
 * but every sample position distinguishable. */
static void fill_pattern(void *data, size_t count, size_t element_size, unsigned seed)
{
    for (size_t i = 0; i < count; i++) {
        unsigned v = (unsigned)(i * 7 + (i / 97) * 13 + seed * 31 + (i % 5) * (i % 11));
        if (element_size == 1)
            ((uint8_t *)data)[i] = (uint8_t)v;
        else
            ((uint16_t *)data)[i] = (uint16_t)(v * 263u);
    }
}

static void *read_all(hid_t dset, hid_t mem_type, size_t bytes)
{
    void *out = malloc(bytes);
    ck_assert_ptr_nonnull(out);
    herr_t status = H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    ck_assert_msg(status >= 0, "H5Dread failed: %s", error_stack());
    return out;
}

/* The stored (encoded) bytes of the first chunk, as HDF5 keeps them. */
static void *raw_chunk(hid_t dset, size_t *size)
{
    hsize_t offset[8] = {0};
    hsize_t stored = 0;
    uint32_t mask = 0;
    ck_assert_int_ge(H5Dget_chunk_storage_size(dset, offset, &stored), 0);
    void *data = malloc(stored ? stored : 1);
    ck_assert_int_ge(H5Dread_chunk(dset, H5P_DEFAULT, offset, &mask, data), 0);
    ck_assert_msg(mask == 0, "the filter was skipped for this chunk (filter mask 0x%x)", mask);
    *size = (size_t)stored;
    return data;
}

static void assert_same_bytes(const void *expected, const void *actual, size_t size, const char *what)
{
    long at = first_difference(expected, actual, size);
    ck_assert_msg(at < 0, "%s: first difference at byte %ld (expected %u, got %u)", what, at,
                  at < 0 ? 0 : ((const uint8_t *)expected)[at], at < 0 ? 0 : ((const uint8_t *)actual)[at]);
}

static void write_direct(hid_t dset, const void *bytes, size_t size)
{
    hsize_t offset[8] = {0};
    herr_t status = H5Dwrite_chunk(dset, H5P_DEFAULT, 0, offset, size, bytes);
    ck_assert_msg(status >= 0, "H5Dwrite_chunk failed: %s", error_stack());
}

/* Chunks are encoded when the chunk cache flushes, i.e. in H5Dclose: a
 * failing forward filter shows up here, not in H5Dwrite. */
static void close_written(hid_t dset, hid_t file)
{
    herr_t status = H5Dclose(dset);
    ck_assert_msg(status >= 0, "H5Dclose (chunk flush) failed: %s", error_stack());
    status = H5Fclose(file);
    ck_assert_msg(status >= 0, "H5Fclose failed: %s", error_stack());
}

/* ------------------------------------------------------------------------- */
/* Registration: the two builds reach the same filter by different roads     */
/* ------------------------------------------------------------------------- */

#ifdef H5IMG_TEST_PLUGIN
/* Guards: the plugin exports a working H5PLget_plugin_info, and this program
 * did not get the filter any other way (no plugin path -> not available). */
START_TEST(test_register)
{
    const char *plugin_dir = env_or_fail("HDF5_PLUGIN_PATH");
    unsigned paths = 0;
    ck_assert_int_ge(H5PLsize(&paths), 0);
    while (paths-- > 0) ck_assert_int_ge(H5PLremove(0), 0);
    ck_assert_int_eq(H5Zfilter_avail(H5IMG_FILTER_ID), 0);
    ck_assert_int_ge(H5PLappend(plugin_dir), 0);
    ck_assert_int_gt(H5Zfilter_avail(H5IMG_FILTER_ID), 0);
    unsigned config = 0;
    ck_assert_int_ge(H5Zget_filter_info(H5IMG_FILTER_ID, &config), 0);
    ck_assert(config & H5Z_FILTER_CONFIG_DECODE_ENABLED);
    ck_assert(config & H5Z_FILTER_CONFIG_ENCODE_ENABLED);
}
END_TEST
#else
/* Guards: h5img_register() makes the filter available with no plugin on the
 * path (CTest points HDF5_PLUGIN_PATH at an empty directory), and a second
 * call is harmless. */
START_TEST(test_register)
{
    ck_assert_int_eq(H5Zfilter_avail(H5IMG_FILTER_ID), 0);
    ck_assert_int_eq(h5img_register(), 0);
    ck_assert_int_gt(H5Zfilter_avail(H5IMG_FILTER_ID), 0);
    ck_assert_int_eq(h5img_register(), 0);
    unsigned config = 0;
    ck_assert_int_ge(H5Zget_filter_info(H5IMG_FILTER_ID, &config), 0);
    ck_assert(config & H5Z_FILTER_CONFIG_DECODE_ENABLED);
    ck_assert(config & H5Z_FILTER_CONFIG_ENCODE_ENABLED);
}
END_TEST
#endif

/* ------------------------------------------------------------------------- */
/* Writing through the filter (lossless PNG by default)                      */
/* ------------------------------------------------------------------------- */

typedef struct roundtrip_case {
    const char *name;
    int rank;
    hsize_t dims[4];
    hsize_t chunk[4];
    int uint16;
    int big_endian;
    unsigned expected_rule;
} roundtrip_case;

static const roundtrip_case ROUNDTRIPS[] = {
    {"gray8", 2, {48, 64}, {48, 64}, 0, 0, H5IMG_RULE_MASK},
    {"rgb8", 3, {48, 64, 3}, {48, 64, 3}, 0, 0, H5IMG_RULE_COLOR},
    {"rgba8", 3, {48, 64, 4}, {48, 64, 4}, 0, 0, H5IMG_RULE_NATIVE},
    {"gray16", 2, {40, 56}, {40, 56}, 1, 0, H5IMG_RULE_NATIVE},
    {"rgb16be", 3, {40, 56, 3}, {40, 56, 3}, 1, 1, H5IMG_RULE_NATIVE},
    {"stack", 4, {3, 32, 40, 3}, {1, 32, 40, 3}, 0, 0, H5IMG_RULE_COLOR},
    {"gray_stack", 3, {4, 30, 20}, {1, 30, 20}, 0, 0, H5IMG_RULE_MASK},
};

/* What set_local stored: the full 9 values, AUTO resolved, the shape. */
static void assert_stored_cd(hid_t dset, const roundtrip_case *c)
{
    unsigned cd[16] = {0}, flags = 0, config = 0;
    size_t count = 16;
    char name[128] = "";
    hid_t dcpl = H5Dget_create_plist(dset);
    ck_assert_int_ge(H5Pget_filter_by_id2(dcpl, H5IMG_FILTER_ID, &flags, &count, cd, sizeof name, name, &config), 0);
    H5Pclose(dcpl);
    ck_assert_uint_eq(count, H5IMG_CD_COUNT);
    ck_assert_uint_eq(cd[H5IMG_CD_VERSION_SLOT], H5IMG_CD_VERSION);
    ck_assert_uint_eq(cd[H5IMG_CD_RULE], c->expected_rule);
    ck_assert_uint_eq(cd[H5IMG_CD_FLAGS], c->big_endian ? H5IMG_FLAG_BIG_ENDIAN : 0);
    ck_assert_uint_eq(cd[H5IMG_CD_HEIGHT], c->chunk[c->rank - (c->chunk[c->rank - 1] <= 4 ? 3 : 2)]);
    ck_assert_uint_eq(cd[H5IMG_CD_ELEMSIZE], c->uint16 ? 2 : 1);
    ck_assert_msg(strstr(name, "h5img") != NULL, "filter name is \"%s\"", name);
}

/* Guards: set_local fills cd_values from the dataset alone, the forward
 * filter stores PNG, and reading back through the reverse filter returns
 * the written samples bit for bit (lossless PNG, uint16 in either order,
 * one image per frame of a stacked dataset). */
START_TEST(test_roundtrip)
{
    const roundtrip_case *c = &ROUNDTRIPS[_i];
    ensure_filter();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    size_t count = count_elements(c->rank, c->dims);
    size_t element = c->uint16 ? 2 : 1;
    hid_t mem_type = c->uint16 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT8;
    hid_t file_type = c->uint16 ? (c->big_endian ? H5T_STD_U16BE : H5T_STD_U16LE) : H5T_STD_U8LE;
    void *data = malloc(count * element);
    fill_pattern(data, count, element, (unsigned)_i);

    hid_t file = create_file(c->name);
    hid_t dset = create_dataset(file, "img", file_type, c->rank, c->dims, c->chunk, 0, NULL);
    herr_t status = H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    ck_assert_msg(status >= 0, "H5Dwrite failed: %s", error_stack());
    close_written(dset, file);

    file = reopen_file(c->name);
    dset = H5Dopen2(file, "img", H5P_DEFAULT);
    assert_stored_cd(dset, c);
    size_t stored = 0;
    void *encoded = raw_chunk(dset, &stored);
    ck_assert_msg(stored > 8 && memcmp(encoded, PNG_SIGNATURE, 8) == 0, "chunk is not PNG");
    free(encoded);
    void *back = read_all(dset, mem_type, count * element);
    assert_same_bytes(data, back, count * element, c->name);
    free(back);
    free(data);
    H5Dclose(dset);
    H5Fclose(file);
}
END_TEST

/* Guards: codec 1 in cd_values selects JPEG on write (the stored chunk is a
 * JPEG) and the lossy result stays close to the input. */
START_TEST(test_jpeg_write)
{
    ensure_filter();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const hsize_t dims[3] = {64, 80, 3};
    const unsigned cd[5] = {0, 0, 0, H5IMG_CODEC_JPEG, 90};
    size_t count = count_elements(3, dims);
    uint8_t *data = malloc(count);
    for (size_t i = 0; i < count; i++) data[i] = (uint8_t)((i / 3) % 80 * 2 + (i % 3) * 40 + (i / 240) * 2);

    hid_t file = create_file("jpeg_write");
    hid_t dset = create_dataset(file, "img", H5T_STD_U8LE, 3, dims, dims, 5, cd);
    ck_assert_msg(H5Dwrite(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, "%s", error_stack());
    close_written(dset, file);

    file = reopen_file("jpeg_write");
    dset = H5Dopen2(file, "img", H5P_DEFAULT);
    size_t stored = 0;
    uint8_t *encoded = raw_chunk(dset, &stored);
    ck_assert_msg(stored > 3 && encoded[0] == 0xff && encoded[1] == 0xd8, "chunk is not JPEG");
    free(encoded);
    uint8_t *back = read_all(dset, H5T_NATIVE_UINT8, count);
    double error = 0;
    for (size_t i = 0; i < count; i++) error += abs((int)back[i] - (int)data[i]);
    ck_assert_msg(error / (double)count < 6.0, "JPEG at quality 90 is off by %.2f on average", error / (double)count);
    free(back);
    free(data);
    H5Dclose(dset);
    H5Fclose(file);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* Direct chunk writes of real encoded files, read against OpenCV            */
/* ------------------------------------------------------------------------- */

typedef struct direct_case {
    const char *file;  /* under the conformance directory */
    const char *rule;  /* oracle rule the dataset should reproduce */
    size_t ncd;
    unsigned cd[3];    /* writer's slots 0-2 */
    int bgr;           /* oracle is RGB; swap to compare a BGR dataset */
} direct_case;

static const direct_case DIRECTS[] = {
    {"jpeg/testorig.jpg", "color", 0, {0}, 0},
    {"jpeg/testorig.jpg", "luma", 2, {0, H5IMG_RULE_LUMA}, 0},
    {"jpeg/testorig.jpg", "mask", 0, {0}, 0},
    {"jpeg/testorig.jpg", "color", 3, {0, 0, H5IMG_FLAG_BGR}, 1},
    {"jpeg/testimgint.jpg", "color", 0, {0}, 0},
    {"pngsuite/basn2c08.png", "color", 0, {0}, 0},
    {"pngsuite/basn0g08.png", "mask", 0, {0}, 0},
    {"pngsuite/basn6a08.png", "native", 0, {0}, 0},
    {"pngsuite/basn0g16.png", "native", 0, {0}, 0},
    {"pngsuite/basn2c16.png", "native", 0, {0}, 0},
    {"pngsuite/basn3p08.png", "color", 0, {0}, 0},
};

static void swap_red_blue(uint8_t *pixels, size_t count)
{
    for (size_t i = 0; i + 2 < count; i += 3) {
        uint8_t red = pixels[i];
        pixels[i] = pixels[i + 2];
        pixels[i + 2] = red;
    }
}

/* Guards: the reverse filter turns untouched PNG/JPEG bytes into exactly
 * what cv2.imdecode returns for the dataset's rule (AUTO from the shape,
 * luma from cd_values, BGR from the flag). */
START_TEST(test_direct_chunk)
{
    const direct_case *c = &DIRECTS[_i];
    ensure_filter();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    oracle o;
    ck_assert_msg(oracle_load(&o, env_or_fail("H5IMG_ORACLE_DIR")) == 0, "no oracle manifest");
    const char *base = strrchr(c->file, '/') + 1;
    const oracle_entry *e = oracle_find(&o, base, c->rule);
    ck_assert_msg(e && e->ok, "oracle has no %s decode of %s", c->rule, base);
    size_t expected_size = 0, encoded_size = 0;
    uint8_t *expected = oracle_pixels(&o, e, &expected_size);
    ck_assert_ptr_nonnull(expected);
    if (c->bgr) swap_red_blue(expected, expected_size);
    void *encoded = conformance_file(c->file, &encoded_size);

    hsize_t dims[3] = {e->height, e->width, e->channels};
    int rank = e->channels == 1 ? 2 : 3;
    hid_t type = e->element_size == 2 ? H5T_STD_U16LE : H5T_STD_U8LE;
    hid_t file = create_file("direct");
    hid_t dset = create_dataset(file, "img", type, rank, dims, dims, c->ncd, c->cd);
    write_direct(dset, encoded, encoded_size);
    close_written(dset, file);

    file = reopen_file("direct");
    dset = H5Dopen2(file, "img", H5P_DEFAULT);
    void *back = read_all(dset, e->element_size == 2 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT8, expected_size);
    assert_same_bytes(expected, back, expected_size, c->file);
    H5Dclose(dset);
    H5Fclose(file);
    free(back);
    free(encoded);
    free(expected);
    oracle_free(&o);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* Refusals at H5Dcreate: can_apply and set_local                            */
/* ------------------------------------------------------------------------- */

typedef struct refusal_case {
    const char *what;
    int rank;
    hsize_t dims[3];
    int float_type;
    int uint16;
    size_t ncd;
    unsigned cd[5];
    const char *message;
} refusal_case;

static const refusal_case REFUSALS[] = {
    {"float type", 2, {30, 40}, 1, 0, 0, {0}, "dataset type is 32-bit float; h5img stores uint8 or uint16"},
    {"chunk of 2 images", 3, {2, 30, 40}, 0, 0, 0, {0}, "chunk (2, 30, 40) is not one image: leading dimensions must be 1"},
    /* Read as (H images, W, 2 pixels wide) the leading dimension is what fails, but its writer meant 2 channels. */
    {"2 channels", 3, {30, 40, 2}, 0, 0, 0, {0},
     "chunk (30, 40, 2) is not one image: its last dimension would be 2 channels, and h5img stores 1, 3 or 4"},
    {"rank 1", 1, {1200}, 0, 0, 0, {0}, "chunk (1200) is not one image"},
    {"luma on 3 channels", 3, {30, 40, 3}, 0, 0, 2, {0, H5IMG_RULE_LUMA}, "rule luma needs a 1-channel uint8 chunk"},
    {"JPEG on uint16", 2, {30, 40}, 0, 1, 4, {0, 0, 0, H5IMG_CODEC_JPEG}, "JPEG stores only uint8"},
    {"newer version", 2, {30, 40}, 0, 0, 1, {2}, "version 2 is newer than this h5img's version 1"},
    {"PNG level 10", 2, {30, 40}, 0, 0, 5, {0, 0, 0, 0, 10}, "PNG level 10 is not 0-9"},
    {"unknown flag", 2, {30, 40}, 0, 0, 3, {0, 0, 0x4}, "flags 0x4 have unknown bits"},
};

/* Guards: a dataset h5img cannot store is refused when it is created, with
 * a sentence that names the numbers, instead of failing on every write. */
START_TEST(test_refusal)
{
    const refusal_case *c = &REFUSALS[_i];
    ensure_filter();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t type = c->float_type ? H5T_IEEE_F32LE : c->uint16 ? H5T_STD_U16LE : H5T_STD_U8LE;
    hid_t file = create_file("refusal");
    const char *stack = NULL;
    hid_t dset = try_create(file, "img", type, c->rank, c->dims, c->dims, c->ncd, c->cd, &stack);
    ck_assert_msg(dset < 0, "%s: H5Dcreate2 accepted it", c->what);
    assert_stack_contains(stack, c->message);
    H5Fclose(file);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* Read failures: the error stack carries the filter's sentence              */
/* ------------------------------------------------------------------------- */

/* Stand-in class under our ID with no set_local, used only to store a
 * pipeline exactly as given (as a newer or broken writer would). */
static size_t never_called(unsigned flags, size_t n, const unsigned cd[], size_t nbytes, size_t *size, void **buf)
{
    return 0;
}

static const H5Z_class2_t VERBATIM_CLASS = {H5Z_CLASS_T_VERS, H5IMG_FILTER_ID, 1, 1, "verbatim stand-in", NULL, NULL,
                                            never_called};

static void restore_filter(void)
{
    ck_assert_int_ge(H5Zunregister(H5IMG_FILTER_ID), 0);
    ensure_filter();
}

static void store_verbatim_as(const char *name, hid_t type, size_t ncd, const unsigned *cd, const void *bytes,
                              size_t size)
{
    const hsize_t dims[3] = {32, 32, 3};
    ck_assert_int_ge(H5Zregister(&VERBATIM_CLASS), 0);
    hid_t file = create_file(name);
    hid_t dset = create_dataset(file, "img", type, 3, dims, dims, ncd, cd);
    write_direct(dset, bytes, size);
    H5Dclose(dset);
    H5Fclose(file);
    restore_filter();
}

/* The usual case: a 32x32x3 uint8 dataset. */
static void store_verbatim(const char *name, size_t ncd, const unsigned *cd, const void *bytes, size_t size)
{
    store_verbatim_as(name, H5T_STD_U8LE, ncd, cd, bytes, size);
}

/* Read "img" expecting failure; returns the error stack. Also checks that
 * nothing was written into the caller's buffer. */
static const char *read_failure(const char *name, hsize_t height, hsize_t width, hsize_t channels)
{
    size_t bytes = (size_t)(height * width * channels);
    uint8_t *out = malloc(bytes);
    memset(out, 0xab, bytes);
    hid_t file = reopen_file(name);
    hid_t dset = H5Dopen2(file, "img", H5P_DEFAULT);
    ck_assert_int_ge(dset, 0);
    herr_t status = H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    const char *stack = error_stack();
    ck_assert_msg(status < 0, "%s: H5Dread succeeded", name);
    for (size_t i = 0; i < bytes; i++) ck_assert_msg(out[i] == 0xab, "%s: failed read wrote byte %zu", name, i);
    free(out);
    H5Dclose(dset);
    H5Fclose(file);
    return stack;
}

/* Guards: cd_values from a newer format version are refused on read, and
 * the message names both versions. */
START_TEST(test_newer_version)
{
    ensure_filter();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const unsigned cd[H5IMG_CD_COUNT] = {2, H5IMG_RULE_COLOR, 0, 0, 0, 32, 32, 3, 1};
    size_t size = 0;
    void *png = conformance_file("pngsuite/basn2c08.png", &size);
    store_verbatim("version2", H5IMG_CD_COUNT, cd, png, size);
    const char *stack = read_failure("version2", 32, 32, 3);
    assert_stack_contains(stack, "version 2");
    assert_stack_contains(stack, "version 1");
    free(png);
}
END_TEST

/* Guards: a pipeline with fewer cd_values than set_local stores is refused
 * rather than read past its end. */
START_TEST(test_too_few_cd_values)
{
    ensure_filter();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const unsigned cd[3] = {1, H5IMG_RULE_COLOR, 0};
    size_t size = 0;
    void *png = conformance_file("pngsuite/basn2c08.png", &size);
    store_verbatim("fewcd", 3, cd, png, size);
    const char *stack = read_failure("fewcd", 32, 32, 3);
    assert_stack_contains(stack, "3 cd_values");
    free(png);
}
END_TEST

/* Guards: a read refuses what set_local refuses, in the same words: more
 * cd_values than version 1 stores (set_local: "takes at most 9"). */
START_TEST(test_too_many_cd_values)
{
    ensure_filter();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const unsigned cd[H5IMG_CD_COUNT + 1] = {1, H5IMG_RULE_COLOR, 0, 0, 0, 32, 32, 3, 1, 7};
    size_t size = 0;
    void *png = conformance_file("pngsuite/basn2c08.png", &size);
    store_verbatim("manycd", H5IMG_CD_COUNT + 1, cd, png, size);
    const char *stack = read_failure("manycd", 32, 32, 3);
    assert_stack_contains(stack, "10 cd_values but version 1 stores exactly 9");
    free(png);
}
END_TEST

/* Guards: a JPEG codec slot on a 3-channel uint16 chunk, which set_local
 * refuses ("JPEG stores only uint8"), is refused by a read too, though the
 * stored bytes are a PNG a read could decode. */
START_TEST(test_jpeg_codec_on_uint16_refused_on_read)
{
    ensure_filter();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const unsigned cd[H5IMG_CD_COUNT] = {1, H5IMG_RULE_NATIVE, 0, H5IMG_CODEC_JPEG, 0, 32, 32, 3, 2};
    size_t size = 0;
    void *png = conformance_file("pngsuite/basn2c16.png", &size);
    store_verbatim_as("jpeg16", H5T_STD_U16LE, H5IMG_CD_COUNT, cd, png, size);
    const char *stack = read_failure("jpeg16", 32, 32, 3);
    assert_stack_contains(stack, "JPEG stores only uint8 images with 1 or 3 channels, but the chunk is (32, 32, 3) uint16");
    free(png);
}
END_TEST

/* Guards: an image that does not match the chunk (one pixel wider) is an
 * error naming both sizes, never a silently cropped or padded read. */
START_TEST(test_wider_image)
{
    ensure_filter();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const hsize_t dims[3] = {32, 31, 3};
    size_t size = 0;
    void *png = conformance_file("pngsuite/basn2c08.png", &size);
    hid_t file = create_file("wider");
    hid_t dset = create_dataset(file, "img", H5T_STD_U8LE, 3, dims, dims, 0, NULL);
    write_direct(dset, png, size);
    H5Dclose(dset);
    H5Fclose(file);
    const char *stack = read_failure("wider", 32, 31, 3);
    assert_stack_contains(stack, "32x32");
    assert_stack_contains(stack, "31x32");
    free(png);
}
END_TEST

/* Guards: bytes that are not an image, and a PNG with one corrupted byte
 * of pixel data, fail the read: no data is returned as success. */
START_TEST(test_corrupt)
{
    ensure_filter();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const hsize_t dims[3] = {32, 32, 3};
    size_t size = 0;
    uint8_t *png = conformance_file("pngsuite/basn2c08.png", &size);
    static const char garbage[] = "these bytes are not an image at all";
    png[size - 30] ^= 0x55; /* inside the last IDAT or its CRC */

    hid_t file = create_file("corrupt");
    hid_t dset = create_dataset(file, "img", H5T_STD_U8LE, 3, dims, dims, 0, NULL);
    write_direct(dset, garbage, sizeof garbage);
    H5Dclose(dset);
    H5Fclose(file);
    assert_stack_contains(read_failure("corrupt", 32, 32, 3), "neither PNG nor JPEG");

    file = create_file("corrupt");
    dset = create_dataset(file, "img", H5T_STD_U8LE, 3, dims, dims, 0, NULL);
    write_direct(dset, png, size);
    H5Dclose(dset);
    H5Fclose(file);
    assert_stack_contains(read_failure("corrupt", 32, 32, 3), "cannot decode h5img chunk");
    free(png);
}
END_TEST

static Suite *filter_suite(void)
{
    Suite *s = suite_create("filter-" MODE);
    TCase *registration = tcase_create("register");
    tcase_add_test(registration, test_register);
    suite_add_tcase(s, registration);

    TCase *io = tcase_create("io");
    tcase_set_timeout(io, 120);
    tcase_add_loop_test(io, test_roundtrip, 0, (int)(sizeof ROUNDTRIPS / sizeof *ROUNDTRIPS));
    tcase_add_test(io, test_jpeg_write);
    tcase_add_loop_test(io, test_direct_chunk, 0, (int)(sizeof DIRECTS / sizeof *DIRECTS));
    suite_add_tcase(s, io);

    TCase *errors = tcase_create("errors");
    tcase_add_loop_test(errors, test_refusal, 0, (int)(sizeof REFUSALS / sizeof *REFUSALS));
    tcase_add_test(errors, test_newer_version);
    tcase_add_test(errors, test_too_few_cd_values);
    tcase_add_test(errors, test_too_many_cd_values);
    tcase_add_test(errors, test_jpeg_codec_on_uint16_refused_on_read);
    tcase_add_test(errors, test_wider_image);
    tcase_add_test(errors, test_corrupt);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(filter_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
