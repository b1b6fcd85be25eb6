/* repack_walk.c: walk IN's groups and links, recreate them in OUT, and hand datasets to the frame code. */
#include "repack.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Link names of one group, collected first so the copy never runs inside an
 * HDF5 iteration callback (errors then unwind through plain returns). */
struct name_list {
    char **names;
    size_t count;
    size_t capacity;
};

static int copy_group_contents(struct repack_ctx *ctx, hid_t src, hid_t dst, const char *path);

static herr_t collect_name(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    struct name_list *list = data;
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 64;
        char **grown = realloc(list->names, capacity * sizeof *grown);
        if (!grown) return -1;
        list->names = grown;
        list->capacity = capacity;
    }
    list->names[list->count] = strdup(name);
    return list->names[list->count++] ? 0 : -1;
}

static void free_names(struct name_list *list)
{
    for (size_t i = 0; i < list->count; i++) free(list->names[i]);
    free(list->names);
}

/* Creation order is kept when the group indexes it; otherwise name order,
 * which is what h5py and h5dump show anyway. */
static H5_index_t link_index(hid_t group)
{
    unsigned flags = 0;
    hid_t gcpl = H5Gget_create_plist(group);
    if (gcpl >= 0) {
        if (H5Pget_link_creation_order(gcpl, &flags) < 0) flags = 0;
        H5Pclose(gcpl);
    }
    return (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
}

static char *join_path(const char *parent, const char *name)
{
    size_t parent_len = strlen(parent);
    int root = parent_len == 1 && parent[0] == '/';
    char *path = malloc(parent_len + strlen(name) + 2);
    if (path) sprintf(path, "%s/%s", root ? "" : parent, name);
    return path;
}

/* ------------------------------------------------------------------------- */
/* Hard links                                                                */
/* ------------------------------------------------------------------------- */

static const char *seen_path(const struct repack_ctx *ctx, haddr_t addr)
{
    for (size_t i = 0; i < ctx->seen_count; i++)
        if (ctx->seen[i].addr == addr) return ctx->seen[i].out_path;
    return NULL;
}

static int remember(struct repack_ctx *ctx, haddr_t addr, const char *out_path)
{
    if (ctx->seen_count == ctx->seen_capacity) {
        size_t capacity = ctx->seen_capacity ? ctx->seen_capacity * 2 : 32;
        struct repack_seen *grown = realloc(ctx->seen, capacity * sizeof *grown);
        if (!grown) return -1;
        ctx->seen = grown;
        ctx->seen_capacity = capacity;
    }
    ctx->seen[ctx->seen_count].addr = addr;
    ctx->seen[ctx->seen_count].out_path = strdup(out_path);
    return ctx->seen[ctx->seen_count++].out_path ? 0 : -1;
}

/* ------------------------------------------------------------------------- */
/* Links that are not objects of their own                                   */
/* ------------------------------------------------------------------------- */

static int copy_soft_link(hid_t src, hid_t dst, const char *name, const H5L_info_t *info, hid_t lcpl)
{
    char *target = malloc(info->u.val_size + 1);
    int rc = -1;
    if (target && H5Lget_val(src, name, target, info->u.val_size + 1, H5P_DEFAULT) >= 0)
        rc = H5Lcreate_soft(target, dst, name, lcpl, H5P_DEFAULT) < 0 ? -1 : 0;
    free(target);
    return rc;
}

static int copy_external_link(hid_t src, hid_t dst, const char *name, const H5L_info_t *info, hid_t lcpl)
{
    char *value = malloc(info->u.val_size);
    const char *file = NULL, *object = NULL;
    unsigned flags = 0;
    int rc = -1;
    if (value && H5Lget_val(src, name, value, info->u.val_size, H5P_DEFAULT) >= 0 &&
        H5Lunpack_elink_val(value, info->u.val_size, &flags, &file, &object) >= 0)
        rc = H5Lcreate_external(file, object, dst, name, lcpl, H5P_DEFAULT) < 0 ? -1 : 0;
    free(value);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Objects                                                                   */
/* ------------------------------------------------------------------------- */

static int copy_group(struct repack_ctx *ctx, hid_t src, hid_t dst, const char *name, const char *path, hid_t lcpl)
{
    hid_t src_group = H5Gopen2(src, name, H5P_DEFAULT);
    hid_t gcpl = src_group >= 0 ? H5Gget_create_plist(src_group) : -1;
    hid_t dst_group = gcpl >= 0 ? H5Gcreate2(dst, name, lcpl, gcpl, H5P_DEFAULT) : -1;
    int rc = -1;
    if (dst_group >= 0) {
        ctx->stats.groups++;
        tool_verbose("%s/", path);
        rc = repack_copy_attributes(ctx, src_group, dst_group, NULL, NULL);
        if (rc == 0) rc = copy_group_contents(ctx, src_group, dst_group, path);
    } else {
        tool_error("%s: cannot create the group", path);
    }
    if (dst_group >= 0) H5Gclose(dst_group);
    if (gcpl >= 0) H5Pclose(gcpl);
    if (src_group >= 0) H5Gclose(src_group);
    return rc;
}

static int copy_dataset(struct repack_ctx *ctx, hid_t src, hid_t dst, const char *name, const char *path, hid_t lcpl)
{
    enum repack_outcome outcome = ctx->opt->unpack ? repack_restore_frame(ctx, src, dst, name, path, lcpl)
                                                   : repack_convert_frame(ctx, src, dst, name, path, lcpl);
    if (outcome == REPACK_FAILED) return -1;
    if (outcome != REPACK_NOT_FRAME) return 0;
    if (repack_copy_dataset(ctx, src, dst, name, path, lcpl) < 0) return -1;
    ctx->stats.copied++;
    tool_verbose("%s: copied as it is", path);
    return 0;
}

static int copy_object(struct repack_ctx *ctx, hid_t src, hid_t dst, const char *name, const char *path,
                       const H5L_info_t *link, hid_t lcpl)
{
    const char *first = seen_path(ctx, link->u.address);
    if (first) {
        ctx->stats.links++;
        tool_verbose("%s: hard link to %s", path, first);
        return H5Lcreate_hard(ctx->out, first, dst, name, lcpl, H5P_DEFAULT) < 0 ? -1 : 0;
    }
    H5O_info_t info;
    if (H5Oget_info_by_name2(src, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        tool_error("%s: cannot inspect the object", path);
        return -1;
    }
    /* Only objects with several links can be met again. */
    if (info.rc > 1 && remember(ctx, link->u.address, path) < 0) return -1;
    switch (info.type) {
    case H5O_TYPE_GROUP: return copy_group(ctx, src, dst, name, path, lcpl);
    case H5O_TYPE_DATASET: return copy_dataset(ctx, src, dst, name, path, lcpl);
    case H5O_TYPE_NAMED_DATATYPE: return repack_copy_named_type(ctx, src, dst, name, path, lcpl);
    default:
        ctx->stats.copied++;
        return H5Ocopy(src, name, dst, name, H5P_DEFAULT, lcpl) < 0 ? -1 : 0;
    }
}

static int copy_link(struct repack_ctx *ctx, hid_t src, hid_t dst, const char *name, const char *path)
{
    H5L_info_t info;
    if (H5Lget_info(src, name, &info, H5P_DEFAULT) < 0) {
        tool_error("%s: cannot read the link", path);
        return -1;
    }
    /* Link names keep their character set (h5py writes UTF-8). */
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl < 0 || H5Pset_char_encoding(lcpl, info.cset) < 0) return -1;
    int rc;
    switch (info.type) {
    case H5L_TYPE_HARD: rc = copy_object(ctx, src, dst, name, path, &info, lcpl); break;
    case H5L_TYPE_SOFT:
        ctx->stats.links++;
        rc = copy_soft_link(src, dst, name, &info, lcpl);
        break;
    case H5L_TYPE_EXTERNAL:
        ctx->stats.links++;
        rc = copy_external_link(src, dst, name, &info, lcpl);
        break;
    default:
        tool_error("%s: user-defined link type %d cannot be copied", path, (int)info.type);
        rc = -1;
    }
    H5Pclose(lcpl);
    if (rc < 0 && info.type != H5L_TYPE_HARD) tool_error("%s: cannot copy the link", path);
    return rc;
}

static int copy_group_contents(struct repack_ctx *ctx, hid_t src, hid_t dst, const char *path)
{
    struct name_list list = {0};
    hsize_t index = 0;
    int rc = H5Literate(src, link_index(src), H5_ITER_INC, &index, collect_name, &list) < 0 ? -1 : 0;
    if (rc < 0) tool_error("%s: cannot list the group", path);
    for (size_t i = 0; rc == 0 && i < list.count; i++) {
        /* A copy of frame bytes that failed on the copier thread stops the walk here (repack_vfd.c). */
        if (repack_output_failed(ctx)) {
            rc = -1;
            break;
        }
        char *child = join_path(path, list.names[i]);
        rc = child ? copy_link(ctx, src, dst, list.names[i], child) : -1;
        free(child);
    }
    free_names(&list);
    return rc;
}

int repack_walk(struct repack_ctx *ctx)
{
    hid_t src = H5Gopen2(ctx->in, "/", H5P_DEFAULT);
    hid_t dst = H5Gopen2(ctx->out, "/", H5P_DEFAULT);
    int rc = -1;
    /* A hard link back to the root must become a link to OUT's root, not a
     * second copy of the whole tree. */
    H5O_info_t root;
    if (src >= 0 && H5Oget_info2(src, &root, H5O_INFO_BASIC) >= 0 && root.rc > 1 && remember(ctx, root.addr, "/") < 0)
        src = (H5Gclose(src), -1);
    if (src >= 0 && dst >= 0) {
        rc = repack_copy_attributes(ctx, src, dst, NULL, NULL);
        if (rc < 0) tool_error("/: cannot copy the root group's attributes");
        if (rc == 0) rc = copy_group_contents(ctx, src, dst, "/");
    }
    repack_types_close(ctx);
    if (dst >= 0) H5Gclose(dst);
    if (src >= 0) H5Gclose(src);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Counting, for the progress line                                           */
/* ------------------------------------------------------------------------- */

struct counter {
    int unpack;
    uint64_t count;
};

static herr_t count_visitor(hid_t root, const char *name, const H5O_info_t *info, void *data)
{
    struct counter *counter = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    hid_t dataset = H5Dopen2(root, name, H5P_DEFAULT);
    if (dataset < 0) return 0;
    if (counter->unpack ? repack_is_converted(dataset) : repack_looks_encoded(dataset)) counter->count++;
    H5Dclose(dataset);
    return 0;
}

uint64_t repack_count_candidates(hid_t file, int unpack)
{
    struct counter counter = {unpack, 0};
    if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, count_visitor, &counter, H5O_INFO_BASIC) < 0) return 0;
    return counter.count;
}

/* ------------------------------------------------------------------------- */
/* Object references, which this tool cannot carry over                      */
/* ------------------------------------------------------------------------- */

/* A reference holds its target's address in IN; objects land elsewhere in
 * OUT, and neither attribute copies nor H5Ocopy of single objects remap
 * them (HDF5 nulls them or keeps IN's address), so a repack would break
 * every one, dimension scales included. Better to refuse the file. The
 * check is one pass of its own before anything is written, rather than a
 * test beside each of the copy paths (attribute copies and three H5Ocopy
 * calls): it costs a metadata walk, 5-6 ms of a 68 ms --no-sync repack of
 * the benchmark's 143 MB file (8 interleaved pairs, medians 68.5 and 74). */
struct reference_search {
    const char *object;
    char *where;
    size_t where_size;
    hsize_t largest_attribute; /* bytes of data, for the output's file format */
};

static int holds_references(hid_t type)
{
    return type >= 0 && H5Tdetect_class(type, H5T_REFERENCE) > 0;
}

static herr_t attribute_has_references(hid_t location, const char *name, const H5A_info_t *info, void *data)
{
    struct reference_search *search = data;
    if (info && info->data_size > search->largest_attribute) search->largest_attribute = info->data_size;
    hid_t attr = H5Aopen(location, name, H5P_DEFAULT);
    hid_t type = attr >= 0 ? H5Aget_type(attr) : -1;
    int found = holds_references(type);
    if (type >= 0) H5Tclose(type);
    if (attr >= 0) H5Aclose(attr);
    if (found) snprintf(search->where, search->where_size, "%s, attribute '%s'", search->object, name);
    return found ? 1 : 0;
}

static herr_t object_has_references(hid_t root, const char *name, const H5O_info_t *info, void *data)
{
    struct reference_search *search = data;
    char path[1024];
    snprintf(path, sizeof path, "/%s", strcmp(name, ".") == 0 ? "" : name);
    search->object = path;
    hid_t object = H5Oopen(root, name, H5P_DEFAULT);
    if (object < 0) return 0; /* the walk itself will say what cannot be opened */
    int found = 0;
    if (info->type == H5O_TYPE_DATASET) {
        hid_t type = H5Dget_type(object);
        if ((found = holds_references(type))) snprintf(search->where, search->where_size, "%s, its data", path);
        if (type >= 0) H5Tclose(type);
    }
    if (!found && info->num_attrs > 0) {
        hsize_t index = 0;
        found = H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, attribute_has_references, search) > 0;
    }
    H5Oclose(object);
    return found ? 1 : 0;
}

int repack_find_references(hid_t file, char *where, size_t where_size, hsize_t *largest_attribute)
{
    struct reference_search search = {NULL, where, where_size, 0};
    herr_t rc = H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, object_has_references, &search,
                          H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS);
    if (largest_attribute) *largest_attribute = search.largest_attribute;
    return rc < 0 ? -1 : rc > 0;
}
