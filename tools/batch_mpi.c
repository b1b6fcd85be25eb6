/* batch_mpi.c: h5imgbatch over MPI ranks: rank 0 shares the manifest, hands out files largest first as ranks ask, and runs files itself. */
#include "batch.h"
#include "util.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Design: MPI is called from one thread only (MPI_THREAD_SINGLE). Rank 0
 * needs no worker thread to stay busy, because no rank does a file's work
 * itself: the tool runs in a child process. Rank 0 starts its own child, then
 * polls, in turn, for a rank's request (MPI_Iprobe) and for its child's exit
 * (waitpid WNOHANG), napping 2 ms only when neither had news. So its core runs
 * its own file while requests are answered within milliseconds, and no MPI
 * library needs MPI_THREAD_MULTIPLE. The cost: while rank 0 checksums and
 * renames its own finished output (a re-read of the output, usually from the
 * page cache) the other ranks' requests wait. */

enum { TAG_REQUEST = 1, TAG_WORK = 2 };
#define NAP_NS 2000000L

/* A finished file travels with the worker's next request. */
struct wire_result {
    int64_t index; /* -1: no result, first request */
    int32_t status, rank, tool_status, error_len;
    uint64_t bytes_in, bytes_out;
    double seconds;
};

int batch_mpi_wanted(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", NULL};
    for (const char *const *v = vars; *v; v++)
        if (getenv(*v)) return 1;
    return 0;
}

static void send_request(int64_t index, const batch_result *r, int rank)
{
    struct wire_result w = {.index = index, .rank = rank};
    size_t elen = 0;
    if (index >= 0) {
        w.status = (int32_t)r->status;
        w.tool_status = r->tool_status;
        w.bytes_in = r->bytes_in;
        w.bytes_out = r->bytes_out;
        w.seconds = r->seconds;
        elen = r->error ? strlen(r->error) : 0;
        w.error_len = (int32_t)elen;
    }
    char *buffer = malloc(sizeof w + elen);
    if (!buffer) MPI_Abort(MPI_COMM_WORLD, TOOL_EXIT_FAILURE);
    memcpy(buffer, &w, sizeof w);
    if (elen) memcpy(buffer + sizeof w, r->error, elen);
    MPI_Send(buffer, (int)(sizeof w + elen), MPI_BYTE, 0, TAG_REQUEST, MPI_COMM_WORLD);
    free(buffer);
}

/* Receive one request; stores its result. Returns the sender. */
static int receive_request(const MPI_Status *probed, batch_result *results, size_t n, int64_t *index)
{
    int count = 0;
    MPI_Get_count(probed, MPI_BYTE, &count);
    char *buffer = malloc((size_t)count + 1);
    if (!buffer) MPI_Abort(MPI_COMM_WORLD, TOOL_EXIT_FAILURE);
    MPI_Recv(buffer, count, MPI_BYTE, probed->MPI_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    struct wire_result w;
    memcpy(&w, buffer, sizeof w);
    *index = w.index;
    if (w.index >= 0 && (size_t)w.index < n) {
        batch_result *r = &results[w.index];
        r->status = (batch_status)w.status;
        r->rank = w.rank;
        r->tool_status = w.tool_status;
        r->bytes_in = w.bytes_in;
        r->bytes_out = w.bytes_out;
        r->seconds = w.seconds;
        if (w.error_len > 0 && (size_t)w.error_len <= (size_t)count - sizeof w) {
            r->error = malloc((size_t)w.error_len + 1);
            if (r->error) memcpy(r->error, buffer + sizeof w, (size_t)w.error_len), r->error[w.error_len] = '\0';
        }
    }
    free(buffer);
    return probed->MPI_SOURCE;
}

static void dispatch(const batch_job_set *set, batch_result *results, int size)
{
    size_t n = set->nentries, next = 0, finished = 0, own_index = 0;
    int workers = size - 1, own_busy = 0;
    batch_run own;
    while (finished < n || workers > 0) {
        int news = 0;
        if (!own_busy && next < n) {
            own_index = set->order[next++];
            news = 1;
            if (batch_run_start(&own, set, own_index, &results[own_index])) {
                batch_note(set, own_index, &results[own_index]);
                batch_progress(set, results, ++finished);
            } else {
                own_busy = 1;
            }
        }
        int flag = 0;
        MPI_Status probed;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQUEST, MPI_COMM_WORLD, &flag, &probed);
        if (flag) {
            int64_t done_index, work = -1;
            int source = receive_request(&probed, results, n, &done_index);
            if (done_index >= 0) {
                batch_note(set, (size_t)done_index, &results[done_index]);
                batch_progress(set, results, ++finished);
            }
            if (next < n) work = (int64_t)set->order[next++];
            else workers--;
            MPI_Send(&work, 1, MPI_INT64_T, source, TAG_WORK, MPI_COMM_WORLD);
            news = 1;
        }
        if (own_busy && batch_run_poll(&own, 0, &results[own_index])) {
            own_busy = 0;
            batch_note(set, own_index, &results[own_index]);
            batch_progress(set, results, ++finished);
            news = 1;
        }
        if (!news) nanosleep(&(struct timespec){0, NAP_NS}, NULL);
    }
}

static void work(const batch_job_set *set, int rank)
{
    int64_t index = -1;
    batch_result r;
    memset(&r, 0, sizeof r);
    for (;;) {
        send_request(index, &r, rank);
        free(r.error);
        memset(&r, 0, sizeof r);
        int64_t next;
        MPI_Recv(&next, 1, MPI_INT64_T, 0, TAG_WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (next < 0 || (size_t)next >= set->nentries) break;
        batch_run run;
        if (!batch_run_start(&run, set, (size_t)next, &r)) batch_run_poll(&run, 1, &r);
        r.rank = rank;
        index = next;
    }
}

int batch_mpi_main(batch_job_set *set)
{
    int rank = 0, size = 1;
    MPI_Init(NULL, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    double started = tool_now();

    /* One reader of the manifest: every rank then parses the same bytes. */
    size_t length = 0;
    char *text = NULL;
    int64_t wire_length = -1;
    if (rank == 0 && (text = batch_manifest_read(set->manifest, &length))) wire_length = (int64_t)length;
    MPI_Bcast(&wire_length, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (wire_length < 0) {
        MPI_Finalize();
        return TOOL_EXIT_FAILURE;
    }
    if (rank != 0 && !(text = malloc((size_t)wire_length + 1))) MPI_Abort(MPI_COMM_WORLD, TOOL_EXIT_FAILURE);
    MPI_Bcast(text, (int)wire_length, MPI_BYTE, 0, MPI_COMM_WORLD);
    text[wire_length] = '\0';
    /* Rank 0 checks first and alone, so a bad manifest is reported once; the
     * others parse the same bytes only once it passed. */
    int lock = 0, ok = 1;
    if (rank == 0) ok = (lock = batch_setup(set, text, (size_t)wire_length, 1)) >= 0;
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (ok && rank != 0 && batch_setup(set, text, (size_t)wire_length, 0) < 0) MPI_Abort(MPI_COMM_WORLD, TOOL_EXIT_FAILURE);
    free(text);
    if (!ok) {
        MPI_Finalize();
        return TOOL_EXIT_FAILURE;
    }
    if (rank != 0) set->quiet = 1;

    int status = TOOL_EXIT_OK;
    if (rank == 0) {
        batch_result *results = calloc(set->nentries, sizeof *results);
        if (!results) {
            tool_error("out of memory");
            MPI_Abort(MPI_COMM_WORLD, TOOL_EXIT_FAILURE);
        }
        dispatch(set, results, size);
        status = batch_report(set, results, tool_now() - started, size);
        for (size_t i = 0; i < set->nentries; i++) free(results[i].error);
        free(results);
        close(lock);
    } else {
        work(set, rank);
    }
    MPI_Finalize();
    return status;
}
