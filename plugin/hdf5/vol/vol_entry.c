/* vol_entry.c: the two entry points HDF5 looks up when it loads libh5img_vol.so; each binds the connector to its caller's HDF5. */
#include "hdf5/vol/vol_internal.h"

#include <H5PLextern.h> /* declares both with default visibility: they survive the hidden preset */
#include <stdio.h>

/* Nothing is handed to an HDF5 the connector cannot serve (not found, not
 * complete, or a VOL interface it does not know); the reason goes to
 * stderr, since no error stack of that library can be used. */
__attribute__((noinline)) static int bind_caller(const void *caller, int quiet)
{
    char why[640];
    if (h5img_vol_bind(caller, why, sizeof why) == 0) return 0;
    if (!quiet) fprintf(stderr, "h5img: VOL connector not loaded: %s\n", why);
    return -1;
}

/* HDF5 asks every library in the plugin directory for its type whenever it
 * looks for any plugin, the h5img filter included, in every version (1.10
 * has no VOL at all). Saying "VOL" keeps those searches passing us by in
 * silence; only a search for a VOL connector goes on to ask for the class. */
H5PL_type_t H5PLget_plugin_type(void)
{
    (void)bind_caller(__builtin_extract_return_addr(__builtin_return_address(0)), 1);
    return H5PL_TYPE_VOL;
}

const void *H5PLget_plugin_info(void)
{
    if (bind_caller(__builtin_extract_return_addr(__builtin_return_address(0)), 0) < 0) return NULL;
    return h5img_vol_class();
}
