/* batch_run.c: one input from start to completion record: the skip check, the sibling tool in a child process, the rename into place. */
#define _GNU_SOURCE
#include "batch.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The tool's stderr kept for the report: enough for any real error, bounded for a runaway one. */
#define ERROR_MAX 8192

static char *error_text(const char *format, ...) __attribute__((format(printf, 1, 2)));
static char *error_text(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *s = NULL;
    if (vasprintf(&s, format, args) < 0) s = NULL;
    va_end(args);
    return s;
}

static const char *tool_name_of(const batch_job_set *set)
{
    const char *slash = strrchr(set->tool_path, '/');
    return slash ? slash + 1 : set->tool_path;
}

static void fail(batch_result *r, char *message)
{
    r->status = BATCH_FAILED;
    r->error = message ? message : strdup("out of memory");
}

/* The tool's own output name inside the run's temporary directory. */
static char *tool_output(const batch_run *run)
{
    return batch_join(run->tmp_dir, run->set->entries[run->index].name);
}

static char **tool_argv(const batch_job_set *set, const char *input, const char *output)
{
    char **argv = calloc(set->ntool_args + 8, sizeof *argv);
    if (!argv) return NULL;
    size_t n = 0;
    argv[n++] = (char *)set->tool_path;
    if (set->kind == BATCH_EXTRACT) argv[n++] = "--extract", argv[n++] = (char *)output;
    if (set->kind == BATCH_PREVIEW) argv[n++] = "--preview", argv[n++] = (char *)output;
    for (size_t i = 0; i < set->ntool_args; i++) argv[n++] = set->tool_args[i];
    /* "--" so an input named "-x.smc" stays an operand. */
    argv[n++] = "--";
    argv[n++] = (char *)input;
    if (set->kind == BATCH_REPACK) argv[n++] = (char *)output;
    argv[n] = NULL;
    return argv;
}

static int start(batch_run *run, const batch_job_set *set, size_t index, batch_result *r)
{
    const batch_entry *e = &set->entries[index];
    memset(run, 0, sizeof *run);
    memset(r, 0, sizeof *r);
    run->set = set;
    run->index = index;
    run->err_fd = -1;
    run->started = tool_now();
    r->tool_status = -1;
    run->input_stat = malloc(sizeof *run->input_stat);
    if (!run->input_stat) return fail(r, NULL), 1;
    if (stat(e->input, run->input_stat) != 0 || !S_ISREG(run->input_stat->st_mode)) {
        int err = errno;
        if (S_ISDIR(run->input_stat->st_mode)) fail(r, error_text("cannot open '%s': it is a directory", e->input));
        else fail(r, error_text("cannot open '%s': %s", e->input, strerror(err)));
        r->seconds = tool_now() - run->started;
        return 1;
    }
    r->bytes_in = (uint64_t)run->input_stat->st_size;
    if (batch_record_valid(set, e, &r->bytes_out)) {
        r->status = BATCH_SKIPPED;
        r->seconds = tool_now() - run->started;
        return 1;
    }
    /* From here the old output is being replaced: its record must not outlive it. */
    batch_record_remove(set, e);

    char host[256] = "host";
    gethostname(host, sizeof host - 1);
    char tmpname[512];
    snprintf(tmpname, sizeof tmpname, "%s%s.%ld.%zu", BATCH_TMP_PREFIX, host, (long)getpid(), index);
    run->tmp_dir = batch_join(set->out_dir, tmpname);
    if (!run->tmp_dir) return fail(r, NULL), 1;
    batch_remove_tree(run->tmp_dir);
    if (mkdir(run->tmp_dir, 0777) != 0) {
        fail(r, error_text("cannot create '%s': %s", run->tmp_dir, strerror(errno)));
        return 1;
    }
    char *output = tool_output(run);
    char **argv = output ? tool_argv(set, e->input, output) : NULL;
    run->err_fd = memfd_create("h5imgbatch-stderr", MFD_CLOEXEC);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    if (run->err_fd >= 0) posix_spawn_file_actions_adddup2(&actions, run->err_fd, STDERR_FILENO);
    int rc = argv && run->err_fd >= 0 ? posix_spawn(&run->pid, set->tool_path, &actions, NULL, argv, environ) : ENOMEM;
    posix_spawn_file_actions_destroy(&actions);
    if (rc == 0 && set->verbose) tool_verbose("%s -> %s/%s", e->input, set->out_dir, e->name);
    free(argv);
    free(output);
    if (rc != 0) {
        run->pid = 0;
        fail(r, error_text("cannot run '%s': %s", set->tool_path, strerror(rc)));
        batch_remove_tree(run->tmp_dir);
        return 1;
    }
    return 0;
}

int batch_run_start(batch_run *run, const batch_job_set *set, size_t index, batch_result *r)
{
    int finished = start(run, set, index, r);
    if (finished) {
        free(run->input_stat);
        free(run->tmp_dir);
        run->input_stat = NULL;
        run->tmp_dir = NULL;
        if (run->err_fd >= 0) close(run->err_fd);
        run->err_fd = -1;
        r->seconds = tool_now() - run->started;
    }
    return finished;
}

static char *read_stderr(int fd)
{
    char *text = malloc(ERROR_MAX + 1);
    if (!text) return NULL;
    ssize_t n = pread(fd, text, ERROR_MAX, 0);
    if (n < 0) n = 0;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ')) n--;
    text[n] = '\0';
    return text;
}

/* Move the finished output into DIR. A replaced directory cannot be renamed
 * over, so it first moves into the temporary directory and goes with it. */
static int commit(batch_run *run, const char *from, const char *to)
{
    struct stat st;
    if (lstat(to, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *aside = batch_join(run->tmp_dir, ".replaced");
        if (!aside || rename(to, aside) != 0) {
            free(aside);
            return -1;
        }
        free(aside);
    }
    return rename(from, to);
}

static void finish_success(batch_run *run, batch_result *r)
{
    const batch_job_set *set = run->set;
    const batch_entry *e = &set->entries[run->index];
    char *from = tool_output(run);
    char *to = batch_join(set->out_dir, e->name);
    uint32_t crc;
    uint64_t bytes, files;
    if (!from || !to) {
        fail(r, NULL);
    } else if (access(from, F_OK) != 0) {
        fail(r, error_text("%s exited 0 but wrote no '%s'", tool_name_of(set), e->name));
    } else if (batch_checksum(from, &crc, &bytes, &files) != 0) {
        fail(r, error_text("cannot read the output '%s' back: %s", from, strerror(errno)));
    } else if (commit(run, from, to) != 0) {
        fail(r, error_text("cannot move the output into '%s': %s", to, strerror(errno)));
    } else if (batch_record_write(set, e, run->input_stat, crc, bytes, files) != 0) {
        fail(r, error_text("'%s' is written but its completion record is not: %s", to, strerror(errno)));
    } else {
        r->status = BATCH_DONE;
        r->bytes_out = bytes;
    }
    free(from);
    free(to);
}

int batch_run_poll(batch_run *run, int block, batch_result *r)
{
    int status = 0;
    pid_t got;
    do got = waitpid(run->pid, &status, block ? 0 : WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got == 0) return 0;
    run->pid = 0;
    char *err = read_stderr(run->err_fd);
    close(run->err_fd);
    run->err_fd = -1;
    const char *tool = tool_name_of(run->set);
    if (got < 0) {
        fail(r, error_text("cannot wait for %s: %s", tool, strerror(errno)));
    } else if (WIFSIGNALED(status)) {
        r->tool_status = 128 + WTERMSIG(status);
        /* A decoder crash on one corrupt input is that input's failure, not the job's. */
        fail(r, error_text("%s was killed by signal %d (%s)%s%s", tool, WTERMSIG(status), strsignal(WTERMSIG(status)),
                           err && *err ? ": " : "", err ? err : ""));
    } else if (WEXITSTATUS(status) != 0) {
        r->tool_status = WEXITSTATUS(status);
        fail(r, error_text("%s exited with status %d%s%s", tool, WEXITSTATUS(status), err && *err ? ": " : "",
                           err ? err : ""));
    } else {
        r->tool_status = 0;
        finish_success(run, r);
    }
    free(err);
    batch_remove_tree(run->tmp_dir);
    free(run->tmp_dir);
    run->tmp_dir = NULL;
    free(run->input_stat);
    run->input_stat = NULL;
    r->seconds = tool_now() - run->started;
    return 1;
}

void batch_run_all(const batch_job_set *set, batch_result *results)
{
    for (size_t k = 0; k < set->nentries; k++) {
        size_t i = set->order[k];
        batch_run run;
        if (!batch_run_start(&run, set, i, &results[i])) batch_run_poll(&run, 1, &results[i]);
        batch_note(set, i, &results[i]);
        batch_progress(set, results, k + 1);
    }
}
