/* repack_vfd.c: OUT's HDF5 file driver: sec2, except frame bytes lying in IN's mapping are copied by the kernel. */
#include "repack.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the fapl carries to the driver's open; copied by value (the output
 * record is the caller's and outlives the file). */
struct vfd_config {
    int in_fd;
    const unsigned char *map;
    size_t map_size;
    int writeback;
    struct repack_output *output;
};

struct vfd_file {
    H5FD_t pub; /* first: HDF5 hands this struct back to every callback */
    H5FD_t *inner;
    struct vfd_config config;
    struct repack_copier *copier; /* NULL: everything goes straight to sec2 */
    int out_fd;
    int failed; /* a write was lost: OUT will be thrown away */
};

static hid_t driver_id = -1;

/* Record the first lost write for the tool's message. While the walk runs
 * the HDF5 call fails, so the walk stops there. Once the tool is flushing
 * and closing OUT, the call succeeds instead and later writes are dropped:
 * HDF5 1.10 cannot recover from a failed H5Fclose (its exit handler then
 * closes the half-freed file again and crashes), and OUT is deleted anyway. */
static herr_t lost_write(struct vfd_file *file, const char *func, int line, int err)
{
    struct repack_output *output = file->config.output;
    if (!output->error) output->error = err ? err : EIO;
    file->failed = 1;
    if (output->closing) return 0;
    H5Epush2(H5E_DEFAULT, __FILE__, func, (unsigned)line, H5E_ERR_CLS, H5E_VFL, H5E_WRITEERROR,
             "write into the output file failed: %s",
             output->error == REPACK_INPUT_SHRANK ? "the input file shrank" : strerror(output->error));
    return -1;
}

/* An error of the kernel's copy, which runs on the copier thread (IN shrank,
 * or OUT refused a frame's bytes), is not the error of the call that finds
 * it: that call is served as asked and the error only recorded, and the walk
 * stops at the next object (repack_output_failed). Failing the call instead
 * makes HDF5 1.10 unwind whatever it was doing, and H5Ocopy does not survive
 * that: it crashed in H5T_close_real in about one run in ten. */
static void copier_failed(struct vfd_file *file, int err)
{
    struct repack_output *output = file->config.output;
    if (!output->error) output->error = err;
}

/* After a lost write: fail while the walk runs, succeed without writing while closing. */
static herr_t after_loss(const struct vfd_file *file)
{
    return file->config.output->closing ? 0 : -1;
}

static void *fapl_copy(const void *info)
{
    struct vfd_config *copy = malloc(sizeof *copy);
    if (copy) memcpy(copy, info, sizeof *copy);
    return copy;
}

static herr_t fapl_free(void *info)
{
    free(info);
    return 0;
}

static void *fapl_get(H5FD_t *_file)
{
    return fapl_copy(&((struct vfd_file *)_file)->config);
}

static H5FD_t *vfd_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr)
{
    const struct vfd_config *config = H5Pget_driver_info(fapl);
    hid_t inner_fapl = H5Pcopy(fapl);
    if (!config || !config->output || inner_fapl < 0 || H5Pset_fapl_sec2(inner_fapl) < 0) {
        if (inner_fapl >= 0) H5Pclose(inner_fapl);
        return NULL;
    }
    H5FD_t *inner = H5FDopen(name, flags, inner_fapl, maxaddr);
    void *handle = NULL;
    if (inner && H5FDget_vfd_handle(inner, inner_fapl, &handle) < 0) handle = NULL;
    H5Pclose(inner_fapl);
    if (!inner) return NULL; /* sec2 has said why (a missing file on HDF5's tentative open) */
    struct vfd_file *file = calloc(1, sizeof *file);
    if (!file || !handle) {
        free(file);
        H5FDclose(inner);
        H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_VFL, H5E_CANTOPENFILE,
                 "cannot set up the output driver");
        return NULL;
    }
    file->inner = inner;
    file->config = *config;
    file->out_fd = *(int *)handle;
    /* Without a worker the mapping is still valid memory: sec2's pwrite from
     * it is correct, only slower. */
    if (config->map) file->copier = repack_copier_start(config->in_fd, config->map, file->out_fd, config->writeback);
    if (file->copier) config->output->open_files++;
    return &file->pub;
}

static herr_t vfd_close(H5FD_t *_file)
{
    struct vfd_file *file = (struct vfd_file *)_file;
    herr_t rc = 0;
    if (file->copier) {
        int err = repack_copier_stop(file->copier, &file->config.output->copied);
        file->copier = NULL;
        file->config.output->open_files--;
        if (err) copier_failed(file, err);
    }
    if (H5FDclose(file->inner) < 0 && rc == 0) rc = lost_write(file, __func__, __LINE__, EIO);
    free(file);
    return rc;
}

static int vfd_cmp(const H5FD_t *a, const H5FD_t *b)
{
    return H5FDcmp(((const struct vfd_file *)a)->inner, ((const struct vfd_file *)b)->inner);
}

/* The same features as sec2, so HDF5 lays the file out exactly as it would. */
static herr_t vfd_query(const H5FD_t *_file, unsigned long *flags)
{
    if (!_file) return H5FDdriver_query(H5FD_SEC2, flags);
    return H5FDquery(((const struct vfd_file *)_file)->inner, flags) < 0 ? -1 : 0;
}

/* Addresses reach the driver absolute (HDF5 has added the user block); the
 * inner sec2 file has base address 0, so they pass through unchanged. */
static haddr_t vfd_get_eoa(const H5FD_t *_file, H5FD_mem_t type)
{
    return H5FDget_eoa(((const struct vfd_file *)_file)->inner, type);
}

static herr_t vfd_set_eoa(H5FD_t *_file, H5FD_mem_t type, haddr_t addr)
{
    return H5FDset_eoa(((struct vfd_file *)_file)->inner, type, addr);
}

/* sec2 only knows the end of its own writes, not of the background copies. */
static haddr_t vfd_get_eof(const H5FD_t *_file, H5FD_mem_t type)
{
    const struct vfd_file *file = (const struct vfd_file *)_file;
    haddr_t eof = H5FDget_eof(file->inner, type);
    if (eof != HADDR_UNDEF && file->copier) {
        uint64_t copied = repack_copier_end(file->copier);
        if (copied > eof) eof = copied;
    }
    return eof;
}

static herr_t vfd_get_handle(H5FD_t *_file, hid_t fapl, void **handle)
{
    return H5FDget_vfd_handle(((struct vfd_file *)_file)->inner, fapl, handle);
}

static herr_t vfd_read(H5FD_t *_file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, void *buf)
{
    struct vfd_file *file = (struct vfd_file *)_file;
    int err = file->copier && !file->failed ? repack_copier_settle(file->copier, addr, size) : 0;
    if (err) copier_failed(file, err);
    return H5FDread(file->inner, type, dxpl, addr, size, buf);
}

static int in_map(const struct vfd_config *config, const void *buf, size_t size)
{
    const unsigned char *p = buf;
    return config->map && p >= config->map && size <= config->map_size &&
           (size_t)(p - config->map) <= config->map_size - size;
}

/* sec2 leaves errno as its pwrite set it; EIO when something else failed. */
static herr_t inner_write(struct vfd_file *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                          const void *buf)
{
    errno = 0;
    if (H5FDwrite(file->inner, type, dxpl, addr, size, buf) >= 0) return 0;
    return lost_write(file, __func__, __LINE__, errno);
}

static herr_t vfd_write(H5FD_t *_file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, const void *buf)
{
    struct vfd_file *file = (struct vfd_file *)_file;
    if (file->failed) return after_loss(file);
    if (!file->copier) return inner_write(file, type, dxpl, addr, size, buf);
    /* Raw data whose buffer is IN itself: the bytes are at the same offset in
     * IN's file, so the kernel can move them without this process reading them. */
    int from_in = type == H5FD_MEM_DRAW && in_map(&file->config, buf, size);
    int err = from_in ? repack_copier_submit(file->copier, (uint64_t)((const unsigned char *)buf - file->config.map),
                                             addr, size)
                      : repack_copier_settle(file->copier, addr, size); /* no pending copy may land on this later */
    if (err) copier_failed(file, err); /* a frame's bytes are then dropped: OUT is lost anyway */
    return from_in ? 0 : inner_write(file, type, dxpl, addr, size, buf);
}

static herr_t vfd_flush(H5FD_t *_file, hid_t dxpl, hbool_t closing)
{
    struct vfd_file *file = (struct vfd_file *)_file;
    if (file->failed) return after_loss(file);
    int err = file->copier ? repack_copier_drain(file->copier) : 0;
    if (err) copier_failed(file, err);
    return H5FDflush(file->inner, dxpl, closing) < 0 ? lost_write(file, __func__, __LINE__, errno) : 0;
}

static herr_t vfd_truncate(H5FD_t *_file, hid_t dxpl, hbool_t closing)
{
    struct vfd_file *file = (struct vfd_file *)_file;
    if (file->failed) return after_loss(file);
    int err = file->copier ? repack_copier_drain(file->copier) : 0;
    if (err) copier_failed(file, err);
    errno = 0;
    if (H5FDtruncate(file->inner, dxpl, closing) < 0) return lost_write(file, __func__, __LINE__, errno);
    if (!file->copier) return 0;
    /* sec2 skips the ftruncate when the end of its own writes equals the
     * EOA, even if a copy ended beyond it: the file must end at the EOA. */
    haddr_t eoa = H5FDget_eoa(file->inner, H5FD_MEM_DEFAULT);
    struct stat st;
    if (eoa == HADDR_UNDEF || fstat(file->out_fd, &st) != 0) return lost_write(file, __func__, __LINE__, errno);
    if ((uint64_t)st.st_size != (uint64_t)eoa && ftruncate(file->out_fd, (off_t)eoa) != 0)
        return lost_write(file, __func__, __LINE__, errno);
    return 0;
}

static herr_t vfd_lock(H5FD_t *_file, hbool_t rw)
{
    return H5FDlock(((struct vfd_file *)_file)->inner, rw);
}

static herr_t vfd_unlock(H5FD_t *_file)
{
    return H5FDunlock(((struct vfd_file *)_file)->inner);
}

static const H5FD_class_t VFD_CLASS = {
    .name = "h5imgrepack-out",
    .maxaddr = (haddr_t)INT64_MAX, /* sec2's: the largest off_t */
    .fc_degree = H5F_CLOSE_WEAK,
    .fapl_size = sizeof(struct vfd_config),
    .fapl_get = fapl_get,
    .fapl_copy = fapl_copy,
    .fapl_free = fapl_free,
    .open = vfd_open,
    .close = vfd_close,
    .cmp = vfd_cmp,
    .query = vfd_query,
    .get_eoa = vfd_get_eoa,
    .set_eoa = vfd_set_eoa,
    .get_eof = vfd_get_eof,
    .get_handle = vfd_get_handle,
    .read = vfd_read,
    .write = vfd_write,
    .flush = vfd_flush,
    .truncate = vfd_truncate,
    .lock = vfd_lock,
    .unlock = vfd_unlock,
    .fl_map = H5FD_FLMAP_DICHOTOMY, /* sec2's free-list map: the same allocation pattern */
};

hid_t repack_vfd_fapl(const struct repack_source *source, int writeback, struct repack_output *output)
{
    if (driver_id < 0 && (driver_id = H5FDregister(&VFD_CLASS)) < 0) return -1;
    struct vfd_config config = {-1, NULL, 0, writeback, output};
    if (source && source->map) {
        config.in_fd = source->fd;
        config.map = source->map;
        config.map_size = source->size;
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_driver(fapl, driver_id, &config) < 0) {
        H5Pclose(fapl);
        fapl = -1;
    }
    return fapl;
}
