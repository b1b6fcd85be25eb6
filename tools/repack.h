/* repack.h: private interfaces between the parts of h5imgrepack (walk, frames, attributes, safe output, report). */
#ifndef H5IMG_TOOLS_REPACK_H
#define H5IMG_TOOLS_REPACK_H

#include "h5img.h"

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* Name of the attribute that marks a converted dataset and holds what
 * --unpack needs to rebuild the original (see repack_frame.c). */
#define REPACK_ORIGINAL_ATTR "H5IMG_ORIGINAL"

/* Pseudo-rule for --rule PATTERN=keep: leave matching datasets as they are. */
#define REPACK_RULE_KEEP (-1)

struct repack_rule_map {
    const char *pattern;
    int rule; /* h5img_rule (never AUTO) or REPACK_RULE_KEEP */
};

struct repack_options {
    const char *in;
    const char *out;
    int unpack;
    int verify;
    int strict;
    int bgr;
    int force;
    int no_sync; /* --no-sync: OUT is renamed into place without fsync */
    struct repack_rule_map *rules;
    size_t rule_count;
};

/* A frame that stayed raw (or an object that could not be restored). */
struct repack_problem {
    char *path;
    char *reason;
};

struct repack_stats {
    uint64_t converted[2]; /* indexed by h5img_codec: PNG, JPEG */
    uint64_t restored;     /* --unpack: datasets turned back into bytes */
    uint64_t kept_raw;
    uint64_t copied;       /* other datasets and named datatypes copied as they are */
    uint64_t groups;
    uint64_t links;        /* soft, external and extra hard links */
    uint64_t frames_seen;  /* candidates handled, for the progress line */
    uint64_t frame_bytes;  /* encoded bytes moved, for the progress line */
    uint64_t frames_total; /* candidates counted up front (0 when not counted) */
    struct repack_problem *problems;
    size_t problem_count;
    size_t problem_capacity;
};

/* IN mapped read-only (see repack_source.c). */
struct repack_source {
    int fd; /* -1 and map NULL: not mapped, frames are read through HDF5 */
    const unsigned char *map;
    size_t size;
};

/* Raw-data writes the kernel moved from IN to OUT itself (splice or
 * copy_file_range), and those that went through memory (pwrite from the
 * mapping, where neither works between the two files). */
struct repack_copy_stats {
    uint64_t kernel_writes;
    uint64_t kernel_bytes;
    uint64_t memory_writes;
    uint64_t memory_bytes;
};

/* Not an errno: the kernel's copy found IN shorter than when it was opened
 * (truncated or rewritten by another program), which is IN's fault, not OUT's. */
#define REPACK_INPUT_SHRANK (-1)

/* Shared between the tool and OUT's file driver (repack_vfd.c). */
struct repack_output {
    struct repack_copy_stats copied; /* complete once OUT is closed */
    int error;                       /* errno of the first write into OUT that was lost, 0 if none, or
                                        REPACK_INPUT_SHRANK: IN ended before a frame's bytes were copied */
    int reported;                    /* the tool has printed it */
    int open_files;                  /* files whose copier may still read IN: keep it mapped */
    int closing;                     /* set by the tool before flushing and closing OUT: from then
                                        on write errors are recorded here, not returned to HDF5 */
};

/* An object reachable through more than one hard link, already written. */
struct repack_seen {
    haddr_t addr;
    char *out_path;
};

struct repack_type; /* repack_types.c */

struct repack_ctx {
    const struct repack_options *opt;
    hid_t in;
    hid_t out;
    h5img_decoder *decoder; /* only with --verify */
    struct repack_source source;
    struct repack_output output;
    struct repack_stats stats;
    struct repack_seen *seen;
    size_t seen_count;
    size_t seen_capacity;
    struct repack_type *types; /* IN's committed datatypes met so far and their OUT copies */
    size_t type_count;
    size_t type_capacity;
    hsize_t largest_attribute; /* from repack_find_references */
};

/* ---- repack_walk.c ---- */

/* Copy IN's root (attributes, then every link below) into OUT, converting
 * or restoring frames on the way. Returns 0, or -1 after tool_error. */
int repack_walk(struct repack_ctx *ctx);

/* Number of datasets the walk will treat as frame candidates (for progress). */
uint64_t repack_count_candidates(hid_t file, int unpack);

/* 1 when some dataset or attribute of `file` holds object or region
 * references (`where` then names the first), 0 when none, -1 when the walk
 * failed. The tool cannot remap them into OUT. The same pass sets
 * *largest_attribute (if not NULL) to the data size of the largest
 * attribute seen, which decides the file format --unpack needs. */
int repack_find_references(hid_t file, char *where, size_t where_size, hsize_t *largest_attribute);

/* ---- repack_frame.c ---- */

/* What happened to one dataset handed to the frame code. */
enum repack_outcome {
    REPACK_NOT_FRAME = 0, /* not for us: the caller copies it as it is */
    REPACK_DONE,          /* converted or restored: the destination exists */
    REPACK_KEPT_RAW,      /* left as it is and listed; the destination exists */
    REPACK_FAILED         /* hard error, reported */
};

/* Repack direction: a 1-D uint8 dataset named `name` in src_group. */
enum repack_outcome repack_convert_frame(struct repack_ctx *ctx, hid_t src_group, hid_t dst_group,
                                         const char *name, const char *path, hid_t lcpl);
/* Unpack direction: a dataset carrying REPACK_ORIGINAL_ATTR and the filter. */
enum repack_outcome repack_restore_frame(struct repack_ctx *ctx, hid_t src_group, hid_t dst_group,
                                         const char *name, const char *path, hid_t lcpl);

/* A byte vector whose first bytes carry a PNG or JPEG signature. */
int repack_looks_encoded(hid_t dataset);
/* True for a dataset written by repack (filter and marker attribute). */
int repack_is_converted(hid_t dataset);

/* ---- repack_attrs.c ---- */

/* Copy every attribute of src to dst, except names listed in `skip`
 * (NULL-terminated, may be NULL) and, when skip_csv is given, names in that
 * comma-separated list. Order follows creation order when tracked; an
 * attribute whose type is committed in IN uses OUT's copy of that type. */
int repack_copy_attributes(struct repack_ctx *ctx, hid_t src, hid_t dst, const char *const *skip,
                           const char *skip_csv);
/* Write a scalar fixed-length, null-terminated ASCII string attribute, the
 * form the HDF5 Image specification and H5LT use. */
int repack_write_string_attr(hid_t obj, const char *name, const char *value);
/* Read a scalar string attribute (fixed or variable length) into a malloc()ed
 * string; NULL when absent or not a string. */
char *repack_read_string_attr(hid_t obj, const char *name);

/* ---- repack_types.c ---- */

/* IN's committed datatypes keep one committed OUT type each: shared where
 * IN shares one, distinct where IN has two of the same definition. */

/* When in_type (of the object at `path`) is committed in IN, set *out_type
 * to OUT's type for it, committing it without a name on first use; the
 * handle belongs to ctx (do not close it). Otherwise *out_type = -1.
 * Returns 0, or -1 after tool_error. */
int repack_output_type(struct repack_ctx *ctx, hid_t in_type, const char *path, hid_t *out_type);
/* The named datatype `name` of src becomes `name` in dst: committed there
 * with its attributes, or a link to OUT's type when a use came first. */
int repack_copy_named_type(struct repack_ctx *ctx, hid_t src, hid_t dst, const char *name, const char *path,
                           hid_t lcpl);
/* Close OUT's types (before OUT is closed) and forget them. */
void repack_types_close(struct repack_ctx *ctx);

/* ---- repack_dataset.c ---- */

/* Copy dataset `name` of src_group as it is: H5Ocopy, except when its type
 * or an attribute's is committed, where it is rebuilt around OUT's
 * committed types (H5Ocopy would give each use an anonymous copy). */
int repack_copy_dataset(struct repack_ctx *ctx, hid_t src_group, hid_t dst_group, const char *name, const char *path,
                        hid_t lcpl);

/* ---- repack_safe.c ---- */

/* Check IN and OUT (IN exists and is not OUT; OUT absent unless --force),
 * compute the temporary path beside OUT and install SIGINT/SIGTERM/SIGHUP
 * handlers that remove it. Returns 0 or -1 after tool_error. */
int repack_safe_begin(const struct repack_options *opt);
const char *repack_safe_temp_path(void);
/* fsync the closed temporary file (unless !sync), rename it over OUT, fsync
 * the directory (unless !sync). Signals are held off from here on: after
 * the rename the job is done. */
int repack_safe_commit(const char *out, int sync);
/* Remove the temporary file (failure paths). */
void repack_safe_abort(void);

/* ---- repack_source.c ---- */

/* Map IN (the file HDF5 has open as `in`). Returns -1 when it cannot be
 * mapped; frames are then read through HDF5, which is only slower. */
int repack_source_open(struct repack_source *source, const char *path, hid_t in);
void repack_source_close(struct repack_source *source);
/* The `length` bytes of a contiguous 1-D byte dataset, where they lie in the
 * mapping; NULL when they are not in one run there. */
const unsigned char *repack_source_bytes(const struct repack_source *source, hid_t dataset, hsize_t length);

/* ---- repack_copy.c ---- */

/* A worker thread copying ranges of IN into OUT in submission order. Calls
 * return 0 or the errno of the first failed copy, after which every call
 * fails with it and queued copies are dropped. */
struct repack_copier;
/* writeback: start writeback of the copied ranges as it goes (OUT will be fsynced). */
struct repack_copier *repack_copier_start(int in_fd, const unsigned char *map, int out_fd, int writeback);
/* Queue IN[src, src+len) -> OUT[dst, dst+len); waits only when the queue is full. */
int repack_copier_submit(struct repack_copier *copier, uint64_t src, uint64_t dst, uint64_t len);
/* Wait until no queued copy touches OUT[start, start+len). */
int repack_copier_settle(struct repack_copier *copier, uint64_t start, uint64_t len);
/* Wait until every queued copy is done. */
int repack_copier_drain(struct repack_copier *copier);
/* One past the highest byte of OUT written so far. */
uint64_t repack_copier_end(struct repack_copier *copier);
/* Finish the queue, join the thread, add the counts to `stats`, free. */
int repack_copier_stop(struct repack_copier *copier, struct repack_copy_stats *stats);

/* ---- repack_vfd.c ---- */

/* File access property list for OUT: the sec2 driver, except that raw data
 * HDF5 writes from a buffer inside source's mapping (a frame chunk passed
 * straight from IN) is copied in the kernel by a repack_copier. `output`
 * receives the counts and the first lost write (a failed copy or sec2
 * write); it must outlive the file. */
hid_t repack_vfd_fapl(const struct repack_source *source, int writeback, struct repack_output *output);

/* ---- repack_report.c ---- */

/* Record a frame kept raw or an object not restored (path and reason). */
void repack_problem(struct repack_ctx *ctx, const char *path, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
void repack_progress(struct repack_ctx *ctx, uint64_t bytes);
/* Print the problem list and, unless quiet, the closing summary. */
void repack_report(const struct repack_ctx *ctx, double seconds, uint64_t bytes_in, uint64_t bytes_out);
void repack_stats_free(struct repack_stats *stats);
/* When OUT's driver has recorded a failed write, say so once (naming OUT and
 * the errno text) and return 1; otherwise 0. */
int repack_output_failed(struct repack_ctx *ctx);

#endif
