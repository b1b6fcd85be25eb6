/* repack_safe.c: OUT appears whole or not at all: a temporary file beside it, fsync, rename, signal clean-up. */
#include "repack.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Filled before the handlers are installed: a handler may only call
 * async-signal-safe functions, so the path must already be computed. */
static char temp_path[PATH_MAX];
static volatile sig_atomic_t temp_armed;

static void on_signal(int signal_number)
{
    if (temp_armed) unlink(temp_path);
    _exit(128 + signal_number); /* 130 for SIGINT, 143 for SIGTERM, as shells report them */
}

/* IN is read through a mapping (repack_source.c), and a mapping whose file
 * shrinks under it raises SIGBUS where the lost bytes are read. Nothing
 * else here can: OUT is written with pwrite and the kernel's copy. The
 * default action would dump core and leave the temporary file behind. */
static char bus_message[2 * PATH_MAX + 128];
static size_t bus_message_length;

static void on_bus_error(int signal_number)
{
    (void)signal_number;
    ssize_t written = write(STDERR_FILENO, bus_message, bus_message_length);
    (void)written;
    if (temp_armed) unlink(temp_path);
    _exit(1);
}

static int install_handlers(const struct repack_options *opt)
{
    int n = snprintf(bus_message, sizeof bus_message,
                     "%s: error: '%s' shrank or changed while it was being read; '%s' was not written\n", tool_name(),
                     opt->in, opt->out);
    bus_message_length = n < 0 ? 0 : (size_t)n < sizeof bus_message ? (size_t)n : sizeof bus_message - 1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_bus_error;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, NULL) != 0) return -1;
    action.sa_handler = on_signal;
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (sigaction(signals[i], &action, NULL) != 0) return -1;
    /* Past a file size limit (ulimit -f) the write fails with EFBIG, which is
     * reported and cleaned up like a full disk; the default action would kill
     * the process and leave the temporary file behind. */
    action.sa_handler = SIG_IGN;
    return sigaction(SIGXFSZ, &action, NULL);
}

static void block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

/* "dir/.name.tmp-PID" for OUT "dir/name": same directory, so rename() is atomic. */
static int make_temp_path(const char *out)
{
    const char *slash = strrchr(out, '/');
    int dir_len = slash ? (int)(slash - out + 1) : 0;
    const char *base = slash ? slash + 1 : out;
    int n = snprintf(temp_path, sizeof temp_path, "%.*s.%s.tmp-%ld", dir_len, out, base, (long)getpid());
    return n > 0 && (size_t)n < sizeof temp_path ? 0 : -1;
}

static int check_paths(const struct repack_options *opt)
{
    struct stat in_st, out_st;
    if (stat(opt->in, &in_st) != 0) {
        tool_error("cannot open '%s': %s", opt->in, strerror(errno));
        return -1;
    }
    if (!S_ISREG(in_st.st_mode)) {
        tool_error("'%s' is not a regular file", opt->in);
        return -1;
    }
    /* lstat first: a symbolic link as OUT, even one whose target is missing,
     * is something that exists there and would be replaced. */
    struct stat link_st;
    if (lstat(opt->out, &link_st) != 0) return 0;
    if (stat(opt->out, &out_st) != 0) {
        if (opt->force) return 0;
        tool_error("'%s' exists (a symbolic link to a missing file); use --force to replace it", opt->out);
        return -1;
    }
    if (out_st.st_dev == in_st.st_dev && out_st.st_ino == in_st.st_ino) {
        tool_error("'%s' and '%s' are the same file; the input is never written to", opt->in, opt->out);
        return -1;
    }
    if (S_ISDIR(out_st.st_mode)) {
        tool_error("'%s' is a directory", opt->out);
        return -1;
    }
    if (!opt->force) {
        tool_error("'%s' exists; use --force to replace it", opt->out);
        return -1;
    }
    return 0;
}

int repack_safe_begin(const struct repack_options *opt)
{
    if (check_paths(opt) < 0) return -1;
    if (make_temp_path(opt->out) < 0) {
        tool_error("output path too long: '%s'", opt->out);
        return -1;
    }
    struct stat st;
    if (lstat(temp_path, &st) == 0) {
        tool_error("temporary file '%s' already exists; remove it first", temp_path);
        return -1;
    }
    if (install_handlers(opt) < 0) {
        tool_error("cannot install signal handlers: %s", strerror(errno));
        return -1;
    }
    temp_armed = 1;
    return 0;
}

const char *repack_safe_temp_path(void) { return temp_path; }

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void directory_of(const char *path, char *dir, size_t dir_size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, dir_size, ".");
    else if (slash == path)
        snprintf(dir, dir_size, "/");
    else
        snprintf(dir, dir_size, "%.*s", (int)(slash - path), path);
}

int repack_safe_commit(const char *out, int sync)
{
    if (sync && fsync_path(temp_path, O_RDONLY) != 0) {
        tool_error("cannot sync '%s': %s", temp_path, strerror(errno));
        return -1;
    }
    block_signals();
    if (rename(temp_path, out) != 0) {
        tool_error("cannot rename '%s' to '%s': %s", temp_path, out, strerror(errno));
        return -1;
    }
    temp_armed = 0;
    if (!sync) return 0;
    char dir[PATH_MAX];
    directory_of(out, dir, sizeof dir);
    /* The rename itself must survive a crash too; some file systems refuse
     * fsync on a directory, which costs nothing but that guarantee. */
    fsync_path(dir, O_RDONLY | O_DIRECTORY);
    return 0;
}

void repack_safe_abort(void)
{
    if (temp_armed) unlink(temp_path);
    temp_armed = 0;
}
