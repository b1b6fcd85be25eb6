/* error_stack_text.h: an H5Ewalk2 callback that gathers an HDF5 error stack into one string, for tests that assert a message reached it. */
#ifndef H5IMG_TEST_ERROR_STACK_TEXT_H
#define H5IMG_TEST_ERROR_STACK_TEXT_H

#include <hdf5.h>
#include <stdio.h>

typedef struct stack_text {
    char text[8192];
    size_t used;
} stack_text;

/* For H5Ewalk2 of whichever HDF5 the test reaches (linked, or through dlsym):
 * appends "[function: description] " for each entry. */
static inline herr_t collect_error(unsigned n, const H5E_error2_t *error, void *data)
{
    (void)n;
    stack_text *stack = data;
    if (stack->used < sizeof stack->text)
        stack->used += (size_t)snprintf(stack->text + stack->used, sizeof stack->text - stack->used, "[%s: %s] ",
                                        error->func_name ? error->func_name : "", error->desc ? error->desc : "");
    return 0;
}

#endif /* H5IMG_TEST_ERROR_STACK_TEXT_H */
