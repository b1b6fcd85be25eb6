/* plugin_entry.c: the two entry points HDF5 looks up when it loads libh5img.so from HDF5_PLUGIN_PATH. */
#include "filter.h"

#include <H5PLextern.h> /* declares both with default visibility: they survive the hidden preset */

H5PL_type_t H5PLget_plugin_type(void)
{
    return H5PL_TYPE_FILTER;
}

const void *H5PLget_plugin_info(void)
{
    return h5img_filter_class();
}
