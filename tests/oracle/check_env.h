/* check_env.h: for Check tests run by CTest: the environment it sets and the conformance files it points at. */
#ifndef H5IMG_TEST_CHECK_ENV_H
#define H5IMG_TEST_CHECK_ENV_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "oracle.h"

/* The variable's value; fails the test when CTest did not set it. */
static inline const char *env_or_fail(const char *name)
{
    const char *value = getenv(name);
    ck_assert_msg(value && *value, "environment variable %s is not set (run through ctest)", name);
    return value;
}

/* A file under H5IMG_CONFORMANCE_DIR, whole (malloc()ed); fails the test when unreadable. */
static inline void *conformance_file(const char *relative, size_t *size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", env_or_fail("H5IMG_CONFORMANCE_DIR"), relative);
    void *data = read_file(path, size);
    ck_assert_msg(data != NULL, "cannot read %s", path);
    return data;
}

#endif /* H5IMG_TEST_CHECK_ENV_H */
