/* batch_manifest.c: h5imgbatch's manifest: one input per line, the output name of each, collisions, largest-first order. */
#include "batch.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A manifest larger than this is almost certainly the wrong file (a data file given by mistake). */
#define MANIFEST_MAX_BYTES (256u << 20)

char *batch_manifest_read(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tool_error("cannot open manifest '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t capacity = 65536, used = 0;
    char *text = malloc(capacity + 1);
    while (text) {
        size_t got = fread(text + used, 1, capacity - used, f);
        used += got;
        if (used < capacity) break;
        if (capacity >= MANIFEST_MAX_BYTES) {
            tool_error("manifest '%s' is larger than %u MiB: is it really a list of paths?", path, MANIFEST_MAX_BYTES >> 20);
            free(text);
            fclose(f);
            return NULL;
        }
        char *grown = realloc(text, 2 * capacity + 1);
        if (!grown) free(text);
        text = grown;
        capacity *= 2;
    }
    if (!text) {
        tool_error("out of memory reading manifest '%s'", path);
        fclose(f);
        return NULL;
    }
    if (ferror(f)) {
        tool_error("cannot read manifest '%s': %s", path, strerror(errno));
        free(text);
        fclose(f);
        return NULL;
    }
    fclose(f);
    text[used] = '\0';
    *length = used;
    return text;
}

static char *output_name(batch_kind kind, const char *input)
{
    const char *slash = strrchr(input, '/');
    const char *base = slash ? slash + 1 : input;
    if (kind == BATCH_REPACK) return strdup(base);
    /* "a.b.smc" -> "a.b": only the last extension goes, and a leading dot is not one. */
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    const char *suffix = kind == BATCH_PREVIEW ? ".png" : "";
    char *name = malloc(stem + strlen(suffix) + 1);
    if (name) {
        memcpy(name, base, stem);
        strcpy(name + stem, suffix);
    }
    return name;
}

int batch_manifest_parse(batch_job_set *set, const char *text, size_t length)
{
    size_t capacity = 0, lineno = 0;
    for (size_t at = 0; at < length;) {
        const char *line = text + at;
        const char *nl = memchr(line, '\n', length - at);
        size_t len = nl ? (size_t)(nl - line) : length - at;
        at += len + 1;
        lineno++;
        if (len && line[len - 1] == '\r') len--;
        if (memchr(line, '\0', len)) {
            tool_error("manifest '%s' line %zu holds a NUL byte: is it really a list of paths?", set->manifest, lineno);
            return -1;
        }
        /* Paths may hold inner spaces, but blanks around them are never meant. */
        while (len && (*line == ' ' || *line == '\t')) line++, len--;
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t')) len--;
        if (len == 0 || line[0] == '#') continue;
        if (line[len - 1] == '/') {
            tool_error("manifest '%s' line %zu: '%.*s' names a directory, not a file", set->manifest, lineno, (int)len, line);
            return -1;
        }
        if (set->nentries == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            batch_entry *grown = realloc(set->entries, capacity * sizeof *grown);
            if (!grown) return tool_error("out of memory"), -1;
            set->entries = grown;
        }
        batch_entry *e = &set->entries[set->nentries];
        memset(e, 0, sizeof *e);
        e->input = strndup(line, len);
        e->name = e->input ? output_name(set->kind, e->input) : NULL;
        if (!e->input || !e->name) {
            free(e->input);
            free(e->name);
            return tool_error("out of memory"), -1;
        }
        set->nentries++;
        /* The state folder and our temporaries live beside the outputs. */
        if (strncmp(e->name, BATCH_STATE_DIR, strlen(BATCH_STATE_DIR)) == 0 || strcmp(e->name, ".") == 0 ||
            strcmp(e->name, "..") == 0 || e->name[0] == '\0') {
            tool_error("manifest '%s' line %zu: input '%s' would give the output name '%s', which h5imgbatch "
                       "keeps for itself or cannot use",
                       set->manifest, lineno, e->input, e->name);
            return -1;
        }
    }
    if (set->nentries == 0) {
        tool_error("manifest '%s' lists no input files", set->manifest);
        return -1;
    }
    return 0;
}

static const batch_job_set *sort_set;

static int by_name(const void *a, const void *b)
{
    const batch_entry *x = &sort_set->entries[*(const size_t *)a], *y = &sort_set->entries[*(const size_t *)b];
    int c = strcmp(x->name, y->name);
    return c ? c : (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

int batch_manifest_check_names(const batch_job_set *set)
{
    size_t *idx = malloc(set->nentries * sizeof *idx);
    if (!idx) return tool_error("out of memory"), -1;
    for (size_t i = 0; i < set->nentries; i++) idx[i] = i;
    sort_set = set;
    qsort(idx, set->nentries, sizeof *idx, by_name);
    size_t clashes = 0;
    for (size_t i = 1; i < set->nentries; i++) {
        const batch_entry *a = &set->entries[idx[i - 1]], *b = &set->entries[idx[i]];
        if (strcmp(a->name, b->name) != 0) continue;
        /* Report every clash, not just the first: the user fixes the list once. */
        tool_error("inputs '%s' and '%s' would both write '%s/%s'", a->input, b->input, set->out_dir, a->name);
        clashes++;
    }
    free(idx);
    if (clashes) tool_error("%zu output name collision(s) in manifest '%s': nothing was done", clashes, set->manifest);
    return clashes ? -1 : 0;
}

static int largest_first(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    uint64_t x = sort_set->entries[i].size, y = sort_set->entries[j].size;
    if (x != y) return x < y ? 1 : -1;
    return (i > j) - (i < j); /* ties keep manifest order: runs are repeatable */
}

int batch_manifest_order(batch_job_set *set)
{
    set->order = malloc(set->nentries * sizeof *set->order);
    if (!set->order) return tool_error("out of memory"), -1;
    for (size_t i = 0; i < set->nentries; i++) {
        struct stat st;
        batch_entry *e = &set->entries[i];
        if (stat(e->input, &st) == 0) e->size = (uint64_t)st.st_size;
        else e->stat_errno = errno;
        set->order[i] = i;
    }
    sort_set = set;
    qsort(set->order, set->nentries, sizeof *set->order, largest_first);
    return 0;
}

void batch_manifest_free(batch_job_set *set)
{
    for (size_t i = 0; i < set->nentries; i++) {
        free(set->entries[i].input);
        free(set->entries[i].name);
    }
    free(set->entries);
    free(set->order);
    set->entries = NULL;
    set->order = NULL;
    set->nentries = 0;
}
