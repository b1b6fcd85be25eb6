/* vol_class.c: the connector's H5VL_class_t, assembled from each callback file's table. */
#include "hdf5/vol/vol_internal.h"

#include <pthread.h>

static H5VL_class_t vol_class;
static pthread_once_t vol_class_once = PTHREAD_ONCE_INIT;

static herr_t vol_initialize(hid_t vipl_id)
{
    return 0;
}

static herr_t vol_terminate(void)
{
    return 0;
}

/* C cannot initialise a static struct from other const objects, so the
 * class is put together once, at first use; HDF5 keeps the address. */
static void assemble(void)
{
    vol_class.version = H5VL_VERSION;
    vol_class.value = (H5VL_class_value_t)H5IMG_VOL_VALUE;
    vol_class.name = H5IMG_VOL_NAME;
    vol_class.conn_version = H5IMG_VOL_VERSION;
    vol_class.cap_flags = H5VL_CAP_FLAG_NONE;
    vol_class.initialize = vol_initialize;
    vol_class.terminate = vol_terminate;
    vol_class.info_cls = (H5VL_info_class_t){
        .size = sizeof(h5img_vol_info),
        .copy = h5img_vol_info_copy,
        .cmp = h5img_vol_info_cmp,
        .free = h5img_vol_info_free,
        .to_str = h5img_vol_info_to_str,
        .from_str = h5img_vol_str_to_info,
    };
    vol_class.wrap_cls = h5img_vol_wrap_class;
    vol_class.attr_cls = h5img_vol_attr_class;
    vol_class.dataset_cls = h5img_vol_dataset_class;
    vol_class.datatype_cls = h5img_vol_datatype_class;
    vol_class.file_cls = h5img_vol_file_class;
    vol_class.group_cls = h5img_vol_group_class;
    vol_class.link_cls = h5img_vol_link_class;
    vol_class.object_cls = h5img_vol_object_class;
    vol_class.introspect_cls = h5img_vol_introspect_class;
    vol_class.request_cls = h5img_vol_request_class;
    vol_class.blob_cls = h5img_vol_blob_class;
    vol_class.token_cls = h5img_vol_token_class;
    vol_class.optional = h5img_vol_optional;
}

const H5VL_class_t *h5img_vol_class(void)
{
    pthread_once(&vol_class_once, assemble);
    return &vol_class;
}
