/* util.c: messages, option parsing, progress line, path matching and small helpers shared by the tools. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Below this interval a progress redraw would cost more than it tells. */
#define PROGRESS_INTERVAL 0.1
#define PROGRESS_BAR_WIDTH 24

static const char *program = "h5img";
static int verbosity = 1;
static int warnings_silenced;

/* One lock guards both the progress state and stderr writes, so a message
 * from one thread never lands in the middle of another thread's redraw. */
static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
    int active;     /* a line may be on screen */
    int drawn;      /* something was printed since the last clear */
    char label[32];
    uint64_t total;
    uint64_t items;
    uint64_t bytes;
    double started;
    double last_draw;
} progress;

void tool_init(const char *program_name)
{
    if (program_name && *program_name) {
        const char *slash = strrchr(program_name, '/');
        program = slash ? slash + 1 : program_name;
    }
}

void tool_set_verbosity(int level) { verbosity = level; }
int tool_verbosity(void) { return verbosity; }
const char *tool_name(void) { return program; }

double tool_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Caller holds output_lock. */
static void progress_clear_locked(void)
{
    if (progress.drawn) {
        fputs("\r\033[K", stderr);
        progress.drawn = 0;
    }
}

static void vmessage(const char *kind, const char *format, va_list args)
{
    pthread_mutex_lock(&output_lock);
    progress_clear_locked();
    if (kind)
        fprintf(stderr, "%s: %s: ", program, kind);
    else
        fprintf(stderr, "%s: ", program);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&output_lock);
}

void tool_error(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vmessage("error", format, args);
    va_end(args);
}

void tool_silence_warnings(int silenced) { warnings_silenced = silenced; }

void tool_warning(const char *format, ...)
{
    if (warnings_silenced) return;
    va_list args;
    va_start(args, format);
    vmessage("warning", format, args);
    va_end(args);
}

void tool_verbose(const char *format, ...)
{
    if (verbosity < 2) return;
    va_list args;
    va_start(args, format);
    vmessage(NULL, format, args);
    va_end(args);
}

size_t tool_utf8_length(const unsigned char *s, size_t n)
{
    if (n == 0) return 0;
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t need;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) need = 2, cp = c & 0x1fu;
    else if (c >= 0xe0 && c <= 0xef) need = 3, cp = c & 0x0fu;
    else if (c >= 0xf0 && c <= 0xf4) need = 4, cp = c & 0x07u;
    else return 0; /* continuation byte, overlong lead 0xc0/0xc1, or beyond U+10FFFF */
    if (n < need) return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are
     * not UTF-8, and strict JSON parsers reject them. */
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

int tool_parse_uint(const char *option, const char *text, unsigned long min, unsigned long max, unsigned long *value)
{
    /* strtoul accepts leading blanks and a minus sign (wrapping the value);
     * an option value must be plain digits. */
    if (!text || !isdigit((unsigned char)text[0])) {
        tool_error("%s: '%s' is not a non-negative integer", option, text ? text : "");
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long parsed = strtoul(text, &end, 10);
    if (errno == ERANGE || *end != '\0') {
        tool_error("%s: '%s' is not a non-negative integer", option, text);
        return -1;
    }
    if (parsed < min || parsed > max) {
        tool_error("%s: %lu is out of range (%lu to %lu)", option, parsed, min, max);
        return -1;
    }
    *value = parsed;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Progress                                                                  */
/* ------------------------------------------------------------------------- */

static void format_duration(double seconds, char *out, size_t out_size)
{
    if (seconds < 0 || seconds > 359999) {
        snprintf(out, out_size, "--:--");
        return;
    }
    unsigned long s = (unsigned long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, out_size, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, out_size, "%lu:%02lu", s / 60, s % 60);
}

/* Caller holds output_lock. */
static void progress_draw_locked(double now)
{
    double elapsed = now - progress.started;
    double rate = elapsed > 0 ? (double)progress.bytes / elapsed / 1e6 : 0;
    int filled = 0;
    char eta[32] = "--:--";
    if (progress.total > 0) {
        uint64_t items = progress.items < progress.total ? progress.items : progress.total;
        filled = (int)(items * PROGRESS_BAR_WIDTH / progress.total);
        if (items > 0 && elapsed > 0)
            format_duration(elapsed / (double)items * (double)(progress.total - items), eta, sizeof eta);
    }
    char bar[PROGRESS_BAR_WIDTH + 1];
    memset(bar, ' ', PROGRESS_BAR_WIDTH);
    memset(bar, '#', (size_t)filled);
    bar[PROGRESS_BAR_WIDTH] = '\0';
    fprintf(stderr, "\r\033[K[%s] %llu/%llu %s  %.1f MB/s  ETA %s", bar, (unsigned long long)progress.items,
            (unsigned long long)progress.total, progress.label, rate, eta);
    fflush(stderr);
    progress.drawn = 1;
    progress.last_draw = now;
}

void tool_progress_start(const char *label, uint64_t total_items)
{
    pthread_mutex_lock(&output_lock);
    memset(&progress, 0, sizeof progress);
    /* Pipes and log files must stay free of carriage-return noise. */
    progress.active = verbosity == 1 && isatty(STDERR_FILENO);
    snprintf(progress.label, sizeof progress.label, "%s", label ? label : "items");
    progress.total = total_items;
    progress.started = tool_now();
    progress.last_draw = progress.started - PROGRESS_INTERVAL;
    pthread_mutex_unlock(&output_lock);
}

void tool_progress_update(uint64_t items_done, uint64_t bytes_done)
{
    pthread_mutex_lock(&output_lock);
    if (progress.active) {
        progress.items = items_done;
        progress.bytes = bytes_done;
        double now = tool_now();
        if (now - progress.last_draw >= PROGRESS_INTERVAL) progress_draw_locked(now);
    }
    pthread_mutex_unlock(&output_lock);
}

void tool_progress_finish(void)
{
    pthread_mutex_lock(&output_lock);
    progress_clear_locked();
    progress.active = 0;
    fflush(stderr);
    pthread_mutex_unlock(&output_lock);
}

/* ------------------------------------------------------------------------- */
/* Paths                                                                     */
/* ------------------------------------------------------------------------- */

/* Match one '[...]' class at *pattern against c; advances *pattern past the
 * class. Returns 1 match, 0 no match, -1 malformed (treated as literal '['). */
static int match_class(const char **pattern, char c)
{
    const char *p = *pattern + 1;
    int negate = 0, matched = 0;
    if (*p == '!' || *p == '^') {
        negate = 1;
        p++;
    }
    const char *first = p;
    while (*p && (*p != ']' || p == first)) {
        if (p[1] == '-' && p[2] && p[2] != ']') {
            if ((unsigned char)c >= (unsigned char)p[0] && (unsigned char)c <= (unsigned char)p[2]) matched = 1;
            p += 3;
        } else {
            if (*p == c) matched = 1;
            p++;
        }
    }
    if (*p != ']') return -1;
    *pattern = p + 1;
    return matched != negate;
}

static int match_here(const char *pattern, const char *path)
{
    for (;;) {
        char pc = *pattern;
        if (pc == '\0') return *path == '\0';
        if (pc == '*') {
            int crosses = pattern[1] == '*';
            pattern += crosses ? 2 : 1;
            /* "**" followed by '/' also matches zero directories: a / ** / b hits a/b. */
            if (crosses && *pattern == '/' && match_here(pattern + 1, path)) return 1;
            for (const char *s = path;; s++) {
                if (match_here(pattern, s)) return 1;
                if (*s == '\0' || (!crosses && *s == '/')) return 0;
            }
        }
        if (*path == '\0') return 0;
        if (pc == '?') {
            if (*path == '/') return 0;
            pattern++;
            path++;
            continue;
        }
        if (pc == '[') {
            const char *after = pattern;
            int r = *path == '/' ? 0 : match_class(&after, *path);
            if (r == 0) return 0;
            if (r == 1) {
                pattern = after;
                path++;
                continue;
            }
        }
        if (pc == '\\' && pattern[1]) pc = *++pattern;
        if (pc != *path) return 0;
        pattern++;
        path++;
    }
}

int tool_path_match(const char *pattern, const char *path)
{
    if (!pattern || !path) return 0;
    /* Users write patterns with or without the leading '/'; both mean the same. */
    while (*pattern == '/') pattern++;
    while (*path == '/') path++;
    return match_here(pattern, path);
}

int tool_make_parent_dirs(const char *file_path)
{
    if (!file_path) {
        errno = EINVAL;
        return -1;
    }
    size_t len = strlen(file_path);
    char *dir = malloc(len + 1);
    if (!dir) return -1;
    memcpy(dir, file_path, len + 1);
    char *slash = strrchr(dir, '/');
    if (!slash) {
        free(dir);
        return 0;
    }
    *slash = '\0';
    int rc = 0;
    for (char *p = dir + 1; rc == 0; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (dir[0] && mkdir(dir, 0777) != 0 && errno != EEXIST) rc = -1;
        *p = saved;
        if (saved == '\0') break;
    }
    if (rc == 0 && dir[0]) {
        struct stat st;
        if (stat(dir, &st) != 0) rc = -1;
        else if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            rc = -1;
        }
    }
    int saved_errno = errno;
    free(dir);
    errno = saved_errno;
    return rc;
}

void tool_format_bytes(uint64_t bytes, char *out, size_t out_size)
{
    static const char *const units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
    if (!out || out_size == 0) return;
    if (bytes < 1000) {
        snprintf(out, out_size, "%llu B", (unsigned long long)bytes);
        return;
    }
    double value = (double)bytes / 1000.0;
    size_t unit = 0;
    while (value >= 999.95 && unit + 1 < sizeof units / sizeof units[0]) {
        value /= 1000.0;
        unit++;
    }
    if (value < 99.95)
        snprintf(out, out_size, "%.1f %s", value, units[unit]);
    else
        snprintf(out, out_size, "%.0f %s", value, units[unit]);
}
