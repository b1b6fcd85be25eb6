/* replay.c: runs a fuzz harness's LLVMFuzzerTestOneInput over every file in the given files and directories, without libFuzzer. */
/*
 * Usage: replay_<harness> PATH...   (a PATH that does not exist is an error;
 * directories are walked recursively, dot files and *.md notes skipped). Every committed
 * corpus input, every regression and the conformance seeds go through the
 * harness in the normal test suite, so a finding stays fixed. A crash or
 * trap kills the process (CTest reports it with the last file named on
 * stderr); an unreadable path or an empty run fails with exit status 1.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static size_t files_run;
static int failures;

static int read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        uint8_t *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

static void run_file(const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (read_file(path, &data, &size) != 0) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    /* Named before the run: if the harness traps, this is the last line. */
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
    /* A copy of exactly `size` bytes, as libFuzzer passes it, so reads past the end show under ASan. */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) {
        free(data);
        failures++;
        return;
    }
    if (size) memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    files_run++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "replay: cannot open directory %s: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    /* Sorted, so runs are reproducible. */
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (entry->d_name[0] == '.') continue;
        if (len > 3 && strcmp(entry->d_name + len - 3, ".md") == 0) continue; /* notes beside the inputs */
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) break;
            names = grown;
        }
        names[count] = malloc(strlen(path) + strlen(entry->d_name) + 2);
        if (!names[count]) break;
        sprintf(names[count], "%s/%s", path, entry->d_name);
        count++;
    }
    closedir(dir);
    if (count) qsort(names, count, sizeof *names, by_name);
    for (size_t i = 0; i < count; i++) {
        run_path(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) run_path(argv[i]);
    printf("replay: %zu inputs run, %d unreadable paths\n", files_run, failures);
    return failures || files_run == 0 ? 1 : 0;
}
