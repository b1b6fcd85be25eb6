/* repack_copy.c: a worker thread that copies ranges of IN into OUT inside the kernel; it never calls HDF5. */
#define _GNU_SOURCE
#include "repack.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Deep enough that the worker never starves while HDF5 prepares the next
 * frames; the main thread waits when it is full, so memory stays bounded. */
#define QUEUE_CAPACITY 256
/* When OUT will be fsynced, writeback is started every this many copied
 * bytes, so that the final fsync finds most pages already on their way to
 * the disk (measured: 2 MB steps beat 1, 4, 8 and 16 MB and every frame). */
#define WRITEBACK_STEP (2u << 20)
/* The default pipe-max-size: what an unprivileged process may ask for. */
#define PIPE_SIZE ((size_t)1 << 20)

struct copy_job {
    uint64_t src;
    uint64_t dst;
    uint64_t len;
};

struct repack_copier {
    int in_fd;
    int out_fd;
    const unsigned char *map; /* IN's mapping, for the pwrite fallback */
    int writeback;

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;    /* the worker: a job arrived or stop was asked */
    pthread_cond_t settled; /* the main thread: a job finished */
    struct copy_job queue[QUEUE_CAPACITY];
    size_t head, count;
    int busy;               /* the worker holds `current`, which still counts as pending */
    struct copy_job current;
    int stopping;
    int error;              /* first errno; after it, queued jobs are dropped */
    uint64_t end;           /* highest byte written, for the driver's EOF */
    struct repack_copy_stats stats;

    /* Worker-only state. */
    int pipe[2];
    size_t pipe_size;       /* 0: no pipe (or splice does not work here) */
    int kernel_refused;     /* copy_file_range unsupported here: pwrite from the mapping */
    uint64_t dirty_lo, dirty_hi, dirty_bytes;
};

static int write_from_map(struct repack_copier *c, uint64_t src, uint64_t dst, uint64_t len)
{
    while (len > 0) {
        size_t step = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t n = pwrite(c->out_fd, c->map + src, step, (off_t)dst);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return EIO;
        src += (uint64_t)n;
        dst += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

/* These mean "not between these two files" (file systems without splice or
 * cross-file-system copies, old kernels), not a failed write: the next way
 * of copying is tried. */
static int cannot(int err)
{
    return err == EXDEV || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL || err == EBADF;
}

/* Moves the pipe's contents into OUT; 0 or an errno. */
static int drain_pipe(struct repack_copier *c, loff_t *dst, size_t held)
{
    while (held > 0) {
        ssize_t n = splice(c->pipe[0], NULL, c->out_fd, dst, held, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return EIO;
        held -= (size_t)n;
    }
    return 0;
}

/* Through the worker's own pipe, a megabyte at a time: the kernel then
 * writes a whole frame per batch into OUT's page cache. copy_file_range
 * splices through a 64 kB pipe, and batches that small, starting wherever
 * HDF5 put the chunk, cost about 40% more kernel time per byte. Returns 0
 * or an errno; *done counts the bytes that reached OUT. */
static int splice_range(struct repack_copier *c, uint64_t src, uint64_t dst, uint64_t len, uint64_t *done)
{
    loff_t in_pos = (loff_t)src, out_pos = (loff_t)dst;
    *done = 0;
    while (*done < len) {
        size_t step = len - *done > c->pipe_size ? c->pipe_size : (size_t)(len - *done);
        ssize_t n = splice(c->in_fd, &in_pos, c->pipe[1], NULL, step, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return REPACK_INPUT_SHRANK; /* IN ended early: it shrank under us */
        int err = drain_pipe(c, &out_pos, (size_t)n);
        if (err) return err;
        *done += (uint64_t)n;
    }
    return 0;
}

static void close_pipe(struct repack_copier *c)
{
    if (c->pipe_size == 0) return;
    close(c->pipe[0]);
    close(c->pipe[1]);
    c->pipe_size = 0;
}

static int copy_file_range_all(struct repack_copier *c, uint64_t src, uint64_t dst, uint64_t len, uint64_t *done)
{
    loff_t in_pos = (loff_t)src, out_pos = (loff_t)dst;
    *done = 0;
    while (*done < len) {
        size_t step = len - *done > (1u << 30) ? (1u << 30) : (size_t)(len - *done);
        ssize_t n = copy_file_range(c->in_fd, &in_pos, c->out_fd, &out_pos, step, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return REPACK_INPUT_SHRANK; /* at IN's end, which the frame was inside of */
        *done += (uint64_t)n;
    }
    return 0;
}

/* splice, else copy_file_range, else pwrite from the mapping, each taking
 * over where the previous one stopped. Returns 0 or an errno. */
static int copy_range(struct repack_copier *c, const struct copy_job *job, int *in_kernel)
{
    uint64_t src = job->src, dst = job->dst, len = job->len, done = 0;
    if (c->pipe_size) {
        int err = splice_range(c, src, dst, len, &done);
        src += done;
        dst += done;
        len -= done;
        if (err && !cannot(err)) return err;
        if (err) close_pipe(c); /* bytes left in it are copied again below */
    }
    if (len > 0 && !c->kernel_refused) {
        int err = copy_file_range_all(c, src, dst, len, &done);
        src += done;
        dst += done;
        len -= done;
        if (err && !cannot(err)) return err;
        if (err) c->kernel_refused = 1;
    }
    *in_kernel = len == 0;
    return len > 0 ? write_from_map(c, src, dst, len) : 0;
}

static void start_writeback(struct repack_copier *c, const struct copy_job *job)
{
    if (!c->writeback) return;
    if (c->dirty_bytes == 0 || job->dst < c->dirty_lo) c->dirty_lo = job->dst;
    if (job->dst + job->len > c->dirty_hi) c->dirty_hi = job->dst + job->len;
    c->dirty_bytes += job->len;
    if (c->dirty_bytes < WRITEBACK_STEP) return;
    /* Only a hint: fsync at the end still checks every page, errors included. */
    sync_file_range(c->out_fd, (off_t)c->dirty_lo, (off_t)(c->dirty_hi - c->dirty_lo), SYNC_FILE_RANGE_WRITE);
    c->dirty_bytes = 0;
    c->dirty_hi = 0;
}

static void *worker(void *arg)
{
    struct repack_copier *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (c->count == 0 && !c->stopping) pthread_cond_wait(&c->wake, &c->lock);
        if (c->count == 0) break;
        c->current = c->queue[c->head];
        c->head = (c->head + 1) % QUEUE_CAPACITY;
        c->count--;
        c->busy = 1;
        pthread_mutex_unlock(&c->lock);

        int in_kernel = 0;
        int err = copy_range(c, &c->current, &in_kernel);
        if (err == 0) start_writeback(c, &c->current);

        pthread_mutex_lock(&c->lock);
        c->busy = 0;
        if (err && !c->error) {
            c->error = err;
            c->count = 0; /* OUT is lost anyway: stop moving bytes into it */
        }
        if (!err) {
            uint64_t *writes = in_kernel ? &c->stats.kernel_writes : &c->stats.memory_writes;
            uint64_t *bytes = in_kernel ? &c->stats.kernel_bytes : &c->stats.memory_bytes;
            (*writes)++;
            *bytes += c->current.len;
            if (c->current.dst + c->current.len > c->end) c->end = c->current.dst + c->current.len;
        }
        pthread_cond_broadcast(&c->settled);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

struct repack_copier *repack_copier_start(int in_fd, const unsigned char *map, int out_fd, int writeback)
{
    struct repack_copier *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    c->map = map;
    c->writeback = writeback;
    /* Without a large pipe splice has no edge over copy_file_range. */
    if (pipe2(c->pipe, O_CLOEXEC) == 0) {
        if (fcntl(c->pipe[1], F_SETPIPE_SZ, PIPE_SIZE) >= (int)PIPE_SIZE)
            c->pipe_size = PIPE_SIZE;
        else {
            close(c->pipe[0]);
            close(c->pipe[1]);
        }
    }
    int err = pthread_mutex_init(&c->lock, NULL);
    if (err) goto fail;
    if ((err = pthread_cond_init(&c->wake, NULL)) != 0) goto fail_lock;
    if ((err = pthread_cond_init(&c->settled, NULL)) != 0) goto fail_wake;
    /* The thread inherits a mask blocking every signal: SIGINT and the like
     * are handled on the main thread, which blocks them while it renames OUT. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&c->thread, NULL, worker, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err == 0) return c;
    pthread_cond_destroy(&c->settled);
fail_wake:
    pthread_cond_destroy(&c->wake);
fail_lock:
    pthread_mutex_destroy(&c->lock);
fail:
    close_pipe(c);
    free(c);
    errno = err;
    return NULL;
}

static int overlaps(const struct copy_job *job, uint64_t start, uint64_t len)
{
    return job->dst < start + len && start < job->dst + job->len;
}

static int pending_overlap(const struct repack_copier *c, uint64_t start, uint64_t len)
{
    if (c->busy && overlaps(&c->current, start, len)) return 1;
    for (size_t i = 0; i < c->count; i++)
        if (overlaps(&c->queue[(c->head + i) % QUEUE_CAPACITY], start, len)) return 1;
    return 0;
}

int repack_copier_submit(struct repack_copier *c, uint64_t src, uint64_t dst, uint64_t len)
{
    pthread_mutex_lock(&c->lock);
    while (c->count == QUEUE_CAPACITY && !c->error) pthread_cond_wait(&c->settled, &c->lock);
    int err = c->error;
    if (!err) {
        c->queue[(c->head + c->count) % QUEUE_CAPACITY] = (struct copy_job){src, dst, len};
        c->count++;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

int repack_copier_settle(struct repack_copier *c, uint64_t start, uint64_t len)
{
    pthread_mutex_lock(&c->lock);
    while (!c->error && pending_overlap(c, start, len)) pthread_cond_wait(&c->settled, &c->lock);
    int err = c->error;
    pthread_mutex_unlock(&c->lock);
    return err;
}

int repack_copier_drain(struct repack_copier *c)
{
    pthread_mutex_lock(&c->lock);
    while (!c->error && (c->count > 0 || c->busy)) pthread_cond_wait(&c->settled, &c->lock);
    int err = c->error;
    pthread_mutex_unlock(&c->lock);
    return err;
}

uint64_t repack_copier_end(struct repack_copier *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t end = c->end;
    pthread_mutex_unlock(&c->lock);
    return end;
}

int repack_copier_stop(struct repack_copier *c, struct repack_copy_stats *stats)
{
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    int err = c->error;
    if (stats) {
        stats->kernel_writes += c->stats.kernel_writes;
        stats->kernel_bytes += c->stats.kernel_bytes;
        stats->memory_writes += c->stats.memory_writes;
        stats->memory_bytes += c->stats.memory_bytes;
    }
    pthread_cond_destroy(&c->settled);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    close_pipe(c);
    free(c);
    return err;
}
