/* vol_prefix.c: reads a legacy frame's first bytes, the header the detector decides from, as cheaply as the file allows. */
#include "hdf5/vol/vol_internal.h"

#include <H5VLnative.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Why not always H5Dread: a read of a few hundred bytes from a contiguous
 * dataset goes through HDF5's sieve buffer, which fetches up to 64 KiB (the
 * whole frame, for small ones) and costs the setup of a dataset read.
 * Opening a file of thousands of frames asks each for its shape, so that
 * was most of what the connector added to opening (tests/vol/bench_vol.py).
 * When HDF5 can say exactly where the bytes are and nothing unflushed can
 * differ from them, they are read from the file descriptor instead:
 *   - the file is open read-only (no written-but-unflushed data anywhere);
 *   - its driver is sec2, HDF5's default, whose handle is a POSIX descriptor;
 *   - the dataset is contiguous with allocated storage in the file itself
 *     (H5Dget_offset's answer, which includes any user block; it has none for
 *     chunked, compact and external storage).
 * Anything else, or any short read, takes the H5Dread path, and so does
 * every read when H5IMG_FORCE_PORTABLE is set (as for the codecs' fast
 * paths), so that tests can compare the two. */

/* H5F_ACC_RDWR's value: the macro calls H5open(), which the connector may
 * only reach through its table. */
#define FILE_OPEN_READ_WRITE 0x0001u

static int force_hdf5_path(void)
{
    static int state = -1;
    int force = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (force < 0) {
        const char *env = getenv("H5IMG_FORCE_PORTABLE");
        force = env && env[0] && strcmp(env, "0") != 0;
        __atomic_store_n(&state, force, __ATOMIC_RELAXED);
    }
    return force;
}

/* The id HDF5 gives the sec2 driver: learnt once from a property list set
 * to it (the driver macros differ between 1.14 and 2.0: a function call in
 * one, a variable in the other). */
static hid_t sec2_driver(hid_t any_fapl)
{
    static hid_t driver = H5I_INVALID_HID;
    hid_t known = __atomic_load_n(&driver, __ATOMIC_ACQUIRE);
    if (known >= 0) return known;
    hid_t scratch = H5API->H5Pcopy(any_fapl);
    if (scratch < 0) return H5I_INVALID_HID;
    if (H5API->H5Pset_fapl_sec2(scratch) >= 0) known = H5API->H5Pget_driver(scratch);
    H5API->H5Pclose(scratch);
    if (known >= 0) __atomic_store_n(&driver, known, __ATOMIC_RELEASE);
    return known;
}

/* What one open file allows: asking its property list is the costly part
 * (HDF5 copies it whole), so the answer is kept per file, keyed by HDF5's
 * file number, which is never reused within a process: an entry for a
 * closed file is never matched again. Callbacks run one at a time under
 * HDF5's own lock; the mutex only keeps the table sound without it. */
typedef struct file_access {
    unsigned long fileno; /* 0: empty (HDF5 numbers files from 1) */
    int fd;               /* -1: this file is read through HDF5 */
} file_access;

#define KNOWN_FILES 8
static file_access known_files[KNOWN_FILES];
static unsigned next_slot;
static pthread_mutex_t known_files_lock = PTHREAD_MUTEX_INITIALIZER;

static int look_up(unsigned long fileno, int *fd)
{
    int found = 0;
    pthread_mutex_lock(&known_files_lock);
    for (unsigned i = 0; i < KNOWN_FILES && !found; i++)
        if (known_files[i].fileno == fileno) *fd = known_files[i].fd, found = 1;
    pthread_mutex_unlock(&known_files_lock);
    return found;
}

static void remember(unsigned long fileno, int fd)
{
    pthread_mutex_lock(&known_files_lock);
    known_files[next_slot] = (file_access){.fileno = fileno, .fd = fd};
    next_slot = (next_slot + 1) % KNOWN_FILES;
    pthread_mutex_unlock(&known_files_lock);
}

/* The descriptor a read-only sec2 file reads through, or -1. */
static int descriptor_of(void *file, hid_t under_vol_id, hid_t dxpl_id)
{
    unsigned intent = 0;
    H5VL_file_get_args_t intent_args = {.op_type = H5VL_FILE_GET_INTENT};
    intent_args.args.get_intent.flags = &intent;
    if (H5API->H5VLfile_get(file, under_vol_id, &intent_args, dxpl_id, NULL) < 0 || (intent & FILE_OPEN_READ_WRITE))
        return -1;
    H5VL_file_get_args_t fapl_args = {.op_type = H5VL_FILE_GET_FAPL};
    if (H5API->H5VLfile_get(file, under_vol_id, &fapl_args, dxpl_id, NULL) < 0) return -1;
    hid_t fapl = fapl_args.args.get_fapl.fapl_id;
    int fd = -1;
    hid_t driver = H5API->H5Pget_driver(fapl);
    if (driver >= 0 && driver == sec2_driver(fapl)) {
        void *handle = NULL;
        H5VL_native_file_optional_args_t native_file = {.get_vfd_handle = {.fapl_id = fapl, .file_handle = &handle}};
        H5VL_optional_args_t file_args = {.op_type = H5VL_NATIVE_FILE_GET_VFD_HANDLE, .args = &native_file};
        if (H5API->H5VLfile_optional(file, under_vol_id, &file_args, dxpl_id, NULL) >= 0 && handle)
            fd = *(const int *)handle;
    }
    H5API->H5Pclose(fapl);
    return fd < 0 ? -1 : fd;
}

/* The descriptor and offset of the dataset's bytes, when the conditions above hold. */
static int direct_location(h5img_vol_object *dataset, hid_t dxpl_id, int *fd, haddr_t *offset)
{
    H5VL_native_dataset_optional_args_t native_dataset = {.get_offset = {.offset = offset}};
    H5VL_optional_args_t dataset_args = {.op_type = H5VL_NATIVE_DATASET_GET_OFFSET, .args = &native_dataset};
    *offset = HADDR_UNDEF;
    if (H5API->H5VLdataset_optional(dataset->under_object, dataset->under_vol_id, &dataset_args, dxpl_id, NULL) < 0 ||
        *offset == HADDR_UNDEF)
        return 0;

    H5VL_loc_params_t self = {.obj_type = H5I_DATASET, .type = H5VL_OBJECT_BY_SELF};
    void *file = NULL;
    H5VL_object_get_args_t file_of = {.op_type = H5VL_OBJECT_GET_FILE};
    file_of.args.get_file.file = &file;
    if (H5API->H5VLobject_get(dataset->under_object, &self, dataset->under_vol_id, &file_of, dxpl_id, NULL) < 0 || !file)
        return 0;
    unsigned long fileno = 0;
    H5VL_file_get_args_t fileno_args = {.op_type = H5VL_FILE_GET_FILENO};
    fileno_args.args.get_fileno.fileno = &fileno;
    if (H5API->H5VLfile_get(file, dataset->under_vol_id, &fileno_args, dxpl_id, NULL) < 0 || fileno == 0) return 0;
    if (!look_up(fileno, fd)) {
        *fd = descriptor_of(file, dataset->under_vol_id, dxpl_id);
        remember(fileno, *fd);
    }
    return *fd >= 0;
}

static int read_direct(int fd, haddr_t offset, size_t count, unsigned char *buf)
{
    size_t done = 0;
    while (done < count) {
        ssize_t got = pread(fd, buf + done, count - done, (off_t)(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return 0;
        done += (size_t)got;
    }
    return 1;
}

static int read_through_hdf5(h5img_vol_object *dataset, uint64_t length, size_t count, void *buf, hid_t dxpl_id)
{
    hsize_t extent = length, start = 0, size = count;
    hid_t memory = H5API->H5Screate_simple(1, &size, NULL);
    hid_t file = H5API->H5Screate_simple(1, &extent, NULL);
    int ok = memory >= 0 && file >= 0 &&
             H5API->H5Sselect_hyperslab(file, H5S_SELECT_SET, &start, NULL, &size, NULL) >= 0;
    if (ok) {
        hid_t type = h5img_vol_native_uint(1);
        ok = H5API->H5VLdataset_read(1, &dataset->under_object, dataset->under_vol_id, &type, &memory, &file, dxpl_id,
                                     &buf, NULL) >= 0;
    }
    if (memory >= 0) H5API->H5Sclose(memory);
    if (file >= 0) H5API->H5Sclose(file);
    return ok;
}

int h5img_vol_read_prefix(h5img_vol_object *dataset, uint64_t length, size_t count, void *buf, hid_t dxpl_id)
{
    int fd;
    haddr_t offset;
    if (!force_hdf5_path() && direct_location(dataset, dxpl_id, &fd, &offset) &&
        read_direct(fd, offset, count, buf))
        return 1;
    return read_through_hdf5(dataset, length, count, buf, dxpl_id);
}
