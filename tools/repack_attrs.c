/* repack_attrs.c: copy attributes between files, and read/write the small string attributes repack adds. */
#include "repack.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct attr_copy {
    struct repack_ctx *ctx;
    hid_t dst;
    const char *const *skip;
    const char *skip_csv;
    int failed;
};

static int name_in_list(const char *name, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0) return 1;
    return 0;
}

static int name_in_csv(const char *name, const char *csv)
{
    size_t len = strlen(name);
    for (const char *p = csv; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t item = comma ? (size_t)(comma - p) : strlen(p);
        if (item == len && strncmp(p, name, len) == 0) return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* The attribute's type, detached from the source file (a committed datatype
 * of IN cannot be used in OUT), for reading and writing; *stored_type is
 * OUT's committed type when IN's is committed, else the detached copy. */
static hid_t transient_type(struct repack_ctx *ctx, hid_t attr, const char *name, hid_t *stored_type)
{
    hid_t stored = H5Aget_type(attr);
    if (stored < 0) return -1;
    hid_t copy = H5Tcopy(stored);
    hid_t committed = -1;
    char label[300];
    snprintf(label, sizeof label, "attribute '%s'", name);
    int rc = copy >= 0 ? repack_output_type(ctx, stored, label, &committed) : -1;
    H5Tclose(stored);
    if (rc < 0 && copy >= 0) copy = (H5Tclose(copy), -1);
    *stored_type = committed >= 0 ? committed : copy;
    return copy;
}

static int copy_one_attribute(struct repack_ctx *ctx, hid_t src_attr, hid_t dst, const char *name, H5T_cset_t cset)
{
    int rc = -1;
    hid_t stored = -1;
    hid_t type = transient_type(ctx, src_attr, name, &stored);
    hid_t space = H5Aget_space(src_attr);
    hid_t acpl = H5Pcreate(H5P_ATTRIBUTE_CREATE);
    hid_t dst_attr = -1;
    void *buf = NULL;
    if (type < 0 || space < 0 || acpl < 0 || H5Pset_char_encoding(acpl, cset) < 0) goto done;
    dst_attr = H5Acreate2(dst, name, stored, space, acpl, H5P_DEFAULT);
    if (dst_attr < 0) goto done;
    hssize_t points = H5Sget_simple_extent_npoints(space);
    size_t size = H5Tget_size(type);
    if (points <= 0 || size == 0) { /* null or empty dataspace: nothing to carry */
        rc = 0;
        goto done;
    }
    buf = calloc((size_t)points, size);
    if (!buf) goto done;
    if (H5Aread(src_attr, type, buf) < 0) goto done;
    rc = H5Awrite(dst_attr, type, buf) < 0 ? -1 : 0;
    /* Variable-length members were allocated by the read; a no-op otherwise. */
    H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
done:
    free(buf);
    if (dst_attr >= 0) H5Aclose(dst_attr);
    if (acpl >= 0) H5Pclose(acpl);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    return rc;
}

static herr_t attribute_visitor(hid_t location, const char *name, const H5A_info_t *info, void *data)
{
    struct attr_copy *copy = data;
    if (name_in_list(name, copy->skip) || name_in_csv(name, copy->skip_csv)) return 0;
    hid_t attr = H5Aopen(location, name, H5P_DEFAULT);
    if (attr < 0 || copy_one_attribute(copy->ctx, attr, copy->dst, name, info->cset) < 0) {
        char object[1024];
        ssize_t length = H5Iget_name(location, object, sizeof object);
        tool_error("%s: cannot copy attribute '%s'", length > 0 ? object : "(an object without a name)", name);
        copy->failed = 1;
    }
    if (attr >= 0) H5Aclose(attr);
    return copy->failed ? -1 : 0;
}

/* Creation order is only iterable when the object indexes it. */
static H5_index_t attribute_index(hid_t obj)
{
    unsigned flags = 0;
    hid_t ocpl = -1;
    H5I_type_t kind = H5Iget_type(obj);
    if (kind == H5I_DATASET) ocpl = H5Dget_create_plist(obj);
    else if (kind == H5I_GROUP) ocpl = H5Gget_create_plist(obj);
    else if (kind == H5I_DATATYPE) ocpl = H5Tget_create_plist(obj);
    if (ocpl >= 0) {
        if (H5Pget_attr_creation_order(ocpl, &flags) < 0) flags = 0;
        H5Pclose(ocpl);
    }
    return (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
}

int repack_copy_attributes(struct repack_ctx *ctx, hid_t src, hid_t dst, const char *const *skip,
                           const char *skip_csv)
{
    struct attr_copy copy = {ctx, dst, skip, skip_csv, 0};
    hsize_t index = 0;
    herr_t rc = H5Aiterate2(src, attribute_index(src), H5_ITER_INC, &index, attribute_visitor, &copy);
    return rc < 0 || copy.failed ? -1 : 0;
}

int repack_write_string_attr(hid_t obj, const char *name, const char *value)
{
    int rc = -1;
    hid_t type = H5Tcopy(H5T_C_S1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = -1;
    if (type < 0 || space < 0) goto done;
    if (H5Tset_size(type, strlen(value) + 1) < 0 || H5Tset_strpad(type, H5T_STR_NULLTERM) < 0) goto done;
    attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) goto done;
    rc = H5Awrite(attr, type, value) < 0 ? -1 : 0;
done:
    if (attr >= 0) H5Aclose(attr);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    return rc;
}

static char *read_variable_string(hid_t attr, hid_t type)
{
    char *value = NULL;
    if (H5Aread(attr, type, &value) < 0 || !value) return NULL;
    char *copy = strdup(value);
    H5free_memory(value);
    return copy;
}

static char *read_fixed_string(hid_t attr, hid_t type)
{
    size_t size = H5Tget_size(type);
    char *value = calloc(1, size + 1);
    if (value && H5Aread(attr, type, value) < 0) {
        free(value);
        return NULL;
    }
    return value;
}

char *repack_read_string_attr(hid_t obj, const char *name)
{
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0) return NULL;
    char *value = NULL;
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    if (type >= 0 && space >= 0 && H5Tget_class(type) == H5T_STRING && H5Sget_simple_extent_npoints(space) == 1) {
        hid_t memtype = H5Tcopy(type);
        value = H5Tis_variable_str(type) > 0 ? read_variable_string(attr, memtype) : read_fixed_string(attr, memtype);
        H5Tclose(memtype);
    }
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    H5Aclose(attr);
    return value;
}
