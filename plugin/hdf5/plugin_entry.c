/* plugin_entry.c: the two entry points HDF5 looks up when it loads libh5img.so; each binds the plugin to its caller's HDF5. */
#include "filter.h"
#include "hdf5/hdf5_api.h"
#include "hdf5/last_error.h"

#include <H5PLextern.h> /* declares both with default visibility: they survive the hidden preset */
#include <stdio.h>

/* The HDF5 library that loads a plugin is the one that calls these two, so
 * the return address names it. A library the plugin cannot bind to gets
 * nothing from it (and nothing is ever called in a wrong one); the reason
 * goes to stderr, since no error stack can be trusted then, and to
 * h5img_last_error(). */
__attribute__((noinline)) static int bind_caller(const void *caller)
{
    char why[640];
    if (h5img_hdf5_bind(caller, why, sizeof why) == 0) return 0;
    fprintf(stderr, "h5img: plugin not loaded: %s\n", why);
    h5img_last_error_set(why);
    return -1;
}

H5PL_type_t H5PLget_plugin_type(void)
{
    if (bind_caller(__builtin_extract_return_addr(__builtin_return_address(0))) < 0) return H5PL_TYPE_ERROR;
    return H5PL_TYPE_FILTER;
}

const void *H5PLget_plugin_info(void)
{
    if (bind_caller(__builtin_extract_return_addr(__builtin_return_address(0))) < 0) return NULL;
    return h5img_filter_class();
}
