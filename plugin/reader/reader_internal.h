/* reader_internal.h: dataset classification shared by the parallel reader and h5imgdump (needs HDF5, not installed). */
#ifndef H5IMG_READER_INTERNAL_H
#define H5IMG_READER_INTERNAL_H

#include "h5img.h"

#include <hdf5.h>

/* Largest rank h5img_describe_dataset records; image datasets have 1-3. */
#define H5IMG_DESC_MAX_RANK 8

/* What the dataset's metadata alone says (no raw data is read). */
typedef struct h5img_dataset_desc {
    /* REPACKED when the pipeline holds the h5img filter; LEGACY when it is a
     * 1-D dataset of 1-byte integers, which may hold encoded bytes (only
     * the bytes' signature can confirm it); NONE otherwise. */
    h5img_storage storage;
    int rank;
    hsize_t dims[H5IMG_DESC_MAX_RANK];
    size_t type_size;
    unsigned nfilters;
    /* Repacked only: the parsed cd_values, and whether parsing them and
     * checking them against the dataspace and chunking succeeded. */
    h5img_status params_status;
    h5img_params params;
    char message[1280]; /* room for HDF5's reason (up to 1 KiB) and the sentence around it */
} h5img_dataset_desc;

/* Fill *desc from an open dataset. Returns H5IMG_E_HDF5 only when HDF5
 * cannot describe it; a bad repacked dataset is reported in params_status. */
h5img_status h5img_describe_dataset(hid_t dataset, h5img_dataset_desc *desc);

/* Bytes of the single chunk of a repacked dataset as stored (0 if never
 * written), or of the whole legacy dataset. */
h5img_status h5img_stored_size(hid_t dataset, const h5img_dataset_desc *desc, size_t *size, char *message,
                               size_t message_size);

/* Read the stored (still encoded) bytes of an image dataset into *buffer,
 * growing it (realloc) when *capacity is too small. */
h5img_status h5img_read_stored(hid_t dataset, const h5img_dataset_desc *desc, unsigned char **buffer,
                               size_t *capacity, size_t *size, char *message, size_t message_size);

#endif /* H5IMG_READER_INTERNAL_H */
