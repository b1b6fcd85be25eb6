/* batch.h: what the parts of h5imgbatch share: the job description, one file's result, and the calls between the parts. */
#ifndef H5IMG_TOOLS_BATCH_H
#define H5IMG_TOOLS_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef enum { BATCH_REPACK, BATCH_EXTRACT, BATCH_PREVIEW } batch_kind;

/* The state folder under DIR: completion records, the lock and the report. */
#define BATCH_STATE_DIR ".h5imgbatch"
/* Every temporary h5imgbatch makes in DIR starts with this, so a rerun can
 * find and remove what a killed run left behind. */
#define BATCH_TMP_PREFIX ".h5imgbatch-tmp."

typedef struct {
    char *input;   /* as written in the manifest */
    char *name;    /* output name under DIR: basename, or basename without extension (+ ".png") */
    uint64_t size; /* st_size at start, for the largest-first order; 0 when stat failed */
    int stat_errno;
} batch_entry;

typedef struct {
    batch_kind kind;
    const char *manifest;
    const char *out_dir;
    const char *tool_path;   /* h5imgrepack or h5imgdump */
    char **tool_args;        /* the options passed through, NULL-terminated */
    size_t ntool_args;
    char *args_key;          /* subcommand and options as one line: a record matches only the same command */
    int quiet, verbose;
    batch_entry *entries;    /* in manifest order */
    size_t nentries;
    size_t *order;           /* indices into entries, largest input first */
} batch_job_set;

typedef enum { BATCH_PENDING = 0, BATCH_DONE, BATCH_SKIPPED, BATCH_FAILED } batch_status;

typedef struct {
    batch_status status;
    uint64_t bytes_in, bytes_out;
    double seconds;
    int rank;
    int tool_status;   /* the tool's exit status, -1 when it did not run, 128+N for signal N */
    char *error;       /* malloc'd, NULL unless failed */
} batch_result;

/* batch_manifest.c */
/* Parse manifest text (one path per line; blank lines and '#' lines ignored)
 * into set->entries with their output names. Returns 0 or -1 after an error. */
int batch_manifest_parse(batch_job_set *set, const char *text, size_t length);
/* Read the manifest file whole. Returns malloc'd text or NULL after an error. */
char *batch_manifest_read(const char *path, size_t *length);
/* Refuse two inputs with the same output name, naming both. 0 or -1. */
int batch_manifest_check_names(const batch_job_set *set);
/* stat every input and fill set->order, largest first. 0 or -1 (out of memory). */
int batch_manifest_order(batch_job_set *set);
void batch_manifest_free(batch_job_set *set);

/* batch_record.c */
/* Create DIR and DIR/.h5imgbatch, take the lock, remove stale temporaries.
 * Returns the lock's descriptor (kept open for the run) or -1 after an error. */
int batch_prepare_dir(const batch_job_set *set);
/* CRC-32 over the output (a file, or every file under a directory in
 * sorted order with its relative path and size). 0 or -1 with errno. */
int batch_checksum(const char *path, uint32_t *crc, uint64_t *bytes, uint64_t *files);
/* 1 when entry's record says it is complete and still true (input unchanged,
 * output present with the same checksum), filling bytes_out; else 0. */
int batch_record_valid(const batch_job_set *set, const batch_entry *entry, uint64_t *bytes_out);
void batch_record_remove(const batch_job_set *set, const batch_entry *entry);
/* Write the record atomically (temporary name, fsync, rename). 0 or -1 with errno. */
int batch_record_write(const batch_job_set *set, const batch_entry *entry, const struct stat *input_stat,
                       uint32_t crc, uint64_t bytes, uint64_t files);
/* rm -rf, for temporaries and replaced outputs. 0 or -1. */
int batch_remove_tree(const char *path);
/* malloc'd "a/b", or NULL. */
char *batch_join(const char *a, const char *b);

/* batch_run.c: one file from start to record, non-blocking so rank 0 can poll MPI between calls. */
typedef struct {
    const batch_job_set *set;
    size_t index;
    pid_t pid;       /* 0 when no tool is running */
    int err_fd;      /* the tool's stderr (a memfd) */
    char *tmp_dir;   /* DIR/.h5imgbatch-tmp.HOST.PID.INDEX */
    double started;
    struct stat *input_stat;
} batch_run;

/* Begin entry `index`. Returns 1 when the result is already final (skipped,
 * or failed before a tool ran), 0 when a tool runs and batch_run_poll must
 * be called. */
int batch_run_start(batch_run *run, const batch_job_set *set, size_t index, batch_result *result);
/* Returns 1 when the run finished (result filled), 0 while the tool still
 * runs (only when !block). */
int batch_run_poll(batch_run *run, int block, batch_result *result);
/* One process doing every file, in the largest-first order. */
void batch_run_all(const batch_job_set *set, batch_result *results);

/* batch_report.c */
void batch_progress(const batch_job_set *set, const batch_result *results, size_t finished);
void batch_progress_clear(void);
/* Report one finished file on stderr (failures always, others with -v). */
void batch_note(const batch_job_set *set, size_t index, const batch_result *result);
/* Write DIR/.h5imgbatch/report.json and print the summary. Returns the exit status. */
int batch_report(const batch_job_set *set, const batch_result *results, double seconds, int ranks);

/* h5imgbatch.c: parse the manifest text; on the root also check names,
 * order by size and prepare DIR. Returns the lock's descriptor on the root,
 * 0 elsewhere, -1 after an error. */
int batch_setup(batch_job_set *set, const char *text, size_t length, int root);

/* batch_mpi.c (built only with MPI) */
/* True when an MPI launcher (mpirun, srun with PMI/PMIx) started us. */
int batch_mpi_wanted(void);
/* The whole run across the ranks; returns this rank's exit status. */
int batch_mpi_main(batch_job_set *set);
#endif
