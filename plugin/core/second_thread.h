/* core/second_thread.h: the rules for a second decoding thread and how one is started and joined. */
#ifndef H5IMG_CORE_SECOND_THREAD_H
#define H5IMG_CORE_SECOND_THREAD_H

#include "core/decoder_state.h"

#include <pthread.h>

/* Threads of this process busy decoding: every h5img_decoder_decode in
 * progress plus the second threads started by h5img_second_thread_start
 * and not yet joined. Adds `delta` and returns the new count. Automatic
 * decoders start a second thread only while the count stays within the
 * usable CPUs, so that a program already decoding on every core is not
 * oversubscribed. Tests add to it to stand for decodes running elsewhere. */
unsigned h5img_busy_threads(int delta);

/* Whether a decode may use a second thread, by the rules every user shares:
 * decoder->threads 1 never, 2 or more always; 0 (automatic) only when the
 * environment variable H5IMG_THREADS (read once) is not 1, the process may
 * run on 2 or more CPUs (its affinity mask) and one of them is not counted
 * busy. Each user adds its own conditions (size, image kind). */
int h5img_second_thread_wanted(const h5img_decoder *decoder);

/* Start `run(argument)` on a new thread with every signal blocked, counted
 * busy until h5img_second_thread_join. H5IMG_OK, or H5IMG_E_NOMEM when the
 * thread could not be started (nothing to join then): the caller does the
 * work on its own thread. */
h5img_status h5img_second_thread_start(pthread_t *thread, void *(*run)(void *), void *argument);
void h5img_second_thread_join(pthread_t thread);

/* Second threads h5img_second_thread_start started in this process so far
 * (two-band JPEG and the PNG fast path alike), for tests. */
unsigned long h5img_second_threads_started(void);

#endif /* H5IMG_CORE_SECOND_THREAD_H */
