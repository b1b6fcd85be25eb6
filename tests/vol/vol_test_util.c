/* vol_test_util.c: the VOL tests' oracle manifest reader, file access lists, file copies and error-stack text. */
#include "vol_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vol_env(const char *name)
{
    const char *value = getenv(name);
    ck_assert_msg(value && *value, "environment variable %s is not set (run through ctest)", name);
    return value;
}

const char *vol_path(const char *dir, const char *name)
{
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

void vol_oracle_load(vol_oracle *oracle)
{
    memset(oracle, 0, sizeof *oracle);
    snprintf(oracle->dir, sizeof oracle->dir, "%s", vol_env("H5IMG_VOL_ORACLE_DIR"));
    FILE *f = fopen(vol_path(oracle->dir, "manifest.tsv"), "r");
    ck_assert_msg(f != NULL, "cannot open %s/manifest.tsv (the vol.oracle fixture makes it)", oracle->dir);
    char line[1024];
    size_t capacity = 0;
    while (fgets(line, sizeof line, f)) {
        if (oracle->count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            oracle->entries = realloc(oracle->entries, capacity * sizeof *oracle->entries);
            ck_assert(oracle->entries != NULL);
        }
        vol_oracle_entry *e = &oracle->entries[oracle->count];
        char status[16];
        int fields = sscanf(line, "%63[^\t]\t%159[^\t]\t%15[^\t]\t%d\t%15[^\t]\t%u\t%u\t%u\t%u\t%63s", e->file, e->path,
                            e->rule, &e->is_default, status, &e->height, &e->width, &e->channels, &e->element_size,
                            e->raw);
        if (fields != 10) continue;
        e->ok = strcmp(status, "ok") == 0;
        oracle->count++;
    }
    fclose(f);
    ck_assert_msg(oracle->count > 0, "%s/manifest.tsv lists no frames", oracle->dir);
}

void vol_oracle_free(vol_oracle *oracle)
{
    free(oracle->entries);
    memset(oracle, 0, sizeof *oracle);
}

const vol_oracle_entry *vol_oracle_find(const vol_oracle *oracle, const char *file, const char *path, const char *rule)
{
    for (size_t i = 0; i < oracle->count; i++) {
        const vol_oracle_entry *e = &oracle->entries[i];
        if (strcmp(e->file, file) == 0 && strcmp(e->path, path) == 0 && strcmp(e->rule, rule) == 0) return e;
    }
    return NULL;
}

void *vol_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    ck_assert_msg(length >= 0, "cannot size %s", path);
    void *data = malloc((size_t)length + 1);
    ck_assert(data != NULL);
    ck_assert_msg(fread(data, 1, (size_t)length, f) == (size_t)length, "cannot read %s", path);
    fclose(f);
    *size = (size_t)length;
    return data;
}

void *vol_oracle_pixels(const vol_oracle *oracle, const vol_oracle_entry *entry, size_t *size)
{
    ck_assert_msg(entry->ok, "%s %s: OpenCV has no %s decode", entry->file, entry->path, entry->rule);
    return vol_slurp(vol_path(oracle->dir, entry->raw), size);
}

void vol_copy_file(const char *from, const char *to)
{
    size_t size;
    void *data = vol_slurp(from, &size);
    FILE *f = fopen(to, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", to);
    ck_assert(fwrite(data, 1, size, f) == size);
    ck_assert(fclose(f) == 0);
    free(data);
}

hid_t vol_native_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    ck_assert(fapl >= 0);
    ck_assert(H5Pset_vol(fapl, H5VL_NATIVE, NULL) >= 0);
    return fapl;
}

hid_t vol_h5img_fapl(const char *info_text)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t connector = H5VLregister_connector_by_name("h5img", H5P_DEFAULT);
    ck_assert_msg(connector >= 0, "HDF5 cannot load the h5img VOL connector from HDF5_PLUGIN_PATH");
    void *info = NULL;
    if (info_text) ck_assert_msg(H5VLconnector_str_to_info(info_text, connector, &info) >= 0, "info \"%s\" refused", info_text);
    ck_assert(H5Pset_vol(fapl, connector, info) >= 0);
    if (info) H5VLfree_connector_info(connector, info);
    H5VLclose(connector);
    return fapl;
}

static herr_t collect(unsigned n, const H5E_error2_t *error, void *data)
{
    char *text = data;
    size_t used = strlen(text);
    if (error->desc && used < 4000) snprintf(text + used, 4096 - used, "%s%s", used ? " | " : "", error->desc);
    return 0;
}

const char *vol_error_text(void)
{
    static char text[4096];
    text[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, text);
    return text;
}

long vol_first_difference(const void *a, const void *b, size_t size)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < size; i++)
        if (x[i] != y[i]) return (long)i;
    return -1;
}
