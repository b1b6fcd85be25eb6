/* last_error.c: each thread's last filter failure, kept because HDF5 1.14 hides a filter's messages from its callers. */
#include "hdf5/last_error.h"
#include "h5img.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define LAST_ERROR_SIZE 512

/* A pthread key, not _Thread_local, for the reason filter.c gives for its
 * decoder: a dlopen()ed module's dynamic TLS outlives the module. The module
 * destructor deletes the key so no destructor points into an unloaded plugin. */
static pthread_key_t last_error_key;
static pthread_once_t last_error_once = PTHREAD_ONCE_INIT;
static int last_error_live;

static void create_last_error_key(void)
{
    last_error_live = pthread_key_create(&last_error_key, free) == 0;
}

__attribute__((destructor)) static void delete_last_error_key(void)
{
    if (!last_error_live) return;
    last_error_live = 0;
    free(pthread_getspecific(last_error_key));
    pthread_setspecific(last_error_key, NULL);
    pthread_key_delete(last_error_key);
}

static char *thread_text(int create)
{
    pthread_once(&last_error_once, create_last_error_key);
    if (!last_error_live) return NULL;
    char *text = pthread_getspecific(last_error_key);
    if (!text && create) {
        text = calloc(1, LAST_ERROR_SIZE);
        if (text && pthread_setspecific(last_error_key, text) != 0) {
            free(text);
            text = NULL;
        }
    }
    return text;
}

void h5img_last_error_set(const char *message)
{
    char *text = thread_text(1);
    if (text) snprintf(text, LAST_ERROR_SIZE, "%s", message ? message : "");
}

void h5img_last_error_clear(void)
{
    char *text = thread_text(0);
    if (text) text[0] = '\0';
}

const char *h5img_last_error(void)
{
    const char *text = thread_text(0);
    return text ? text : "";
}
