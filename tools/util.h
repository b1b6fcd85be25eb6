/* util.h: what h5imgrepack and h5imgdump share: messages, option parsing helpers, progress, paths. */
#ifndef H5IMG_TOOLS_UTIL_H
#define H5IMG_TOOLS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes, as h5dump/h5repack use them: 0 success, 1 failure. Tools add
 * 2 for "finished, but some frames failed or were kept raw" (documented in
 * each tool's --help). */
enum { TOOL_EXIT_OK = 0, TOOL_EXIT_FAILURE = 1, TOOL_EXIT_PARTIAL = 2 };

/* Set the program name used as the prefix of every message, and the
 * verbosity (0 quiet, 1 normal, 2 = -v). Call once from main. */
void tool_init(const char *program_name);
void tool_set_verbosity(int level);
int tool_verbosity(void);
const char *tool_name(void);

/* Messages go to stderr as "PROG: error: ...". They clear the progress line
 * first so the two never interleave. */
void tool_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
void tool_warning(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* h5imgdump's -q promises no warnings; h5imgrepack's -q keeps them, so
 * this is separate from the verbosity. Errors are never silenced. */
void tool_silence_warnings(int silenced);
/* Printed only at verbosity >= 2 (-v), to stderr. */
void tool_verbose(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when
 * the bytes there are not UTF-8. HDF5 names and strings are arbitrary
 * bytes, so JSON output escapes each byte this rejects as \u00XX. */
size_t tool_utf8_length(const unsigned char *s, size_t n);

/* Strict number parsing for option values: whole string, in range.
 * Returns 0 on success, -1 (after tool_error naming the option) otherwise. */
int tool_parse_uint(const char *option, const char *text, unsigned long min, unsigned long max, unsigned long *value);

/* Progress line on stderr, only when stderr is a terminal and verbosity is
 * normal: "[#####     ] 120/2529 frames  85.3 MB/s  ETA 0:28". Updates are
 * rate-limited, so calling per frame is cheap. Thread-safe. */
void tool_progress_start(const char *label, uint64_t total_items);
void tool_progress_update(uint64_t items_done, uint64_t bytes_done);
void tool_progress_finish(void);

/* Glob-style pattern match ('*' any run not crossing '/', '**' any run, '?'
 * one char, '[...]' class) against an HDF5 path without its leading '/'. */
int tool_path_match(const char *pattern, const char *path);

/* mkdir -p for the directory part of `file_path`. Returns 0 or -1 (errno set). */
int tool_make_parent_dirs(const char *file_path);

/* Seconds since an arbitrary fixed point (monotonic clock). */
double tool_now(void);

/* "1.6 GB", "812 kB": decimal units, for summaries. */
void tool_format_bytes(uint64_t bytes, char *out, size_t out_size);

#endif
