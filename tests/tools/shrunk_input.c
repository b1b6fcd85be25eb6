/* shrunk_input.c: an LD_PRELOAD shim for test_repack.py: a file mapped read-only reads as if it had shrunk to nothing just after. */
/*
 * A file that shrinks under a shared mapping raises SIGBUS wherever the
 * lost bytes are read. Truncating the real input at the right moment would
 * race the tool, so every read-only shared mapping of a file is replaced,
 * at the same address and length, by a mapping of an empty memfd: the tool
 * meets the same SIGBUS on its first read through it, deterministically,
 * while its pread and copy_file_range calls still see the intact file.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset)
{
    static mmap_fn next_mmap;
    if (!next_mmap) next_mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
    void *mapped = next_mmap(address, length, protection, flags, fd, offset);
    if (mapped == MAP_FAILED || fd < 0 || protection != PROT_READ || !(flags & MAP_SHARED)) return mapped;
    int empty = memfd_create("shrunk_input", MFD_CLOEXEC);
    if (empty < 0) return mapped; /* the test then sees a normal run and fails */
    void *replaced = next_mmap(mapped, length, PROT_READ, MAP_SHARED | MAP_FIXED, empty, 0);
    close(empty);
    return replaced;
}
