/* use_h5img.c: a user's program built against the installed package: decode one legacy frame, and read it through the registered filter. */
#include <h5img.h>
#include <hdf5.h>

#include <stdio.h>
#include <stdlib.h>

/* usage: use_h5img LEGACY.smc REPACKED.h5 DATASET; prints "<sum of decoded pixels> <sum read through HDF5>". */
int main(int argc, char **argv)
{
    if (argc != 4) return fprintf(stderr, "usage: use_h5img LEGACY REPACKED DATASET\n"), 2;
    if (h5img_register() < 0) return fprintf(stderr, "h5img_register failed\n"), 1;
    unsigned long long sums[2] = {0, 0};
    for (int which = 0; which < 2; which++) {
        hid_t file = H5Fopen(argv[1 + which], H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t dset = file < 0 ? -1 : H5Dopen2(file, argv[3], H5P_DEFAULT);
        hid_t space = dset < 0 ? -1 : H5Dget_space(dset);
        hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
        unsigned char *bytes = n > 0 ? malloc((size_t)n) : NULL;
        if (!bytes || H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes) < 0)
            return fprintf(stderr, "cannot read %s in %s\n", argv[3], argv[1 + which]), 1;
        if (which == 0) { /* the legacy file holds encoded bytes: decode them with the C API */
            h5img_info info;
            if (h5img_probe(bytes, (size_t)n, &info) != H5IMG_OK) return fprintf(stderr, "not an image\n"), 1;
            h5img_layout layout = {info.height, info.width, 1, 1, H5IMG_RULE_MASK, 0};
            size_t size = h5img_layout_bytes(&layout);
            unsigned char *pixels = malloc(size);
            char message[256];
            if (!pixels || h5img_decode(bytes, (size_t)n, &layout, pixels, size, message, sizeof message) != H5IMG_OK)
                return fprintf(stderr, "decode failed: %s\n", message), 1;
            for (size_t i = 0; i < size; i++) sums[0] += pixels[i];
            free(pixels);
        } else {
            for (hssize_t i = 0; i < n; i++) sums[1] += bytes[i];
        }
        free(bytes);
        H5Sclose(space);
        H5Dclose(dset);
        H5Fclose(file);
    }
    printf("%llu %llu\n", sums[0], sums[1]);
    return sums[0] == sums[1] && sums[0] > 0 ? 0 : 1;
}
