/* huge_pages.c: ask Linux to back a large, freshly allocated output buffer with transparent huge pages. */
#include "h5img_internal.h"

#include <stdint.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

/* A decoded frame lands in a buffer HDF5 allocates anew for every chunk and
 * frees after copying it out, so in a process whose allocator hands back
 * fresh pages each time, faulting in 4 KiB pages costs about as much as the
 * JPEG decode itself on a VM. One 2 MiB fault replaces 512 of them. Only the
 * 2 MiB-aligned interior can be huge, and below 4 MiB there is little of it;
 * numpy applies the same threshold to its own arrays. */
#define HUGE_PAGE_BYTES ((uintptr_t)2 << 20)
#define HUGE_PAGE_MIN_BUFFER ((size_t)4 << 20)

int h5img_advise_huge_pages(void *buffer, size_t size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (!buffer || size < HUGE_PAGE_MIN_BUFFER) return 0;
    uintptr_t first = ((uintptr_t)buffer + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
    uintptr_t end = ((uintptr_t)buffer + size) & ~(HUGE_PAGE_BYTES - 1);
    if (end <= first) return 0;
    /* Advice only: a kernel without THP refuses it and nothing changes. */
    return madvise((void *)first, end - first, MADV_HUGEPAGE) == 0;
#else
    (void)buffer;
    (void)size;
    return 0;
#endif
}
