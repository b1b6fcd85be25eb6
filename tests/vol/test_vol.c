/* test_vol.c: the h5img VOL connector in HDF5 1.14: legacy frames read as OpenCV's decode, everything else exactly as without it. */
#include "vol_test_util.h"

#include <H5VLnative.h>
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SAMPLES[] = {"dna_sample.smc", "renderme_sample.smc"};
#define SAMPLE_COUNT (sizeof SAMPLES / sizeof *SAMPLES)

static const char *sample(const char *name)
{
    return vol_path(vol_env("H5IMG_SAMPLES_DIR"), name);
}

static hid_t open_with(const char *path, hid_t fapl, unsigned flags)
{
    hid_t file = H5Fopen(path, flags, fapl);
    ck_assert_msg(file >= 0, "cannot open %s: %s", path, vol_error_text());
    return file;
}

/* The same file through the native connector alone, for comparison. HDF5
 * shares one open file between every H5Fopen of it, and one file cannot be
 * open through two different connectors at once (the second open's objects
 * would be wrapped by the first's connector), so this opens a copy. */
static hid_t open_plain(const char *path)
{
    char copy[2048];
    const char *base = strrchr(path, '/');
    snprintf(copy, sizeof copy, "%s/plain-%s", vol_env("H5IMG_TEST_DIR"), base ? base + 1 : path);
    vol_copy_file(path, copy);
    hid_t fapl = vol_native_fapl();
    hid_t file = open_with(copy, fapl, H5F_ACC_RDONLY);
    H5Pclose(fapl);
    return file;
}

/* ------------------------------------------------------------------------- */
/* Stage 1: the decoded view                                                 */
/* ------------------------------------------------------------------------- */

/* Guards: HDF5_VOL_CONNECTOR=h5img (no info string) puts the connector
 * under every default file access list, stacked on the native connector. */
START_TEST(env_selects_connector)
{
    hid_t file = open_with(sample(SAMPLES[0]), H5P_DEFAULT, H5F_ACC_RDONLY);
    char name[64] = "";
    ck_assert(H5VLget_connector_name(file, name, sizeof name) > 0);
    ck_assert_str_eq(name, "h5img");
    hbool_t native = 0;
    ck_assert(H5VLobject_is_native(file, &native) >= 0);
    ck_assert_msg(native, "the connector under h5img should be the native one");
    H5Fclose(file);
}
END_TEST

/* Reads a frame whole with the memory type of its view and compares with OpenCV. */
static void check_frame(hid_t file, const vol_oracle *oracle, const vol_oracle_entry *e, int by_object_open)
{
    hid_t dataset = by_object_open ? H5Oopen(file, e->path, H5P_DEFAULT) : H5Dopen2(file, e->path, H5P_DEFAULT);
    ck_assert_msg(dataset >= 0, "%s: cannot open %s", e->file, e->path);
    hid_t space = H5Dget_space(dataset), type = H5Dget_type(dataset);
    hsize_t dims[3] = {0};
    int rank = H5Sget_simple_extent_dims(space, dims, NULL);
    int want_rank = e->channels == 1 ? 2 : 3;
    ck_assert_msg(rank == want_rank && dims[0] == e->height && dims[1] == e->width &&
                      (rank == 2 || dims[2] == e->channels),
                  "%s %s: view is rank %d (%llu, %llu, %llu), OpenCV gives %ux%ux%u", e->file, e->path, rank,
                  (unsigned long long)dims[0], (unsigned long long)dims[1], (unsigned long long)dims[2], e->height,
                  e->width, e->channels);
    ck_assert_int_eq(H5Tget_class(type), H5T_INTEGER);
    ck_assert_int_eq(H5Tget_sign(type), H5T_SGN_NONE);
    ck_assert_uint_eq(H5Tget_size(type), e->element_size);
    size_t expected_size;
    void *expected = vol_oracle_pixels(oracle, e, &expected_size);
    void *pixels = malloc(expected_size);
    hid_t memory = e->element_size == 2 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT8;
    ck_assert_msg(H5Dread(dataset, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels) >= 0, "%s %s: %s", e->file, e->path,
                  vol_error_text());
    long at = vol_first_difference(pixels, expected, expected_size);
    ck_assert_msg(at < 0, "%s %s (rule %s): first difference from OpenCV at byte %ld", e->file, e->path, e->rule, at);
    free(pixels);
    free(expected);
    H5Tclose(type);
    H5Sclose(space);
    if (by_object_open)
        H5Oclose(dataset);
    else
        H5Dclose(dataset);
}

/* Guards: every committed sample frame shows as OpenCV's decode under the
 * default rule (mask paths: mask, others: native, 16-bit PNG as uint16),
 * through H5Dopen and through H5Oopen (h5ls and h5py's way in). */
START_TEST(samples_match_opencv)
{
    vol_oracle oracle;
    vol_oracle_load(&oracle);
    size_t checked = 0;
    for (size_t s = 0; s < SAMPLE_COUNT; s++) {
        hid_t file = open_with(sample(SAMPLES[s]), H5P_DEFAULT, H5F_ACC_RDONLY);
        for (size_t i = 0; i < oracle.count; i++) {
            const vol_oracle_entry *e = &oracle.entries[i];
            if (strcmp(e->file, SAMPLES[s]) != 0 || !e->is_default || !e->ok) continue;
            check_frame(file, &oracle, e, 0);
            check_frame(file, &oracle, e, 1);
            checked++;
        }
        H5Fclose(file);
    }
    ck_assert_msg(checked >= 35, "only %zu sample frames checked", checked);
    vol_oracle_free(&oracle);
}
END_TEST

/* Guards: a frame OpenCV cannot decode either stays its bytes (header does
 * not parse: the committed corrupt frame) or fails to read; never pixels. */
START_TEST(undecodable_sample_stays_bytes)
{
    hid_t through = open_with(sample("dna_sample.smc"), H5P_DEFAULT, H5F_ACC_RDONLY);
    hid_t plain = open_plain(sample("dna_sample.smc"));
    const char *path = "/Camera_5mp/01/color/2";
    hid_t a = H5Dopen2(through, path, H5P_DEFAULT), b = H5Dopen2(plain, path, H5P_DEFAULT);
    hid_t space = H5Dget_space(a);
    hsize_t dims[3];
    ck_assert_int_eq(H5Sget_simple_extent_dims(space, dims, NULL), 1);
    ck_assert_uint_eq(dims[0], 100);
    unsigned char x[100], y[100];
    ck_assert(H5Dread(a, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    ck_assert(H5Dread(b, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0);
    ck_assert(memcmp(x, y, sizeof x) == 0);
    H5Sclose(space);
    H5Dclose(a), H5Dclose(b);
    H5Fclose(through), H5Fclose(plain);
}
END_TEST

/* Guards: the view's creation properties list no 1-D chunk and no filter,
 * while storage size still describes the stored bytes (documented). */
START_TEST(view_dcpl_and_storage)
{
    hid_t file = open_with(sample("renderme_sample.smc"), H5P_DEFAULT, H5F_ACC_RDONLY);
    hid_t dataset = H5Dopen2(file, "/Camera/00/color/0", H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(dataset);
    ck_assert(dcpl >= 0);
    ck_assert_int_ne(H5Pget_layout(dcpl), H5D_CHUNKED);
    ck_assert_int_eq(H5Pget_nfilters(dcpl), 0);
    ck_assert_uint_eq(H5Dget_storage_size(dataset), 10026);
    H5Pclose(dcpl);
    H5Dclose(dataset);
    H5Fclose(file);
}
END_TEST

/* ---- everything else exactly as without the connector ---- */

typedef struct name_list {
    char **names;
    size_t count;
} name_list;

static herr_t note_link(hid_t group, const char *name, const H5L_info2_t *info, void *data)
{
    name_list *list = data;
    char entry[512];
    snprintf(entry, sizeof entry, "%s:%d", name, (int)info->type);
    list->names = realloc(list->names, (list->count + 1) * sizeof *list->names);
    list->names[list->count++] = strdup(entry);
    return 0;
}

static void free_names(name_list *list)
{
    for (size_t i = 0; i < list->count; i++) free(list->names[i]);
    free(list->names);
}

static int is_oracle_frame(const vol_oracle *oracle, const char *file, const char *path)
{
    return vol_oracle_find(oracle, file, path, "native") != NULL;
}

/* Reads a dataset or attribute's whole value as stored (variable-length
 * strings as their text) into a malloc()ed buffer. */
static void *read_value(hid_t object, int is_attribute, size_t *size)
{
    hid_t type = is_attribute ? H5Aget_type(object) : H5Dget_type(object);
    hid_t space = is_attribute ? H5Aget_space(object) : H5Dget_space(object);
    hssize_t points = H5Sget_simple_extent_npoints(space);
    size_t element = H5Tget_size(type);
    int vlen_string = H5Tis_variable_str(type) > 0;
    size_t bytes = (size_t)(points > 0 ? points : 0) * element;
    unsigned char *raw = calloc(1, bytes + 1);
    herr_t status = bytes == 0 ? 0
                    : is_attribute ? H5Aread(object, type, raw)
                                   : H5Dread(object, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
    ck_assert_msg(status >= 0, "cannot read a value: %s", vol_error_text());
    if (vlen_string) {
        size_t used = 0;
        char *text = calloc(1, 1);
        for (hssize_t i = 0; i < points; i++) {
            const char *s = ((char **)raw)[i];
            size_t n = s ? strlen(s) : 0;
            text = realloc(text, used + n + 2);
            memcpy(text + used, s ? s : "", n);
            used += n;
            text[used++] = '\n';
            text[used] = '\0';
        }
        H5Treclaim(type, space, H5P_DEFAULT, raw);
        free(raw);
        raw = (unsigned char *)text;
        bytes = used;
    }
    H5Tclose(type);
    H5Sclose(space);
    *size = bytes;
    return raw;
}

typedef struct attr_walk {
    hid_t other; /* the same object opened the other way */
    size_t seen;
} attr_walk;

static herr_t compare_attribute(hid_t object, const char *name, const H5A_info_t *info, void *data)
{
    attr_walk *walk = data;
    hid_t a = H5Aopen(object, name, H5P_DEFAULT), b = H5Aopen(walk->other, name, H5P_DEFAULT);
    ck_assert_msg(a >= 0 && b >= 0, "attribute %s missing on one side", name);
    hid_t ta = H5Aget_type(a), tb = H5Aget_type(b);
    ck_assert_msg(H5Tequal(ta, tb) > 0, "attribute %s: types differ", name);
    size_t sa, sb;
    void *va = read_value(a, 1, &sa), *vb = read_value(b, 1, &sb);
    ck_assert_msg(sa == sb && memcmp(va, vb, sa) == 0, "attribute %s: values differ", name);
    free(va), free(vb);
    H5Tclose(ta), H5Tclose(tb);
    H5Aclose(a), H5Aclose(b);
    walk->seen++;
    return 0;
}

typedef struct object_walk {
    hid_t through, plain;
    const char *file;
    const vol_oracle *oracle;
    size_t datasets, attributes;
} object_walk;

static herr_t compare_object(hid_t root, const char *name, const H5O_info2_t *info, void *data)
{
    object_walk *walk = data;
    char path[512];
    snprintf(path, sizeof path, "/%s", strcmp(name, ".") == 0 ? "" : name);
    hid_t a = H5Oopen(walk->through, path, H5P_DEFAULT), b = H5Oopen(walk->plain, path, H5P_DEFAULT);
    ck_assert_msg(a >= 0 && b >= 0, "%s: cannot open %s both ways", walk->file, path);
    attr_walk attrs = {b, 0};
    hsize_t index = 0;
    ck_assert(H5Aiterate2(a, H5_INDEX_NAME, H5_ITER_INC, &index, compare_attribute, &attrs) >= 0);
    walk->attributes += attrs.seen;
    if (info->type == H5O_TYPE_DATASET && !is_oracle_frame(walk->oracle, walk->file, path)) {
        hid_t ta = H5Dget_type(a), tb = H5Dget_type(b), sa = H5Dget_space(a), sb = H5Dget_space(b);
        ck_assert_msg(H5Tequal(ta, tb) > 0, "%s %s: the type changed", walk->file, path);
        ck_assert_msg(H5Sextent_equal(sa, sb) > 0, "%s %s: the dataspace changed", walk->file, path);
        hid_t pa = H5Dget_create_plist(a), pb = H5Dget_create_plist(b);
        ck_assert_msg(H5Pequal(pa, pb) > 0, "%s %s: the creation properties changed", walk->file, path);
        size_t na, nb;
        void *va = read_value(a, 0, &na), *vb = read_value(b, 0, &nb);
        ck_assert_msg(na == nb && memcmp(va, vb, na) == 0, "%s %s: the values differ", walk->file, path);
        free(va), free(vb);
        H5Pclose(pa), H5Pclose(pb);
        H5Tclose(ta), H5Tclose(tb), H5Sclose(sa), H5Sclose(sb);
        walk->datasets++;
    }
    H5Oclose(a), H5Oclose(b);
    return 0;
}

/* Guards: groups, links (hard, soft), attributes (strings, arrays, empty)
 * and every non-frame dataset (float, compound, uint16, the empty uint8)
 * read exactly as through the native connector alone. */
START_TEST(non_images_unchanged)
{
    vol_oracle oracle;
    vol_oracle_load(&oracle);
    for (size_t s = 0; s < SAMPLE_COUNT; s++) {
        hid_t through = open_with(sample(SAMPLES[s]), H5P_DEFAULT, H5F_ACC_RDONLY);
        hid_t plain = open_plain(sample(SAMPLES[s]));
        name_list la = {0}, lb = {0};
        ck_assert(H5Lvisit2(through, H5_INDEX_NAME, H5_ITER_INC, note_link, &la) >= 0);
        ck_assert(H5Lvisit2(plain, H5_INDEX_NAME, H5_ITER_INC, note_link, &lb) >= 0);
        ck_assert_uint_eq(la.count, lb.count);
        for (size_t i = 0; i < la.count; i++) ck_assert_str_eq(la.names[i], lb.names[i]);
        object_walk walk = {through, plain, SAMPLES[s], &oracle, 0, 0};
        ck_assert(H5Ovisit3(through, H5_INDEX_NAME, H5_ITER_INC, compare_object, &walk, H5O_INFO_BASIC) >= 0);
        ck_assert_msg(walk.datasets >= 5 && walk.attributes >= 3, "%s: only %zu datasets and %zu attributes compared",
                      SAMPLES[s], walk.datasets, walk.attributes);
        free_names(&la), free_names(&lb);
        H5Fclose(through), H5Fclose(plain);
    }
    vol_oracle_free(&oracle);
}
END_TEST

/* Guards: reading a file through the connector changes none of its bytes. */
START_TEST(file_bytes_unchanged)
{
    vol_oracle oracle;
    vol_oracle_load(&oracle);
    const char *copy = vol_path(vol_env("H5IMG_TEST_DIR"), "unchanged.smc");
    char copy_path[2048];
    snprintf(copy_path, sizeof copy_path, "%s", copy);
    vol_copy_file(sample("renderme_sample.smc"), copy_path);
    size_t before_size, after_size;
    void *before = vol_slurp(copy_path, &before_size);
    hid_t file = open_with(copy_path, H5P_DEFAULT, H5F_ACC_RDONLY);
    for (size_t i = 0; i < oracle.count; i++) {
        const vol_oracle_entry *e = &oracle.entries[i];
        if (strcmp(e->file, "renderme_sample.smc") == 0 && e->is_default && e->ok) check_frame(file, &oracle, e, 0);
    }
    H5Fclose(file);
    void *after = vol_slurp(copy_path, &after_size);
    ck_assert_uint_eq(before_size, after_size);
    ck_assert_msg(memcmp(before, after, before_size) == 0, "the file's bytes changed");
    free(before), free(after);
    vol_oracle_free(&oracle);
}
END_TEST

/* ---- files the tests make: frames that must not decode ---- */

/* Writes `bytes` as a 1-D dataset of `type` under `name` (native connector). */
static void write_bytes(hid_t file, const char *name, hid_t type, const void *bytes, size_t size)
{
    hsize_t dim = size;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dataset = H5Dcreate2(file, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(dataset >= 0, "cannot create %s", name);
    if (size) ck_assert(H5Dwrite(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes) >= 0);
    H5Dclose(dataset);
    H5Pclose(lcpl);
    H5Sclose(space);
}

static void *conformance(const char *relative, size_t *size)
{
    return vol_slurp(vol_path(vol_env("H5IMG_CONFORMANCE_DIR"), relative), size);
}

/* A file of frames made here (native connector): a PNG cut inside its
 * pixel data, bytes that only start like a PNG, a signed int8 PNG, an empty
 * dataset, and one good PNG. */
static const char *make_cases(void)
{
    static char path[2048];
    snprintf(path, sizeof path, "%s", vol_path(vol_env("H5IMG_TEST_DIR"), "cases.h5"));
    hid_t fapl = vol_native_fapl();
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    ck_assert(file >= 0);
    size_t size;
    unsigned char *png = conformance("pngsuite/basn2c08.png", &size);
    write_bytes(file, "frames/good", H5T_STD_U8LE, png, size);
    write_bytes(file, "frames/cut", H5T_STD_U8LE, png, size * 2 / 3);
    write_bytes(file, "frames/signed", H5T_STD_I8LE, png, size);
    unsigned char fake[64] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 'n', 'o', 't', ' ', 'a', 'n'};
    write_bytes(file, "frames/fake", H5T_STD_U8LE, fake, sizeof fake);
    write_bytes(file, "frames/empty", H5T_STD_U8LE, NULL, 0);
    free(png);
    H5Fclose(file);
    H5Pclose(fapl);
    return path;
}

static int view_rank(hid_t dataset, hsize_t *dims)
{
    hid_t space = H5Dget_space(dataset);
    int rank = H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    return rank;
}

/* Guards: a frame whose header parses but whose data is cut is a read
 * error naming h5img and the cause, and leaves no partial pixels. */
START_TEST(cut_frame_is_read_error)
{
    const char *path = make_cases();
    hid_t file = open_with(path, H5P_DEFAULT, H5F_ACC_RDONLY);
    hid_t dataset = H5Dopen2(file, "frames/cut", H5P_DEFAULT);
    hsize_t dims[3];
    ck_assert_int_eq(view_rank(dataset, dims), 3);
    ck_assert_uint_eq(dims[0], 32);
    ck_assert_uint_eq(dims[1], 32);
    unsigned char pixels[32 * 32 * 3];
    memset(pixels, 0xab, sizeof pixels);
    herr_t status;
    H5E_BEGIN_TRY { status = H5Dread(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels); }
    H5E_END_TRY
    ck_assert_int_lt(status, 0);
    status = -1;
    /* Read again with the stack kept, to see what reaches the caller. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ck_assert_int_lt(H5Dread(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels), 0);
    const char *text = vol_error_text();
    ck_assert_msg(strstr(text, "h5img: /frames/cut: cannot decode its PNG") != NULL, "error stack: %s", text);
    for (size_t i = 0; i < sizeof pixels; i++) ck_assert_msg(pixels[i] == 0, "partial pixel data at byte %zu", i);
    H5Dclose(dataset);
    H5Fclose(file);
}
END_TEST

/* Guards: only a non-empty 1-D uint8 dataset with a parseable header is a
 * frame: bytes that merely start like a PNG, a signed int8 dataset and an
 * empty one read exactly as stored. */
START_TEST(lookalikes_stay_bytes)
{
    const char *path = make_cases();
    hid_t file = open_with(path, H5P_DEFAULT, H5F_ACC_RDONLY);
    hid_t plain = open_plain(path);
    const char *names[] = {"frames/fake", "frames/signed", "frames/empty"};
    for (size_t i = 0; i < 3; i++) {
        hid_t a = H5Dopen2(file, names[i], H5P_DEFAULT), b = H5Dopen2(plain, names[i], H5P_DEFAULT);
        hsize_t da[3], db[3];
        ck_assert_int_eq(view_rank(a, da), 1);
        ck_assert_int_eq(view_rank(b, db), 1);
        ck_assert_uint_eq(da[0], db[0]);
        size_t na, nb;
        void *va = read_value(a, 0, &na), *vb = read_value(b, 0, &nb);
        ck_assert_msg(na == nb && memcmp(va, vb, na) == 0, "%s: bytes differ", names[i]);
        free(va), free(vb);
        H5Dclose(a), H5Dclose(b);
    }
    hid_t good = H5Dopen2(file, "frames/good", H5P_DEFAULT);
    hsize_t dims[3];
    ck_assert_int_eq(view_rank(good, dims), 3);
    H5Dclose(good);
    H5Fclose(file), H5Fclose(plain);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* Stage 2: selections, memory types, multi-dataset reads, refusals          */
/* ------------------------------------------------------------------------- */

typedef struct frame_fixture {
    vol_oracle oracle;
    const vol_oracle_entry *entry;
    unsigned char *expected; /* H x W x C uint8 */
    hid_t file, dataset;
} frame_fixture;

static void open_colour_frame(frame_fixture *f)
{
    vol_oracle_load(&f->oracle);
    f->entry = vol_oracle_find(&f->oracle, "renderme_sample.smc", "/Camera/25/color/1", "native");
    ck_assert(f->entry && f->entry->ok && f->entry->channels == 3);
    size_t size;
    f->expected = vol_oracle_pixels(&f->oracle, f->entry, &size);
    f->file = open_with(sample("renderme_sample.smc"), H5P_DEFAULT, H5F_ACC_RDONLY);
    f->dataset = H5Dopen2(f->file, f->entry->path, H5P_DEFAULT);
    ck_assert(f->dataset >= 0);
}

static void close_frame(frame_fixture *f)
{
    H5Dclose(f->dataset);
    H5Fclose(f->file);
    free(f->expected);
    vol_oracle_free(&f->oracle);
}

static unsigned char pixel(const frame_fixture *f, hsize_t y, hsize_t x, hsize_t c)
{
    return f->expected[(y * f->entry->width + x) * 3 + c];
}

/* Guards: a strided hyperslab of the file read into a hyperslab of a larger
 * memory buffer gives OpenCV's pixels there and leaves the rest alone. */
START_TEST(hyperslab_into_memory_hyperslab)
{
    frame_fixture f;
    open_colour_frame(&f);
    hid_t file_space = H5Dget_space(f.dataset);
    hsize_t start[3] = {10, 5, 1}, stride[3] = {2, 3, 1}, count[3] = {20, 15, 2};
    ck_assert(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, stride, count, NULL) >= 0);
    hsize_t mem_dims[3] = {22, 17, 2}, mem_start[3] = {1, 2, 0};
    hid_t mem_space = H5Screate_simple(3, mem_dims, NULL);
    ck_assert(H5Sselect_hyperslab(mem_space, H5S_SELECT_SET, mem_start, NULL, count, NULL) >= 0);
    unsigned char out[22][17][2];
    memset(out, 0x5a, sizeof out);
    ck_assert_msg(H5Dread(f.dataset, H5T_NATIVE_UINT8, mem_space, file_space, H5P_DEFAULT, out) >= 0, "%s",
                  vol_error_text());
    for (hsize_t y = 0; y < 22; y++)
        for (hsize_t x = 0; x < 17; x++)
            for (hsize_t c = 0; c < 2; c++) {
                int inside = y >= 1 && y < 21 && x >= 2 && x < 17;
                unsigned char want = inside ? pixel(&f, 10 + 2 * (y - 1), 5 + 3 * (x - 2), 1 + c) : 0x5a;
                ck_assert_msg(out[y][x][c] == want, "(%llu, %llu, %llu): %u, want %u", (unsigned long long)y,
                              (unsigned long long)x, (unsigned long long)c, out[y][x][c], want);
            }
    H5Sclose(mem_space);
    H5Sclose(file_space);
    close_frame(&f);
}
END_TEST

/* Guards: reading two frames row by row, interleaved (the connector keeps
 * the last frame decoded for partial reads), gives each frame's own rows. */
START_TEST(interleaved_row_reads)
{
    frame_fixture f;
    open_colour_frame(&f);
    const vol_oracle_entry *other_entry =
        vol_oracle_find(&f.oracle, "renderme_sample.smc", "/Camera/59/color/0", "native");
    size_t other_size;
    unsigned char *other_pixels = vol_oracle_pixels(&f.oracle, other_entry, &other_size);
    hid_t other = H5Dopen2(f.file, other_entry->path, H5P_DEFAULT);
    hid_t spaces[2] = {H5Dget_space(f.dataset), H5Dget_space(other)};
    hid_t datasets[2] = {f.dataset, other};
    const unsigned char *want[2] = {f.expected, other_pixels};
    hsize_t widths[2] = {f.entry->width, other_entry->width};
    hsize_t rows = f.entry->height < other_entry->height ? f.entry->height : other_entry->height;
    unsigned char row[4096 * 3];
    for (hsize_t y = 0; y < rows; y++) {
        for (int which = 0; which < 2; which++) {
            hsize_t start[3] = {y, 0, 0}, count[3] = {1, widths[which], 3};
            ck_assert(H5Sselect_hyperslab(spaces[which], H5S_SELECT_SET, start, NULL, count, NULL) >= 0);
            hid_t memory = H5Screate_simple(3, count, NULL);
            ck_assert(H5Dread(datasets[which], H5T_NATIVE_UINT8, memory, spaces[which], H5P_DEFAULT, row) >= 0);
            ck_assert_msg(memcmp(row, want[which] + y * widths[which] * 3, widths[which] * 3) == 0,
                          "row %llu of frame %d differs", (unsigned long long)y, which);
            H5Sclose(memory);
        }
    }
    H5Sclose(spaces[0]), H5Sclose(spaces[1]);
    H5Dclose(other);
    free(other_pixels);
    close_frame(&f);
}
END_TEST

/* Guards: a point selection is read in the order its points were given. */
START_TEST(points_in_given_order)
{
    frame_fixture f;
    open_colour_frame(&f);
    hid_t file_space = H5Dget_space(f.dataset);
    hsize_t coords[5][3] = {{100, 150, 2}, {0, 0, 0}, {57, 3, 1}, {0, 0, 0}, {f.entry->height - 1, 7, 2}};
    ck_assert(H5Sselect_elements(file_space, H5S_SELECT_SET, 5, &coords[0][0]) >= 0);
    hsize_t n = 5;
    hid_t mem_space = H5Screate_simple(1, &n, NULL);
    unsigned char out[5];
    ck_assert_msg(H5Dread(f.dataset, H5T_NATIVE_UINT8, mem_space, file_space, H5P_DEFAULT, out) >= 0, "%s",
                  vol_error_text());
    for (int i = 0; i < 5; i++) ck_assert_uint_eq(out[i], pixel(&f, coords[i][0], coords[i][1], coords[i][2]));
    H5Sclose(mem_space);
    H5Sclose(file_space);
    close_frame(&f);
}
END_TEST

/* Guards: memory types other than the view's are converted (float, uint16,
 * big-endian int32), whole frame and H5S_BLOCK alike. */
START_TEST(memory_type_conversion)
{
    frame_fixture f;
    open_colour_frame(&f);
    size_t n = (size_t)f.entry->height * f.entry->width * 3;
    float *as_float = malloc(n * sizeof *as_float);
    ck_assert(H5Dread(f.dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, as_float) >= 0);
    for (size_t i = 0; i < n; i++) ck_assert_msg(as_float[i] == (float)f.expected[i], "float %zu", i);
    uint16_t *as_u16 = malloc(n * sizeof *as_u16);
    ck_assert(H5Dread(f.dataset, H5T_NATIVE_UINT16, H5S_BLOCK, H5S_ALL, H5P_DEFAULT, as_u16) >= 0);
    for (size_t i = 0; i < n; i++) ck_assert_msg(as_u16[i] == f.expected[i], "uint16 %zu", i);
    unsigned char *be32 = malloc(n * 4);
    ck_assert(H5Dread(f.dataset, H5T_STD_I32BE, H5S_ALL, H5S_ALL, H5P_DEFAULT, be32) >= 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(be32[4 * i] == 0 && be32[4 * i + 1] == 0 && be32[4 * i + 2] == 0 && be32[4 * i + 3] == f.expected[i],
                      "int32be %zu", i);
    free(as_float), free(as_u16), free(be32);
    /* A memory type HDF5 cannot convert to is an error, not garbage. */
    hid_t compound = H5Tcreate(H5T_COMPOUND, 8);
    H5Tinsert(compound, "x", 0, H5T_NATIVE_DOUBLE);
    void *junk = malloc(n * 8);
    herr_t status;
    H5E_BEGIN_TRY { status = H5Dread(f.dataset, compound, H5S_ALL, H5S_ALL, H5P_DEFAULT, junk); }
    H5E_END_TRY
    ck_assert_int_lt(status, 0);
    free(junk);
    H5Tclose(compound);
    close_frame(&f);
}
END_TEST

/* Guards: mismatched selection sizes and a dataspace of another shape are refused. */
START_TEST(bad_selections_refused)
{
    frame_fixture f;
    open_colour_frame(&f);
    hsize_t n = 10, other[2] = {4, 4};
    hid_t small = H5Screate_simple(1, &n, NULL), wrong_shape = H5Screate_simple(2, other, NULL);
    unsigned char buf[64];
    herr_t status;
    H5E_BEGIN_TRY { status = H5Dread(f.dataset, H5T_NATIVE_UINT8, small, H5S_ALL, H5P_DEFAULT, buf); }
    H5E_END_TRY
    ck_assert_int_lt(status, 0);
    H5E_BEGIN_TRY { status = H5Dread(f.dataset, H5T_NATIVE_UINT8, wrong_shape, wrong_shape, H5P_DEFAULT, buf); }
    H5E_END_TRY
    ck_assert_int_lt(status, 0);
    H5Sclose(small), H5Sclose(wrong_shape);
    close_frame(&f);
}
END_TEST

/* Guards: one H5Dread_multi mixing plain and decoded datasets fills each
 * caller buffer with its own dataset's data, in the caller's order. */
START_TEST(read_multi_mixed)
{
    vol_oracle oracle;
    vol_oracle_load(&oracle);
    hid_t file = open_with(sample("renderme_sample.smc"), H5P_DEFAULT, H5F_ACC_RDONLY);
    hid_t plain = open_plain(sample("renderme_sample.smc"));
    const char *paths[4] = {"/Calibration/00/K", "/Camera/00/mask/1", "/Keypoints3d/0", "/Camera/59/color/2"};
    hid_t ids[4], types[4], mems[4] = {H5S_ALL, H5S_ALL, H5S_ALL, H5S_ALL}, files[4] = {H5S_ALL, H5S_ALL, H5S_ALL, H5S_ALL};
    void *bufs[4];
    size_t sizes[4];
    double k[9], keypoints[73 * 3];
    for (int i = 0; i < 4; i++) ids[i] = H5Dopen2(file, paths[i], H5P_DEFAULT);
    const vol_oracle_entry *mask = vol_oracle_find(&oracle, "renderme_sample.smc", paths[1], "mask");
    const vol_oracle_entry *colour = vol_oracle_find(&oracle, "renderme_sample.smc", paths[3], "native");
    void *want_mask = vol_oracle_pixels(&oracle, mask, &sizes[1]);
    void *want_colour = vol_oracle_pixels(&oracle, colour, &sizes[3]);
    types[0] = types[2] = H5T_NATIVE_DOUBLE;
    types[1] = types[3] = H5T_NATIVE_UINT8;
    bufs[0] = k, bufs[2] = keypoints;
    bufs[1] = malloc(sizes[1]), bufs[3] = malloc(sizes[3]);
    ck_assert_msg(H5Dread_multi(4, ids, types, mems, files, H5P_DEFAULT, bufs) >= 0, "%s", vol_error_text());
    ck_assert(memcmp(bufs[1], want_mask, sizes[1]) == 0);
    ck_assert(memcmp(bufs[3], want_colour, sizes[3]) == 0);
    double k_plain[9], keypoints_plain[73 * 3];
    hid_t a = H5Dopen2(plain, paths[0], H5P_DEFAULT), b = H5Dopen2(plain, paths[2], H5P_DEFAULT);
    ck_assert(H5Dread(a, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, k_plain) >= 0);
    ck_assert(H5Dread(b, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, keypoints_plain) >= 0);
    ck_assert(memcmp(k, k_plain, sizeof k) == 0);
    ck_assert(memcmp(keypoints, keypoints_plain, sizeof keypoints) == 0);
    H5Dclose(a), H5Dclose(b);
    for (int i = 0; i < 4; i++) H5Dclose(ids[i]);
    free(bufs[1]), free(bufs[3]), free(want_mask), free(want_colour);
    H5Fclose(file), H5Fclose(plain);
    vol_oracle_free(&oracle);
}
END_TEST

/* Guards: writes to a decoded view (H5Dwrite, a multi-dataset write that
 * also names a plain dataset, H5Dset_extent, H5Dwrite_chunk) are refused
 * with a clear error, and change nothing: not the frame, not the other dataset. */
START_TEST(writes_refused)
{
    const char *copy_path = vol_path(vol_env("H5IMG_TEST_DIR"), "writes.smc");
    char path[2048];
    snprintf(path, sizeof path, "%s", copy_path);
    vol_copy_file(sample("renderme_sample.smc"), path);
    hid_t file = open_with(path, H5P_DEFAULT, H5F_ACC_RDWR);
    hid_t frame = H5Dopen2(file, "/Camera/00/color/1", H5P_DEFAULT);
    hid_t k = H5Dopen2(file, "/Calibration/00/K", H5P_DEFAULT);
    static unsigned char pixels[134 * 160 * 3];
    double nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ck_assert_int_lt(H5Dwrite(frame, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels), 0);
    ck_assert_msg(strstr(vol_error_text(), "writing refused: the dataset is a read-only decoded view") != NULL,
                  "error stack: %s", vol_error_text());
    hid_t ids[2] = {k, frame}, types[2] = {H5T_NATIVE_DOUBLE, H5T_NATIVE_UINT8}, all[2] = {H5S_ALL, H5S_ALL};
    const void *bufs[2] = {nine, pixels};
    ck_assert_int_lt(H5Dwrite_multi(2, ids, types, all, all, H5P_DEFAULT, bufs), 0);
    hsize_t bigger[3] = {200, 200, 3};
    ck_assert_int_lt(H5Dset_extent(frame, bigger), 0);
    hsize_t origin[3] = {0, 0, 0};
    ck_assert_int_lt(H5Dwrite_chunk(frame, H5P_DEFAULT, 0, origin, 4, "junk"), 0);
    H5Dclose(frame), H5Dclose(k);
    H5Fclose(file);
    /* The stored bytes of both, through the native connector: as before. */
    hid_t native_fapl = vol_native_fapl();
    hid_t before = open_with(sample("renderme_sample.smc"), native_fapl, H5F_ACC_RDONLY);
    hid_t after = open_with(path, native_fapl, H5F_ACC_RDONLY);
    const char *checked[2] = {"/Camera/00/color/1", "/Calibration/00/K"};
    for (int i = 0; i < 2; i++) {
        hid_t a = H5Dopen2(before, checked[i], H5P_DEFAULT), b = H5Dopen2(after, checked[i], H5P_DEFAULT);
        size_t na, nb;
        void *va = read_value(a, 0, &na), *vb = read_value(b, 0, &nb);
        ck_assert_msg(na == nb && memcmp(va, vb, na) == 0, "%s changed", checked[i]);
        free(va), free(vb);
        H5Dclose(a), H5Dclose(b);
    }
    H5Fclose(before), H5Fclose(after);
    H5Pclose(native_fapl);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* Stage 3: the info string                                                  */
/* ------------------------------------------------------------------------- */

/* Guards: the usual "under_vol=0;under_info={}" form works, and
 * rules=PATTERN:RULE overrides the default rule (last match wins; "keep"
 * leaves frames as bytes), checked against OpenCV under that rule. */
START_TEST(rules_override)
{
    vol_oracle oracle;
    vol_oracle_load(&oracle);
    hid_t plain_info = vol_h5img_fapl("under_vol=0;under_info={}");
    hid_t file = open_with(sample("renderme_sample.smc"), plain_info, H5F_ACC_RDONLY);
    check_frame(file, &oracle, vol_oracle_find(&oracle, "renderme_sample.smc", "/Camera/00/mask/0", "mask"), 0);
    H5Fclose(file);
    hid_t ruled = vol_h5img_fapl("under_vol=0;under_info={};rules=Camera/*/color/*:luma,Camera/59/color/*:color,"
                                 "Camera/*/mask/2:keep,UV_texture/*:mask");
    file = open_with(sample("renderme_sample.smc"), ruled, H5F_ACC_RDONLY);
    check_frame(file, &oracle, vol_oracle_find(&oracle, "renderme_sample.smc", "/Camera/00/color/1", "luma"), 0);
    check_frame(file, &oracle, vol_oracle_find(&oracle, "renderme_sample.smc", "/Camera/59/color/1", "color"), 0);
    check_frame(file, &oracle, vol_oracle_find(&oracle, "renderme_sample.smc", "/UV_texture/0", "mask"), 0);
    check_frame(file, &oracle, vol_oracle_find(&oracle, "renderme_sample.smc", "/Camera/25/mask/0", "mask"), 0);
    hid_t kept = H5Dopen2(file, "/Camera/25/mask/2", H5P_DEFAULT);
    hsize_t dims[3];
    ck_assert_int_eq(view_rank(kept, dims), 1);
    H5Dclose(kept);
    H5Fclose(file);
    H5Pclose(plain_info), H5Pclose(ruled);
    /* A rule that does not parse is refused when the info is made. */
    hid_t connector = H5VLregister_connector_by_name("h5img", H5P_DEFAULT);
    void *info = NULL;
    herr_t status;
    H5E_BEGIN_TRY { status = H5VLconnector_str_to_info("rules=Camera/*:sharpen", connector, &info); }
    H5E_END_TRY
    ck_assert_int_lt(status, 0);
    H5VLclose(connector);
    vol_oracle_free(&oracle);
}
END_TEST

static Suite *vol_suite(void)
{
    Suite *suite = suite_create("vol");
    TCase *view = tcase_create("view");
    tcase_set_timeout(view, 120);
    tcase_add_test(view, env_selects_connector);
    tcase_add_test(view, samples_match_opencv);
    tcase_add_test(view, undecodable_sample_stays_bytes);
    tcase_add_test(view, view_dcpl_and_storage);
    tcase_add_test(view, non_images_unchanged);
    tcase_add_test(view, file_bytes_unchanged);
    tcase_add_test(view, cut_frame_is_read_error);
    tcase_add_test(view, lookalikes_stay_bytes);
    suite_add_tcase(suite, view);
    TCase *io = tcase_create("io");
    tcase_set_timeout(io, 120);
    tcase_add_test(io, hyperslab_into_memory_hyperslab);
    tcase_add_test(io, points_in_given_order);
    tcase_add_test(io, interleaved_row_reads);
    tcase_add_test(io, memory_type_conversion);
    tcase_add_test(io, bad_selections_refused);
    tcase_add_test(io, read_multi_mixed);
    tcase_add_test(io, writes_refused);
    tcase_add_test(io, rules_override);
    suite_add_tcase(suite, io);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(vol_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
