/* vol_dataset.c: dataset callbacks: plain datasets pass through; a legacy frame answers with its decoded image and refuses every change. */
#include "hdf5/vol/vol_internal.h"

#include <H5VLnative.h>
#include <stdlib.h>

#define O(obj) ((h5img_vol_object *)(obj))

static void *dataset_create(void *obj, const H5VL_loc_params_t *loc_params, const char *name, hid_t lcpl_id,
                            hid_t type_id, hid_t space_id, hid_t dcpl_id, hid_t dapl_id, hid_t dxpl_id, void **req)
{
    void *under = H5API->H5VLdataset_create(O(obj)->under_object, loc_params, O(obj)->under_vol_id, name, lcpl_id,
                                            type_id, space_id, dcpl_id, dapl_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    h5img_vol_object *dataset = h5img_vol_child(O(obj), under);
    /* Made through us, written through us: never shown as anything else. */
    if (dataset) dataset->kind = H5IMG_VOL_PLAIN;
    return dataset;
}

static void *dataset_open(void *obj, const H5VL_loc_params_t *loc_params, const char *name, hid_t dapl_id,
                          hid_t dxpl_id, void **req)
{
    void *under = H5API->H5VLdataset_open(O(obj)->under_object, loc_params, O(obj)->under_vol_id, name, dapl_id,
                                          dxpl_id, req);
    h5img_vol_wrap_request(req, O(obj)->under_vol_id);
    return h5img_vol_child(O(obj), under); /* examined on first use */
}

/* The plain datasets of a multi-dataset read go down together, in the
 * caller's order; the decoded ones are read one by one after them. */
static herr_t dataset_read(size_t count, void *dset[], hid_t mem_type_id[], hid_t mem_space_id[],
                           hid_t file_space_id[], hid_t dxpl_id, void *buf[], void **req)
{
    size_t decoded = 0;
    for (size_t i = 0; i < count; i++) decoded += h5img_vol_examine(O(dset[i]), dxpl_id) == H5IMG_VOL_DECODED;
    size_t plain = count - decoded;
    if (plain) {
        void **under = malloc(plain * sizeof *under);
        void **bufs = malloc(plain * sizeof *bufs);
        hid_t *ids = malloc(3 * plain * sizeof *ids);
        if (!under || !bufs || !ids) {
            free(under), free(bufs), free(ids);
            H5IMG_VOL_ERROR(*H5API->H5E_DATASET_g, *H5API->H5E_READERROR_g, "out of memory for a %zu-dataset read",
                            count);
            return -1;
        }
        hid_t *types = ids, *mems = ids + plain, *files = ids + 2 * plain;
        size_t n = 0;
        for (size_t i = 0; i < count; i++) {
            if (O(dset[i])->kind == H5IMG_VOL_DECODED) continue;
            under[n] = O(dset[i])->under_object;
            types[n] = mem_type_id[i], mems[n] = mem_space_id[i], files[n] = file_space_id[i], bufs[n] = buf[i];
            n++;
        }
        hid_t under_id = O(dset[0])->under_vol_id;
        /* Decoded reads are synchronous, so a mixed read is too. */
        herr_t status =
            H5API->H5VLdataset_read(plain, under, under_id, types, mems, files, dxpl_id, bufs, decoded ? NULL : req);
        if (!decoded) h5img_vol_wrap_request(req, under_id);
        free(under), free(bufs), free(ids);
        if (status < 0) return status;
    }
    for (size_t i = 0; i < count; i++) {
        if (O(dset[i])->kind != H5IMG_VOL_DECODED) continue;
        if (h5img_vol_read_decoded(O(dset[i]), mem_type_id[i], mem_space_id[i], file_space_id[i], dxpl_id, buf[i]) < 0)
            return -1;
    }
    return 0;
}

static herr_t refuse_change(const h5img_vol_object *dataset, const char *what)
{
    H5IMG_VOL_ERROR(*H5API->H5E_DATASET_g, *H5API->H5E_WRITEERROR_g,
                    "%s: %s refused: the dataset is a read-only decoded view of its stored %s bytes (open the file "
                    "without HDF5_VOL_CONNECTOR=h5img to change them)",
                    dataset->view.path, what, h5img_codec_name(dataset->view.info.codec));
    return -1;
}

/* Checked for every dataset before anything is written, so a refused
 * multi-dataset write changes nothing at all. */
static herr_t dataset_write(size_t count, void *dset[], hid_t mem_type_id[], hid_t mem_space_id[],
                            hid_t file_space_id[], hid_t dxpl_id, const void *buf[], void **req)
{
    for (size_t i = 0; i < count; i++)
        if (h5img_vol_examine(O(dset[i]), dxpl_id) == H5IMG_VOL_DECODED) return refuse_change(O(dset[i]), "writing");
    void **under = malloc(count * sizeof *under);
    if (!under) {
        H5IMG_VOL_ERROR(*H5API->H5E_DATASET_g, *H5API->H5E_WRITEERROR_g, "out of memory for a %zu-dataset write",
                        count);
        return -1;
    }
    for (size_t i = 0; i < count; i++) under[i] = O(dset[i])->under_object;
    hid_t under_id = O(dset[0])->under_vol_id;
    herr_t status =
        H5API->H5VLdataset_write(count, under, under_id, mem_type_id, mem_space_id, file_space_id, dxpl_id, buf, req);
    h5img_vol_wrap_request(req, under_id);
    free(under);
    return status;
}

static herr_t dataset_get(void *dset, H5VL_dataset_get_args_t *args, hid_t dxpl_id, void **req)
{
    h5img_vol_object *dataset = O(dset);
    int view_question = args->op_type == H5VL_DATASET_GET_SPACE || args->op_type == H5VL_DATASET_GET_TYPE ||
                        args->op_type == H5VL_DATASET_GET_DCPL;
    if (view_question && h5img_vol_examine(dataset, dxpl_id) == H5IMG_VOL_DECODED) {
        switch (args->op_type) {
        case H5VL_DATASET_GET_SPACE:
            args->args.get_space.space_id = h5img_vol_view_space(&dataset->view);
            return args->args.get_space.space_id < 0 ? -1 : 0;
        case H5VL_DATASET_GET_TYPE:
            args->args.get_type.type_id = h5img_vol_view_type(&dataset->view);
            return args->args.get_type.type_id < 0 ? -1 : 0;
        default: return h5img_vol_view_dcpl(dataset, dxpl_id, &args->args.get_dcpl.dcpl_id);
        }
    }
    /* Storage size, space status and the access properties describe the
     * stored bytes, decoded view or not. */
    herr_t status = H5API->H5VLdataset_get(dataset->under_object, dataset->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, dataset->under_vol_id);
    return status;
}

static herr_t dataset_specific(void *obj, H5VL_dataset_specific_args_t *args, hid_t dxpl_id, void **req)
{
    h5img_vol_object *dataset = O(obj);
    if (args->op_type == H5VL_DATASET_SET_EXTENT && h5img_vol_examine(dataset, dxpl_id) == H5IMG_VOL_DECODED)
        return refuse_change(dataset, "changing the extent");
    herr_t status = H5API->H5VLdataset_specific(dataset->under_object, dataset->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, dataset->under_vol_id);
    /* A refresh may have replaced the bytes: look again on next use. */
    if (status >= 0 && args->op_type == H5VL_DATASET_REFRESH && dataset->kind == H5IMG_VOL_DECODED) {
        h5img_vol_forget(dataset);
        dataset->kind = H5IMG_VOL_UNKNOWN;
    }
    return status;
}

static herr_t dataset_optional(void *obj, H5VL_optional_args_t *args, hid_t dxpl_id, void **req)
{
    h5img_vol_object *dataset = O(obj);
    int changes = args->op_type == H5VL_NATIVE_DATASET_CHUNK_WRITE || args->op_type == H5VL_NATIVE_DATASET_FORMAT_CONVERT;
    if (changes && h5img_vol_examine(dataset, dxpl_id) == H5IMG_VOL_DECODED)
        return refuse_change(dataset, args->op_type == H5VL_NATIVE_DATASET_CHUNK_WRITE ? "writing a chunk"
                                                                                     : "converting the layout");
    /* Chunk and offset queries answer for the stored bytes. */
    herr_t status = H5API->H5VLdataset_optional(dataset->under_object, dataset->under_vol_id, args, dxpl_id, req);
    h5img_vol_wrap_request(req, dataset->under_vol_id);
    return status;
}

static herr_t dataset_close(void *dset, hid_t dxpl_id, void **req)
{
    herr_t status = H5API->H5VLdataset_close(O(dset)->under_object, O(dset)->under_vol_id, dxpl_id, req);
    h5img_vol_wrap_request(req, O(dset)->under_vol_id);
    if (status >= 0) {
        h5img_vol_forget(O(dset));
        h5img_vol_release(O(dset));
    }
    return status;
}

const H5VL_dataset_class_t h5img_vol_dataset_class = {dataset_create, dataset_open,     dataset_read,
                                                      dataset_write,  dataset_get,      dataset_specific,
                                                      dataset_optional, dataset_close};
