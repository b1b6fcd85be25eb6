/* repack_source.c: IN mapped read-only, and where a frame's bytes lie in it, so they reach OUT unread. */
#include "repack.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The descriptor HDF5 itself reads IN through, so the mapping is of the very
 * file HDF5 opened even if the path was replaced in between. */
static int hdf5_file_stat(hid_t in, struct stat *st)
{
    hid_t fapl = H5Fget_access_plist(in);
    void *handle = NULL;
    int ok = fapl >= 0 && H5Pget_driver(fapl) == H5FD_SEC2 && H5Fget_vfd_handle(in, fapl, &handle) >= 0 && handle &&
             fstat(*(int *)handle, st) == 0;
    if (fapl >= 0) H5Pclose(fapl);
    return ok ? 0 : -1;
}

int repack_source_open(struct repack_source *source, const char *path, hid_t in)
{
    source->fd = -1;
    source->map = NULL;
    source->size = 0;
    struct stat st, hdf5_st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (fstat(fd, &st) != 0 || hdf5_file_stat(in, &hdf5_st) != 0 || st.st_dev != hdf5_st.st_dev ||
        st.st_ino != hdf5_st.st_ino || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return -1;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        close(fd);
        return -1;
    }
    source->fd = fd;
    source->map = map;
    source->size = (size_t)st.st_size;
    return 0;
}

void repack_source_close(struct repack_source *source)
{
    if (source->map) munmap((void *)source->map, source->size);
    if (source->fd >= 0) close(source->fd);
    source->fd = -1;
    source->map = NULL;
    source->size = 0;
}

/* Only a contiguous dataset with its storage allocated in IN itself has its
 * bytes in one run at H5Dget_offset (absolute, user block included); for
 * anything else HDF5 must assemble them. The caller has checked the layout. */
const unsigned char *repack_source_bytes(const struct repack_source *source, hid_t dataset, hsize_t length)
{
    if (!source->map || H5Dget_storage_size(dataset) != length) return NULL;
    haddr_t offset = H5Dget_offset(dataset);
    if (offset == HADDR_UNDEF || offset > source->size || length > source->size - offset) return NULL;
    return source->map + offset;
}
