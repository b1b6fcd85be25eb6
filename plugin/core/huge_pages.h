/* core/huge_pages.h: large output buffers on 2 MiB boundaries, transparent huge pages and up-front fault-in (Linux). */
#ifndef H5IMG_CORE_HUGE_PAGES_H
#define H5IMG_CORE_HUGE_PAGES_H

#include <stddef.h>

/* Advise the kernel to back the 2 MiB-aligned interior of a large buffer
 * with transparent huge pages (Linux; elsewhere, and for buffers under
 * 4 MiB, nothing). Returns 1 when the advice was taken. Performance only:
 * the buffer's contents and lifetime are unaffected. */
int h5img_advise_huge_pages(void *buffer, size_t size);

/* Fault in the whole pages of a buffer of 4 MiB or more that is about to be
 * written in full, with one system call on the calling thread (Linux 5.14+;
 * elsewhere, and for smaller buffers, nothing). Returns 1 when the pages are
 * now resident. Call after h5img_advise_huge_pages so they come in huge.
 * A refusal (old kernel, no memory to spare) leaves the buffer as it was:
 * its pages then fault in on first write as usual. */
int h5img_prefault(void *buffer, size_t size);

/* At least `size` bytes that free() releases. When the buffer is large
 * enough for h5img_advise_huge_pages to act (4 MiB), it starts on a 2 MiB
 * boundary and its capacity is rounded up to whole 2 MiB pages, so that
 * advising and faulting in all `*capacity` bytes makes every page huge.
 * Sets `*capacity` to the bytes usable (0 on failure). NULL when out of
 * memory, when the rounding would overflow, or for size 0. */
void *h5img_alloc_huge_aligned(size_t size, size_t *capacity);

#endif /* H5IMG_CORE_HUGE_PAGES_H */
