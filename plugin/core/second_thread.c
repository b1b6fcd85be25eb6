/* second_thread.c: whether one decode may use a second thread, and starting that thread with every signal blocked. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "core/second_thread.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned busy_threads;                /* see h5img_busy_threads */
static unsigned long second_threads_started; /* see h5img_second_threads_started */

unsigned h5img_busy_threads(int delta)
{
    return __atomic_add_fetch(&busy_threads, (unsigned)delta, __ATOMIC_RELAXED);
}

unsigned long h5img_second_threads_started(void)
{
    return __atomic_load_n(&second_threads_started, __ATOMIC_RELAXED);
}

static pthread_once_t environment_once = PTHREAD_ONCE_INIT;
static int environment_one_thread;

static void read_environment(void)
{
    const char *text = getenv("H5IMG_THREADS");
    environment_one_thread = text && strcmp(text, "1") == 0;
}

/* CPUs this process may run on (its affinity mask, which is what taskset,
 * cgroups cpusets and container limits narrow), not those in the machine. */
static unsigned usable_cpus(void)
{
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return (unsigned)CPU_COUNT(&set);
#endif
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (unsigned)online : 1u;
}

/* Automatically only when a CPU is left over: with as many decodes in
 * flight as CPUs (a program decoding frames on every core), a second
 * thread only adds its own overhead (for two-band JPEG also the second
 * band's repeated entropy decoding: on 2 cores two concurrent decoders went
 * from 5.7 to 7.7 ms per frame that way). */
int h5img_second_thread_wanted(const h5img_decoder *decoder)
{
    if (decoder->threads == 1) return 0;
    if (decoder->threads >= 2) return 1;
    pthread_once(&environment_once, read_environment);
    if (environment_one_thread) return 0;
    unsigned cpus = usable_cpus();
    return cpus >= 2 && h5img_busy_threads(0) + 1 <= cpus;
}

/* Every signal is blocked on the new thread: the host program (Python, an
 * HDF5 tool) expects its signals on its own threads, not on a short-lived
 * helper it does not know about. The thread counts as busy from before it
 * exists, so that a decode starting meanwhile on another thread sees it. */
h5img_status h5img_second_thread_start(pthread_t *thread, void *(*run)(void *), void *argument)
{
    sigset_t all, saved;
    sigfillset(&all);
    h5img_busy_threads(1);
    int started = 0;
    if (pthread_sigmask(SIG_SETMASK, &all, &saved) == 0) {
        started = pthread_create(thread, NULL, run, argument) == 0;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
    }
    if (!started) {
        h5img_busy_threads(-1);
        return H5IMG_E_NOMEM;
    }
    __atomic_add_fetch(&second_threads_started, 1, __ATOMIC_RELAXED);
    return H5IMG_OK;
}

void h5img_second_thread_join(pthread_t thread)
{
    pthread_join(thread, NULL);
    h5img_busy_threads(-1);
}
