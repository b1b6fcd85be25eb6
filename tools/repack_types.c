/* repack_types.c: carry IN's committed (named) datatypes into OUT as committed types, one OUT type per IN type. */
#include "repack.h"
#include "util.h"

#include <stdlib.h>

/* IN's committed type at `addr` and the OUT type standing for it, which
 * stays open until the walk ends. `linked`: OUT's type has a name already. */
struct repack_type {
    haddr_t addr;
    hid_t out;
    int linked;
};

static struct repack_type *find_type(struct repack_ctx *ctx, haddr_t addr)
{
    for (size_t i = 0; i < ctx->type_count; i++)
        if (ctx->types[i].addr == addr) return &ctx->types[i];
    return NULL;
}

static struct repack_type *add_type(struct repack_ctx *ctx, haddr_t addr, hid_t out, int linked)
{
    if (ctx->type_count == ctx->type_capacity) {
        size_t capacity = ctx->type_capacity ? ctx->type_capacity * 2 : 16;
        struct repack_type *grown = realloc(ctx->types, capacity * sizeof *grown);
        if (!grown) return NULL;
        ctx->types = grown;
        ctx->type_capacity = capacity;
    }
    ctx->types[ctx->type_count] = (struct repack_type){addr, out, linked};
    return &ctx->types[ctx->type_count++];
}

/* Commit a copy of `in_type` in OUT, under `name` in dst, or without a name
 * when dst < 0 (a use met before the type's own link, or a type IN never
 * named), record it, then copy its attributes: they may use it themselves. */
static struct repack_type *commit_copy(struct repack_ctx *ctx, hid_t in_type, haddr_t addr, hid_t dst,
                                       const char *name, hid_t lcpl, const char *path)
{
    hid_t out = H5Tcopy(in_type);
    hid_t tcpl = H5Tget_create_plist(in_type);
    herr_t committed = -1;
    if (out >= 0 && tcpl >= 0)
        committed = dst >= 0 ? H5Tcommit2(dst, name, out, lcpl, tcpl, H5P_DEFAULT)
                             : H5Tcommit_anon(ctx->out, out, tcpl, H5P_DEFAULT);
    if (tcpl >= 0) H5Pclose(tcpl);
    struct repack_type *type = committed >= 0 ? add_type(ctx, addr, out, dst >= 0) : NULL;
    if (!type) {
        tool_error("%s: cannot commit the datatype in the output", path);
        if (out >= 0) H5Tclose(out);
        return NULL;
    }
    if (repack_copy_attributes(ctx, in_type, out, NULL, NULL) < 0) {
        tool_error("%s: cannot copy the datatype's attributes", path);
        return NULL;
    }
    return type;
}

static int type_address(hid_t type, haddr_t *addr, const char *path)
{
    H5O_info_t info;
    if (H5Oget_info2(type, &info, H5O_INFO_BASIC) < 0) {
        tool_error("%s: cannot locate its committed datatype", path);
        return -1;
    }
    *addr = info.addr;
    return 0;
}

int repack_output_type(struct repack_ctx *ctx, hid_t in_type, const char *path, hid_t *out_type)
{
    *out_type = -1;
    htri_t committed = H5Tcommitted(in_type);
    if (committed < 0) {
        tool_error("%s: cannot inspect its datatype", path);
        return -1;
    }
    if (!committed) return 0;
    haddr_t addr;
    if (type_address(in_type, &addr, path) < 0) return -1;
    struct repack_type *type = find_type(ctx, addr);
    if (!type) type = commit_copy(ctx, in_type, addr, -1, NULL, H5P_DEFAULT, path);
    if (!type) return -1;
    *out_type = type->out;
    return 0;
}

int repack_copy_named_type(struct repack_ctx *ctx, hid_t src, hid_t dst, const char *name, const char *path,
                           hid_t lcpl)
{
    hid_t in_type = H5Topen2(src, name, H5P_DEFAULT);
    haddr_t addr;
    int rc = -1;
    if (in_type < 0) {
        tool_error("%s: cannot open the datatype", path);
        return -1;
    }
    if (type_address(in_type, &addr, path) == 0) {
        struct repack_type *type = find_type(ctx, addr);
        if (!type) {
            rc = commit_copy(ctx, in_type, addr, dst, name, lcpl, path) ? 0 : -1;
            if (rc == 0) ctx->stats.copied++;
        } else if (H5Olink(type->out, dst, name, lcpl, H5P_DEFAULT) < 0) {
            tool_error("%s: cannot link the datatype", path);
        } else {
            /* First name of a type already used, or one more hard link. */
            if (type->linked) ctx->stats.links++;
            else ctx->stats.copied++;
            type->linked = 1;
            rc = 0;
        }
    }
    H5Tclose(in_type);
    if (rc == 0) tool_verbose("%s: committed datatype", path);
    return rc;
}

void repack_types_close(struct repack_ctx *ctx)
{
    for (size_t i = 0; i < ctx->type_count; i++) H5Tclose(ctx->types[i].out);
    free(ctx->types);
    ctx->types = NULL;
    ctx->type_count = ctx->type_capacity = 0;
}
