/* dump_scan.c: walking an HDF5 file's datasets, probing legacy frames' headers, natural path order. */
#include "dump.h"
#include "frame_candidate.h"
#include "hdf5/image_detect.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* One hard link to a dataset, in the order the walk met it. */
struct dataset_link {
    haddr_t address;
    size_t order;
    char *path;
};

struct link_list {
    struct dataset_link *links;
    size_t count, capacity;
};

static herr_t visit_link(hid_t root, const char *name, const H5L_info_t *info, void *data)
{
    struct link_list *list = data;
    if (info->type != H5L_TYPE_HARD) return 0;
    H5O_info_t object;
    if (H5Oget_info_by_name2(root, name, &object, H5O_INFO_BASIC, H5P_DEFAULT) < 0 || object.type != H5O_TYPE_DATASET)
        return 0;
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 256;
        struct dataset_link *grown = realloc(list->links, capacity * sizeof *grown);
        if (!grown) return -1;
        list->links = grown;
        list->capacity = capacity;
    }
    struct dataset_link *link = &list->links[list->count];
    link->address = info->u.address;
    link->order = list->count;
    if (!(link->path = strdup(name))) return -1;
    list->count++;
    return 0;
}

static int compare_address_then_order(const void *pa, const void *pb)
{
    const struct dataset_link *a = pa, *b = pb;
    if (a->address != b->address) return a->address < b->address ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order);
}

static int compare_first_order(const void *pa, const void *pb)
{
    const struct dataset_link *a = *(struct dataset_link *const *)pa, *b = *(struct dataset_link *const *)pb;
    return (a->order > b->order) - (a->order < b->order);
}

/* Links are gathered first and grouped by object, because H5Ovisit gives
 * each object only the first of its names, and --select must see them all. */
int dump_walk_names(hid_t file, dump_object_fn fn, void *user)
{
    struct link_list list = {NULL, 0, 0};
    herr_t visited = H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, visit_link, &list);
    int result = visited < 0 ? -1 : 0;
    struct dataset_link **firsts = NULL;
    const char **names = NULL;
    size_t objects = 0;
    if (result == 0 && list.count) {
        qsort(list.links, list.count, sizeof *list.links, compare_address_then_order);
        firsts = malloc(list.count * sizeof *firsts);
        names = malloc((list.count + 1) * sizeof *names);
        if (!firsts || !names) result = -1;
        for (size_t i = 0; result == 0 && i < list.count; i++)
            if (i == 0 || list.links[i].address != list.links[i - 1].address) firsts[objects++] = &list.links[i];
        /* Objects in the order the walk met them: name order, as before. */
        if (result == 0) qsort(firsts, objects, sizeof *firsts, compare_first_order);
    }
    const struct dataset_link *end = list.links + list.count;
    for (size_t i = 0; result == 0 && i < objects; i++) {
        size_t count = 0;
        for (const struct dataset_link *l = firsts[i]; l < end && l->address == firsts[i]->address; l++)
            names[count++] = l->path;
        names[count] = NULL;
        result = fn(user, names, count);
    }
    for (size_t i = 0; i < list.count; i++) free(list.links[i].path);
    free(list.links);
    free(firsts);
    free(names);
    return result;
}

struct first_name {
    dump_dataset_fn fn;
    void *user;
};

static int call_with_first_name(void *user, const char *const *names, size_t count)
{
    (void)count;
    const struct first_name *f = user;
    return f->fn(f->user, names[0]);
}

int dump_walk(hid_t file, dump_dataset_fn fn, void *user)
{
    struct first_name f = {fn, user};
    return dump_walk_names(file, call_with_first_name, &f);
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
    if (!tool_frame_is_candidate(dataset)) return codec;
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
