/* vol_bind.c: fills the VOL connector's HDF5 table from the HDF5 library that loaded it, through the shared binding of hdf5_runtime.c. */
#include "hdf5/hdf5_api.h"
#include "hdf5/vol/vol_hdf5.h"

#include <stdio.h>
#include <string.h>

h5img_vol_hdf5 h5img_vol_table;

/* Every member's type must be the header's: a list entry that disagrees
 * with HDF5's own declaration fails the build, not a call at run time. */
#define H5IMG_VOL_CHECK(type, name, parameters)                                                                    \
    _Static_assert(__builtin_types_compatible_p(__typeof__(&name), type(*) parameters), #name " differs from HDF5's header");
H5IMG_VOL_FUNCTIONS(H5IMG_VOL_CHECK)
#undef H5IMG_VOL_CHECK

#define H5IMG_VOL_COUNT_FUNCTION(type, name, parameters) +1
#define H5IMG_VOL_COUNT_ID(name) +1
#define VOL_FUNCTION_COUNT (0 H5IMG_VOL_FUNCTIONS(H5IMG_VOL_COUNT_FUNCTION))
#define VOL_SYMBOL_COUNT (VOL_FUNCTION_COUNT H5IMG_VOL_IDS(H5IMG_VOL_COUNT_ID))

static const char *const vol_names[] = {
#define H5IMG_VOL_NAME(type, name, parameters) #name,
    H5IMG_VOL_FUNCTIONS(H5IMG_VOL_NAME)
#undef H5IMG_VOL_NAME
#define H5IMG_VOL_ID_NAME(name) #name,
    H5IMG_VOL_IDS(H5IMG_VOL_ID_NAME)
#undef H5IMG_VOL_ID_NAME
};
static void *vol_addresses[VOL_SYMBOL_COUNT];

/* The VOL class this connector fills in is version 3 (H5VL_VERSION of
 * HDF5 1.14, and still of HDF5 2.0, whose class layout and callbacks are
 * the same: its tests pass against h5py 3.16's HDF5 2.0.0). Any other
 * library might read our callbacks at the wrong offsets, so it is refused
 * here, before HDF5 ever sees the class. */
static int vol_interface_matches(const unsigned *version, char *why, size_t why_size)
{
    if ((version[0] == 1 && version[1] == 14) || (version[0] == 2 && version[1] == 0)) return 1;
    snprintf(why, why_size,
             "the h5img VOL connector serves the VOL interface of HDF5 1.14 and 2.0 (VOL class version %d), but the "
             "HDF5 that loaded it is %u.%u.%u: open the file without HDF5_VOL_CONNECTOR=h5img (the h5img filter "
             "plugin itself works with any HDF5 from 1.10)",
             H5VL_VERSION, version[0], version[1], version[2]);
    return 0;
}

static int complete_vol_table(h5img_hdf5_binding *binding, char *why, size_t why_size)
{
    h5img_vol_hdf5 table;
    memset(&table, 0, sizeof table);
    size_t slot = 0;
#define H5IMG_VOL_TAKE(type, name, parameters) memcpy(&table.name, &binding->addresses[slot++], sizeof table.name);
    H5IMG_VOL_FUNCTIONS(H5IMG_VOL_TAKE)
#undef H5IMG_VOL_TAKE
    memcpy(table.version, binding->version, sizeof table.version);
    if (!vol_interface_matches(table.version, why, why_size)) return -1;
    /* No H5open: HDF5 itself is calling, in the middle of initialising. */
#define H5IMG_VOL_TAKE_ID(name) table.name = (const hid_t *)binding->addresses[slot++];
    H5IMG_VOL_IDS(H5IMG_VOL_TAKE_ID)
#undef H5IMG_VOL_TAKE_ID
    h5img_vol_table = table;
    return 0;
}

static h5img_hdf5_binding vol_binding = {
    .who = "VOL connector",
    .needs = "HDF5 1.14 or 2.0",
    .names = vol_names,
    .count = VOL_SYMBOL_COUNT,
    .addresses = vol_addresses,
    .variables_from = VOL_FUNCTION_COUNT,
    .complete = complete_vol_table,
};

int h5img_vol_bind(const void *caller, char *why, size_t why_size)
{
    return h5img_hdf5_bind_list(&vol_binding, caller, why, why_size);
}
