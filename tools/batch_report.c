/* batch_report.c: what h5imgbatch tells: the progress line, each failure, report.json and the one-line summary. */
#define _GNU_SOURCE
#include "batch.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int progress_drawn;
static double progress_last;

void batch_progress_clear(void)
{
    if (progress_drawn) fputs("\r\033[K", stderr), fflush(stderr);
    progress_drawn = 0;
}

void batch_progress(const batch_job_set *set, const batch_result *results, size_t finished)
{
    /* Logs and pipes get no carriage-return noise. */
    if (set->quiet || !isatty(STDERR_FILENO)) return;
    double now = tool_now();
    if (finished < set->nentries && now - progress_last < 0.1) return;
    progress_last = now;
    size_t failed = 0;
    for (size_t i = 0; i < set->nentries; i++) failed += results[i].status == BATCH_FAILED;
    int width = snprintf(NULL, 0, "%zu", set->nentries);
    fprintf(stderr, "\r\033[K[%*zu/%zu] %zu failed", width, finished, set->nentries, failed);
    fflush(stderr);
    progress_drawn = 1;
}

void batch_note(const batch_job_set *set, size_t index, const batch_result *r)
{
    const batch_entry *e = &set->entries[index];
    if (r->status == BATCH_FAILED) {
        batch_progress_clear();
        /* The first line says it; the report holds the tool's whole stderr. */
        const char *msg = r->error ? r->error : "unknown error";
        const char *nl = strchr(msg, '\n');
        tool_error("'%s' failed: %.*s", e->input, nl ? (int)(nl - msg) : (int)strlen(msg), msg);
    } else if (set->verbose) {
        batch_progress_clear();
        tool_verbose("%s: %s in %.2f s (rank %d)", e->input, r->status == BATCH_DONE ? "done" : "skipped, complete",
                     r->seconds, r->rank);
    }
}

static void json_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

static const char *status_name(batch_status s)
{
    return s == BATCH_DONE ? "done" : s == BATCH_SKIPPED ? "skipped" : s == BATCH_FAILED ? "failed" : "not run";
}

static const char *kind_name(batch_kind k)
{
    return k == BATCH_REPACK ? "repack" : k == BATCH_EXTRACT ? "extract" : "preview";
}

static int write_report(const batch_job_set *set, const batch_result *results, double seconds, int ranks,
                        const size_t counts[4], const char *path)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) return -1;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(tmp);
        return -1;
    }
    fputs("{\n  \"command\": ", f);
    json_string(f, kind_name(set->kind));
    fputs(",\n  \"tool_args\": [", f);
    for (size_t i = 0; i < set->ntool_args; i++) {
        if (i) fputs(", ", f);
        json_string(f, set->tool_args[i]);
    }
    fputs("],\n  \"manifest\": ", f);
    json_string(f, set->manifest);
    fputs(",\n  \"out\": ", f);
    json_string(f, set->out_dir);
    fprintf(f, ",\n  \"ranks\": %d,\n  \"seconds\": %.3f,\n  \"files\": %zu,\n  \"done\": %zu,\n  \"skipped\": %zu,\n"
               "  \"failed\": %zu,\n  \"results\": [",
            ranks, seconds, set->nentries, counts[BATCH_DONE], counts[BATCH_SKIPPED], counts[BATCH_FAILED]);
    for (size_t i = 0; i < set->nentries; i++) {
        const batch_result *r = &results[i];
        fputs(i ? ",\n    {\"input\": " : "\n    {\"input\": ", f);
        json_string(f, set->entries[i].input);
        fputs(", \"output\": ", f);
        json_string(f, set->entries[i].name);
        fputs(", \"status\": ", f);
        json_string(f, status_name(r->status));
        fprintf(f, ", \"bytes_in\": %llu, \"bytes_out\": %llu, \"seconds\": %.3f, \"rank\": %d, \"tool_status\": %d, \"error\": ",
                (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out, r->seconds, r->rank, r->tool_status);
        json_string(f, r->status == BATCH_FAILED ? (r->error ? r->error : "unknown error") : NULL);
        fputc('}', f);
    }
    fputs("\n  ]\n}\n", f);
    int rc = ferror(f) ? -1 : 0;
    if (fclose(f) != 0) rc = -1;
    if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    if (rc != 0) unlink(tmp);
    free(tmp);
    return rc;
}

int batch_report(const batch_job_set *set, const batch_result *results, double seconds, int ranks)
{
    batch_progress_clear();
    size_t counts[4] = {0};
    for (size_t i = 0; i < set->nentries; i++) counts[results[i].status]++;
    char *dir = batch_join(set->out_dir, BATCH_STATE_DIR);
    char *path = dir ? batch_join(dir, "report.json") : NULL;
    free(dir);
    int status = counts[BATCH_FAILED] || counts[BATCH_PENDING] ? TOOL_EXIT_PARTIAL : TOOL_EXIT_OK;
    if (!path || write_report(set, results, seconds, ranks, counts, path) != 0) {
        tool_error("cannot write the report '%s/%s/report.json': %s", set->out_dir, BATCH_STATE_DIR, strerror(errno));
        status = TOOL_EXIT_FAILURE;
    }
    fprintf(stderr, "%s: %zu files: %zu done, %zu skipped, %zu failed in %.1f s\n", tool_name(), set->nentries,
            counts[BATCH_DONE], counts[BATCH_SKIPPED], counts[BATCH_FAILED] + counts[BATCH_PENDING], seconds);
    if (path && status != TOOL_EXIT_FAILURE) fprintf(stderr, "%s: report: %s\n", tool_name(), path);
    free(path);
    return status;
}
