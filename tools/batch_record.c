/* batch_record.c: h5imgbatch's state under DIR/.h5imgbatch: the lock, stale temporaries, output checksums, completion records. */
#define _GNU_SOURCE
#include "batch.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAGIC "h5imgbatch-record 1"
#define RECORD_SUFFIX ".done"

char *batch_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s) return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

int batch_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    DIR *d = opendir(path);
    if (!d) return -1;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *child = batch_join(path, de->d_name);
        if (!child || batch_remove_tree(child) != 0) rc = -1;
        free(child);
    }
    closedir(d);
    if (rmdir(path) != 0 && errno != ENOENT) rc = -1;
    return rc;
}

static char *state_path(const batch_job_set *set, const char *name)
{
    char *dir = batch_join(set->out_dir, BATCH_STATE_DIR);
    char *p = dir && name ? batch_join(dir, name) : NULL;
    if (!name) return dir;
    free(dir);
    return p;
}

/* Remove every entry of `dir` whose name starts with `prefix`. Returns how many, or -1. */
static long remove_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    long removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0) continue;
        char *p = batch_join(dir, de->d_name);
        if (p && batch_remove_tree(p) == 0) removed++;
        else tool_warning("cannot remove the stale temporary '%s/%s': %s", dir, de->d_name, strerror(errno));
        free(p);
    }
    closedir(d);
    return removed;
}

int batch_prepare_dir(const batch_job_set *set)
{
    char *lock_path = state_path(set, "lock");
    if (!lock_path) return tool_error("out of memory"), -1;
    /* tool_make_parent_dirs makes every directory above the lock: DIR and DIR/.h5imgbatch. */
    if (tool_make_parent_dirs(lock_path) != 0) {
        tool_error("cannot create output directory '%s': %s", set->out_dir, strerror(errno));
        free(lock_path);
        return -1;
    }
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        tool_error("cannot use output directory '%s': cannot create '%s': %s", set->out_dir, lock_path, strerror(errno));
        free(lock_path);
        return -1;
    }
    /* Two jobs on one DIR would remove each other's temporaries as stale. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            tool_error("another h5imgbatch is running on '%s' (it holds '%s')", set->out_dir, lock_path);
        else
            tool_error("cannot lock '%s': %s", lock_path, strerror(errno));
        close(fd);
        free(lock_path);
        return -1;
    }
    free(lock_path);
    /* With the lock held, every temporary left is a killed run's. */
    long removed = remove_prefixed(set->out_dir, BATCH_TMP_PREFIX);
    char *state = state_path(set, NULL);
    long removed_state = state ? remove_prefixed(state, BATCH_TMP_PREFIX) : -1;
    free(state);
    if (removed < 0 || removed_state < 0) {
        tool_error("cannot read output directory '%s': %s", set->out_dir, strerror(errno));
        close(fd);
        return -1;
    }
    if (removed + removed_state > 0)
        tool_verbose("removed %ld stale temporar%s of an interrupted run", removed + removed_state,
                     removed + removed_state == 1 ? "y" : "ies");
    return fd;
}

/* ------------------------------------------------------------------------- */
/* Checksums                                                                 */
/* ------------------------------------------------------------------------- */

static int crc_file(const char *path, uint32_t *crc, uint64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    static __thread unsigned char buffer[1 << 20];
    for (;;) {
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR) continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (got == 0) break;
        *crc = libdeflate_crc32(*crc, buffer, (size_t)got);
        *bytes += (uint64_t)got;
    }
    close(fd);
    return 0;
}

struct names {
    char **v;
    size_t n, cap;
};

/* Every regular file below `root`, as paths relative to it. */
static int list_files(const char *root, const char *rel, struct names *out)
{
    char *dir = rel[0] ? batch_join(root, rel) : strdup(root);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        free(dir);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *r = rel[0] ? batch_join(rel, de->d_name) : strdup(de->d_name);
        char *full = r ? batch_join(root, r) : NULL;
        struct stat st;
        if (!full || lstat(full, &st) != 0) rc = -1;
        else if (S_ISDIR(st.st_mode)) rc = list_files(root, r, out);
        else {
            if (out->n == out->cap) {
                out->cap = out->cap ? 2 * out->cap : 64;
                char **grown = realloc(out->v, out->cap * sizeof *grown);
                if (!grown) rc = -1;
                else out->v = grown;
            }
            if (rc == 0) out->v[out->n++] = r, r = NULL;
        }
        free(r);
        free(full);
    }
    closedir(d);
    free(dir);
    return rc;
}

static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int batch_checksum(const char *path, uint32_t *crc, uint64_t *bytes, uint64_t *files)
{
    struct stat st;
    *crc = 0;
    *bytes = 0;
    *files = 0;
    if (stat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        *files = 1;
        return crc_file(path, crc, bytes);
    }
    struct names list = {0};
    int rc = list_files(path, "", &list);
    if (rc == 0) qsort(list.v, list.n, sizeof *list.v, by_string);
    /* Names and sizes are hashed too: a renamed or moved file changes the sum. */
    for (size_t i = 0; rc == 0 && i < list.n; i++) {
        char *full = batch_join(path, list.v[i]);
        uint64_t before = *bytes;
        *crc = libdeflate_crc32(*crc, list.v[i], strlen(list.v[i]) + 1);
        rc = full ? crc_file(full, crc, bytes) : -1;
        uint64_t size = *bytes - before;
        unsigned char le[8];
        for (int k = 0; k < 8; k++) le[k] = (unsigned char)(size >> (8 * k));
        *crc = libdeflate_crc32(*crc, le, sizeof le);
        free(full);
    }
    int saved = errno;
    for (size_t i = 0; i < list.n; i++) free(list.v[i]);
    free(list.v);
    *files = list.n;
    errno = saved;
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Records                                                                   */
/* ------------------------------------------------------------------------- */

static char *record_path(const batch_job_set *set, const batch_entry *entry)
{
    char name[4096];
    snprintf(name, sizeof name, "%s%s", entry->name, RECORD_SUFFIX);
    return state_path(set, name);
}

static uint32_t args_crc(const batch_job_set *set) { return libdeflate_crc32(0, set->args_key, strlen(set->args_key)); }

void batch_record_remove(const batch_job_set *set, const batch_entry *entry)
{
    char *p = record_path(set, entry);
    if (p) unlink(p);
    free(p);
}

int batch_record_write(const batch_job_set *set, const batch_entry *entry, const struct stat *in, uint32_t crc,
                       uint64_t bytes, uint64_t files)
{
    char *final = record_path(set, entry);
    char tmpname[4200];
    char host[256] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(tmpname, sizeof tmpname, "%s%s.%ld.%s%s", BATCH_TMP_PREFIX, host, (long)getpid(), entry->name, RECORD_SUFFIX);
    char *tmp = state_path(set, tmpname);
    int rc = -1, saved = ENOMEM;
    FILE *f = tmp && final ? fopen(tmp, "w") : NULL;
    if (f) {
        fprintf(f,
                RECORD_MAGIC "\ninput=%s\ninput_size=%llu\ninput_mtime=%lld.%09ld\ncommand=%s\ncommand_crc32=%08x\n"
                             "output=%s\noutput_bytes=%llu\noutput_files=%llu\noutput_crc32=%08x\n",
                entry->input, (unsigned long long)in->st_size, (long long)in->st_mtim.tv_sec, in->st_mtim.tv_nsec,
                set->args_key, args_crc(set), entry->name, (unsigned long long)bytes, (unsigned long long)files, crc);
        /* The record vouches for the output: it must not reach the disk before it. */
        rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
        saved = errno;
        if (fclose(f) != 0 && rc == 0) rc = -1, saved = errno;
        if (rc == 0 && rename(tmp, final) != 0) rc = -1, saved = errno;
        if (rc != 0) unlink(tmp);
    } else if (tmp) {
        saved = errno;
    }
    free(tmp);
    free(final);
    errno = saved;
    return rc;
}

/* The value of "key=" in the record text, copied into out. 0 or -1. */
static int field(const char *text, const char *key, char *out, size_t out_size)
{
    size_t kl = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, key, kl) != 0 || line[kl] != '=') continue;
        const char *v = line + kl + 1, *end = strchr(v, '\n');
        size_t len = end ? (size_t)(end - v) : strlen(v);
        if (len >= out_size) return -1;
        memcpy(out, v, len);
        out[len] = '\0';
        return 0;
    }
    return -1;
}

int batch_record_valid(const batch_job_set *set, const batch_entry *entry, uint64_t *bytes_out)
{
    char *p = record_path(set, entry);
    FILE *f = p ? fopen(p, "r") : NULL;
    free(p);
    if (!f) return 0;
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    if (strncmp(text, RECORD_MAGIC "\n", strlen(RECORD_MAGIC) + 1) != 0) return 0;

    struct stat st;
    if (stat(entry->input, &st) != 0) return 0;
    char want[4200], got[4200];
    snprintf(want, sizeof want, "%llu", (unsigned long long)st.st_size);
    if (field(text, "input_size", got, sizeof got) || strcmp(want, got)) return 0;
    snprintf(want, sizeof want, "%lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (field(text, "input_mtime", got, sizeof got) || strcmp(want, got)) return 0;
    if (field(text, "input", got, sizeof got) || strcmp(entry->input, got)) return 0;
    snprintf(want, sizeof want, "%08x", args_crc(set));
    if (field(text, "command_crc32", got, sizeof got) || strcmp(want, got)) return 0;

    char *out = batch_join(set->out_dir, entry->name);
    uint32_t crc;
    uint64_t bytes, files;
    int ok = out && batch_checksum(out, &crc, &bytes, &files) == 0;
    free(out);
    if (!ok) return 0;
    snprintf(want, sizeof want, "%08x", crc);
    if (field(text, "output_crc32", got, sizeof got) || strcmp(want, got)) return 0;
    snprintf(want, sizeof want, "%llu", (unsigned long long)bytes);
    if (field(text, "output_bytes", got, sizeof got) || strcmp(want, got)) return 0;
    snprintf(want, sizeof want, "%llu", (unsigned long long)files);
    if (field(text, "output_files", got, sizeof got) || strcmp(want, got)) return 0;
    *bytes_out = bytes;
    return 1;
}
