/* huge_pages.c: allocate large output buffers on huge-page boundaries, ask Linux for transparent huge pages, and fault them in up front. */
#include "core/huge_pages.h"
#include "core/decoder_state.h"

#include <stdint.h>
#include <stdlib.h>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

/* A decoded frame lands in a buffer the filter allocates anew for every
 * chunk and HDF5 frees after copying it out, so in a process whose
 * allocator hands back fresh pages each time, faulting in 4 KiB pages costs
 * about as much as the JPEG decode itself on a VM. One 2 MiB fault replaces 512 of them. Only the
 * 2 MiB-aligned interior can be huge, and below 4 MiB there is little of it;
 * numpy applies the same threshold to its own arrays. */
#define HUGE_PAGE_BYTES ((uintptr_t)2 << 20)
#define HUGE_PAGE_MIN_BUFFER ((size_t)4 << 20)

#if defined(__linux__) && (defined(MADV_HUGEPAGE) || defined(MADV_POPULATE_WRITE))
/* madvise(advice) over the whole `unit`-aligned units inside a buffer of
 * at least HUGE_PAGE_MIN_BUFFER bytes; 1 when the kernel took it. */
static int advise_whole_units(void *buffer, size_t size, uintptr_t unit, int advice)
{
    if (!buffer || size < HUGE_PAGE_MIN_BUFFER) return 0;
    uintptr_t first = ((uintptr_t)buffer + unit - 1) & ~(unit - 1);
    uintptr_t end = ((uintptr_t)buffer + size) & ~(unit - 1);
    if (end <= first) return 0;
    return madvise((void *)first, end - first, advice) == 0;
}
#endif

int h5img_advise_huge_pages(void *buffer, size_t size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    /* Advice only: a kernel without THP refuses it and nothing changes. */
    return advise_whole_units(buffer, size, HUGE_PAGE_BYTES, MADV_HUGEPAGE);
#else
    (void)buffer;
    (void)size;
    return 0;
#endif
}

/* Both bands of a split JPEG decode write into fresh pages of the same
 * buffer, so their huge-page faults (each clearing 2 MiB) ran concurrently,
 * and on this project's 2-core VM that made the h5py colour read erratic:
 * 17-26 ms per frame over six runs of 24 fresh-page frames, against 17-20 ms
 * when the calling thread faults the whole buffer in with one madvise before
 * decoding (default malloc: 10.8-15.4 ms against 11.4-13.2). Masks were
 * unchanged either way. The decode overwrites every byte, so faulting in
 * early costs no memory that would not be taken anyway. When the decoder
 * calls this is h5img_decoder_fault_in_later's business. Linux 5.14 and
 * later; elsewhere pages fault in as they are written. */
int h5img_prefault(void *buffer, size_t size)
{
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    return advise_whole_units(buffer, size, (uintptr_t)sysconf(_SC_PAGESIZE), MADV_POPULATE_WRITE);
#else
    (void)buffer;
    (void)size;
    return 0;
#endif
}

/* malloc places a large buffer wherever the kernel mapped it, so up to two
 * partial huge pages at its ends stay in 4 KiB pages: for a 5 MB mask that
 * can be half the buffer. Starting on a 2 MiB boundary leaves only the tail
 * partial, and rounding the capacity up to whole huge pages makes that huge
 * too: a 2448x2048 mask's 0.78 MiB tail took 200 faults of 4 KiB, which cost
 * more than clearing one more 2 MiB page (fresh-page mask reads through h5py,
 * 14 interleaved pairs of 24 frames: medians 4.70 ms before, 4.56 after).
 * The leading slack posix_memalign skips is never touched, so it costs
 * address space, not memory; the rounded tail costs up to 2 MiB for as long
 * as the buffer lives. */
void *h5img_alloc_huge_aligned(size_t size, size_t *capacity)
{
    *capacity = 0;
    void *buffer = NULL;
    size_t whole = size;
    if (size == 0) return NULL;
    if (size < HUGE_PAGE_MIN_BUFFER) {
        buffer = malloc(size);
    } else {
        if (size > SIZE_MAX - (HUGE_PAGE_BYTES - 1)) return NULL;
        whole = (size + (HUGE_PAGE_BYTES - 1)) & ~(size_t)(HUGE_PAGE_BYTES - 1);
        if (posix_memalign(&buffer, (size_t)HUGE_PAGE_BYTES, whole) != 0) buffer = NULL;
    }
    if (buffer) *capacity = whole;
    return buffer;
}
