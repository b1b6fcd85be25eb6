/* shrunk_input.c: an LD_PRELOAD shim for test_repack.py: a file mapped read-only, or copied by the kernel, reads as if it had shrunk to nothing. */
/*
 * A file that shrinks under a shared mapping raises SIGBUS wherever the
 * lost bytes are read. Truncating the real input at the right moment would
 * race the tool, so every read-only shared mapping of a file is replaced,
 * at the same address and length, by a mapping of an empty memfd: the tool
 * meets the same SIGBUS on its first read through it, deterministically,
 * while its pread and copy_file_range calls still see the intact file.
 *
 * With H5IMG_SHRINK_AT=copy the mapping stays intact (headers parse) and
 * instead the kernel's copy from a regular file, splice or copy_file_range,
 * finds the end of the file at once, as it would after a truncation.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static int shrink_copies(void)
{
    const char *at = getenv("H5IMG_SHRINK_AT");
    return at && strcmp(at, "copy") == 0;
}

static int is_regular_file(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

typedef ssize_t (*splice_fn)(int, loff_t *, int, loff_t *, size_t, unsigned);
typedef ssize_t (*copy_file_range_fn)(int, loff_t *, int, loff_t *, size_t, unsigned);

ssize_t splice(int in, loff_t *in_offset, int out, loff_t *out_offset, size_t length, unsigned flags)
{
    static splice_fn next_splice;
    if (!next_splice) next_splice = (splice_fn)dlsym(RTLD_NEXT, "splice");
    if (shrink_copies() && is_regular_file(in)) return 0;
    return next_splice(in, in_offset, out, out_offset, length, flags);
}

ssize_t copy_file_range(int in, loff_t *in_offset, int out, loff_t *out_offset, size_t length, unsigned flags)
{
    static copy_file_range_fn next_copy;
    if (!next_copy) next_copy = (copy_file_range_fn)dlsym(RTLD_NEXT, "copy_file_range");
    if (shrink_copies() && is_regular_file(in)) return 0;
    return next_copy(in, in_offset, out, out_offset, length, flags);
}

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset)
{
    static mmap_fn next_mmap;
    if (!next_mmap) next_mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
    void *mapped = next_mmap(address, length, protection, flags, fd, offset);
    if (shrink_copies() || mapped == MAP_FAILED || fd < 0 || protection != PROT_READ || !(flags & MAP_SHARED)) return mapped;
    int empty = memfd_create("shrunk_input", MFD_CLOEXEC);
    if (empty < 0) return mapped; /* the test then sees a normal run and fails */
    void *replaced = next_mmap(mapped, length, PROT_READ, MAP_SHARED | MAP_FIXED, empty, 0);
    close(empty);
    return replaced;
}
