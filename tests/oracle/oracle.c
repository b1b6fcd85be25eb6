/* oracle.c: manifest and raw-pixel loading for the OpenCV oracle (see make_oracle.py). */
#include "oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    void *buf = malloc(n ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) *size = (size_t)n;
    return buf;
}

int oracle_load(oracle *o, const char *dir)
{
    memset(o, 0, sizeof *o);
    snprintf(o->dir, sizeof o->dir, "%s", dir);
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t capacity = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        oracle_entry e;
        char status[16];
        memset(&e, 0, sizeof e);
        if (sscanf(line, "%127s %15s %15s %u %u %u %u", e.name, e.rule, status, &e.height, &e.width, &e.channels,
                   &e.element_size) != 7)
            continue;
        e.ok = strcmp(status, "ok") == 0;
        if (o->count == capacity) {
            capacity = capacity ? 2 * capacity : 256;
            oracle_entry *grown = realloc(o->entries, capacity * sizeof *grown);
            if (!grown) { fclose(f); return -1; }
            o->entries = grown;
        }
        o->entries[o->count++] = e;
    }
    fclose(f);
    return o->count ? 0 : -1;
}

void oracle_free(oracle *o)
{
    free(o->entries);
    memset(o, 0, sizeof *o);
}

const oracle_entry *oracle_find(const oracle *o, const char *name, const char *rule)
{
    for (size_t i = 0; i < o->count; i++)
        if (strcmp(o->entries[i].name, name) == 0 && strcmp(o->entries[i].rule, rule) == 0) return &o->entries[i];
    return NULL;
}

void *oracle_pixels(const oracle *o, const oracle_entry *e, size_t *size)
{
    if (!e->ok) return NULL;
    char path[1400];
    snprintf(path, sizeof path, "%s/%s.%s.raw", o->dir, e->name, e->rule);
    return read_file(path, size);
}

long first_difference(const void *a, const void *b, size_t size)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < size; i++)
        if (x[i] != y[i]) return (long)i;
    return -1;
}
