/* register.c: h5img_register(), for programs that link h5img instead of loading the plugin. */
#include "filter.h"
#include "h5img.h"

int h5img_register(void)
{
    /* H5Zfilter_avail also tries HDF5_PLUGIN_PATH; if the plugin is already
     * there (or an earlier call registered us) HDF5 has a working class and
     * replacing it would gain nothing. */
    htri_t available = H5Zfilter_avail(H5IMG_FILTER_ID);
    if (available > 0) return 0;
    if (available < 0) H5Eclear2(H5E_DEFAULT); /* a failed plugin search is not our failure */
    return H5Zregister(h5img_filter_class()) < 0 ? -1 : 0;
}
