/* dump_scan.c: walking an HDF5 file's datasets, probing legacy frames' headers, natural path order. */
#include "dump.h"
#include "hdf5/image_detect.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct walk {
    dump_dataset_fn fn;
    void *user;
};

static herr_t visit_object(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    struct walk *w = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    return w->fn(w->user, name);
}

int dump_walk(hid_t file, dump_dataset_fn fn, void *user)
{
    struct walk w = {fn, user};
    /* H5Ovisit2 asks for only the basic info (type), which is all we need:
     * the other fields cost a header read per object. */
    herr_t result = H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, visit_object, &w, H5O_INFO_BASIC);
    return (int)result;
}

/* Read the first `count` bytes of a 1-D dataset. */
static int read_prefix(hid_t dataset, unsigned char *buffer, hsize_t count)
{
    hid_t file_space = H5Dget_space(dataset);
    hid_t memory_space = H5Screate_simple(1, &count, NULL);
    hsize_t start = 0;
    int ok = file_space >= 0 && memory_space >= 0 &&
             H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, NULL, &count, NULL) >= 0 &&
             H5Dread(dataset, H5T_NATIVE_UCHAR, memory_space, file_space, H5P_DEFAULT, buffer) >= 0;
    if (memory_space >= 0) H5Sclose(memory_space);
    if (file_space >= 0) H5Sclose(file_space);
    return ok;
}

/* The shared detector's facts about the dataset, from HDF5. */
static int is_candidate(hid_t dataset)
{
    hid_t type = H5Dget_type(dataset);
    hid_t space = H5Dget_space(dataset);
    h5img_frame_shape shape = {0};
    if (type >= 0 && space >= 0) {
        hssize_t points = H5Sget_simple_extent_npoints(space);
        shape.integer_class = H5Tget_class(type) == H5T_INTEGER;
        shape.type_size = H5Tget_size(type);
        shape.is_unsigned = H5Tget_sign(type) == H5T_SGN_NONE;
        shape.simple = H5Sget_simple_extent_type(space) == H5S_SIMPLE;
        shape.rank = H5Sget_simple_extent_ndims(space);
        shape.points = points > 0 ? (uint64_t)points : 0;
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    return h5img_frame_is_candidate(&shape);
}

h5img_codec dump_probe_legacy(hid_t dataset, const h5img_dataset_desc *desc, h5img_info *info,
                              h5img_status *probe_status)
{
    /* The prefix grows (h5img_frame_next_prefix) until the header parses or
     * the data ends: JPEGs with big EXIF/ICC segments need more than most. */
    uint64_t total = desc->dims[0];
    unsigned char *buffer = NULL;
    h5img_codec codec = H5IMG_CODEC_UNKNOWN;
    h5img_info scratch;
    h5img_layout layout;
    *probe_status = H5IMG_E_UNKNOWN_FORMAT;
    if (!is_candidate(dataset)) return codec;
    for (size_t want = h5img_frame_next_prefix(total, 0); want; want = h5img_frame_next_prefix(total, want)) {
        unsigned char *grown = realloc(buffer, want);
        if (!grown) break;
        buffer = grown;
        if (!read_prefix(dataset, buffer, want)) {
            *probe_status = H5IMG_E_HDF5;
            break;
        }
        h5img_status status;
        h5img_frame_verdict verdict =
            h5img_frame_examine(buffer, want, total, H5IMG_RULE_NATIVE, 0, info ? info : &scratch, &layout, &status);
        if (verdict == H5IMG_FRAME_NOT_IMAGE) break;
        codec = h5img_detect(buffer, want);
        /* The summary reports the header, whatever a rule would make of it. */
        *probe_status = verdict == H5IMG_FRAME_UNPARSEABLE ? status : H5IMG_OK;
        if (verdict != H5IMG_FRAME_NEED_MORE || !info) break;
        *probe_status = H5IMG_E_TRUNCATED;
    }
    free(buffer);
    return codec;
}

/* Compare two runs of digits by value, then by length (so "007" > "7"). */
static int compare_numbers(const char **pa, const char **pb)
{
    const char *a = *pa, *b = *pb;
    while (*a == '0' && isdigit((unsigned char)a[1])) a++;
    while (*b == '0' && isdigit((unsigned char)b[1])) b++;
    size_t la = 0, lb = 0;
    while (isdigit((unsigned char)a[la])) la++;
    while (isdigit((unsigned char)b[lb])) lb++;
    int result = la != lb ? (la < lb ? -1 : 1) : memcmp(a, b, la);
    *pa = a + la;
    *pb = b + lb;
    return result;
}

int dump_natural_compare(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            const char *sa = a, *sb = b;
            int c = compare_numbers(&a, &b);
            if (c) return c;
            if ((a - sa) != (b - sb)) return (a - sa) < (b - sb) ? -1 : 1;
            continue;
        }
        if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++, b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int compare_entries(const void *pa, const void *pb)
{
    return dump_natural_compare(*(char *const *)pa, *(char *const *)pb);
}

void dump_sort_paths(char **paths, size_t count)
{
    qsort(paths, count, sizeof *paths, compare_entries);
}
