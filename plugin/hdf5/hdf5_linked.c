/* hdf5_linked.c: the HDF5 table of the linkable library: the HDF5 functions and error ids it was linked with. */
#include "hdf5/hdf5_api.h"

#include <pthread.h>
#include <stdio.h>

static h5img_hdf5 linked;
static pthread_once_t linked_once = PTHREAD_ONCE_INIT;

static void fill_linked(void)
{
    /* Assigning each function to its member lets the compiler check the
     * table's signatures against the headers. */
#define H5IMG_SET_FUNCTION(type, name, parameters) linked.name = name;
    H5IMG_HDF5_FUNCTIONS(H5IMG_SET_FUNCTION)
#undef H5IMG_SET_FUNCTION
    /* The linked library needs HDF5 1.10.2 or newer (it always called these
     * directly); the H5Dread_chunk of its headers' major version is bound,
     * as H5IMG_HDF5_OPTIONAL_FUNCTIONS explains. */
    linked.H5Dget_chunk_storage_size = H5Dget_chunk_storage_size;
#if H5_VERS_MAJOR >= 2
    linked.H5Dread_chunk2 = H5Dread_chunk2;
#else
    linked.H5Dread_chunk1 = H5Dread_chunk;
#endif
    H5open();
#define H5IMG_SET_ID(name) linked.name = name;
    H5IMG_HDF5_ERROR_IDS(H5IMG_SET_ID)
    H5IMG_HDF5_TYPE_IDS(H5IMG_SET_ID)
#undef H5IMG_SET_ID
    linked.version[0] = H5_VERS_MAJOR; /* the library is the one these headers came with */
    linked.version[1] = H5_VERS_MINOR;
    linked.version[2] = H5_VERS_RELEASE;
    snprintf(linked.path, sizeof linked.path, "linked");
}

const h5img_hdf5 *h5img_hdf5_api(void)
{
    pthread_once(&linked_once, fill_linked);
    return &linked;
}
