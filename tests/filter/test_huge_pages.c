/* test_huge_pages.c: the filter's large output buffers start on a huge-page boundary, their advice reaches the kernel, and they are faulted in before decoding. */
/*
 * The advice only changes speed, so what can be checked is that the kernel
 * recorded it: /proc/self/smaps lists "hg" in VmFlags for a mapping that
 * carries MADV_HUGEPAGE. A kernel built without transparent huge pages has
 * no /sys/kernel/mm/transparent_hugepage and must refuse the advice.
 * Faulting in is visible to mincore(), which reports a never-touched page of
 * a private anonymous mapping as not resident.
 */
#include "h5img_internal.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

static int kernel_has_thp(void)
{
    return access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
}

/* 1 if the smaps entry containing `address` lists the VmFlags `flag`, 0 if
 * not, -1 if no mapping contains it. */
static int mapping_has_flag(const void *address, const char *flag)
{
    FILE *smaps = fopen("/proc/self/smaps", "r");
    ck_assert_ptr_nonnull(smaps);
    char line[512];
    int inside = 0, result = -1;
    uintptr_t target = (uintptr_t)address;
    while (fgets(line, sizeof line, smaps)) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = target >= start && target < end;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            char padded[520];
            snprintf(padded, sizeof padded, "%s ", line + 8);
            char wanted[16];
            snprintf(wanted, sizeof wanted, " %s ", flag);
            result = strstr(padded, wanted) != NULL;
            break;
        }
    }
    fclose(smaps);
    return result;
}

static void *round_up(void *p, size_t to)
{
    return (void *)(((uintptr_t)p + to - 1) & ~(uintptr_t)(to - 1));
}

START_TEST(large_buffer_is_advised)
{
    size_t size = 15 * MIB; /* one decoded 2448x2048 RGB frame */
    unsigned char *buffer = malloc(size);
    ck_assert_ptr_nonnull(buffer);
    void *interior = round_up(buffer, 2 * MIB);
    int taken = h5img_advise_huge_pages(buffer, size);
    if (!kernel_has_thp()) {
        ck_assert_int_eq(taken, 0);
    } else {
        ck_assert_int_eq(taken, 1);
        ck_assert_int_eq(mapping_has_flag(interior, "hg"), 1);
    }
    /* Advice must not disturb the contents. */
    memset(buffer, 0x5a, size);
    ck_assert_int_eq(buffer[0], 0x5a);
    ck_assert_int_eq(buffer[size - 1], 0x5a);
    free(buffer);
}
END_TEST

START_TEST(small_or_missing_buffer_is_left_alone)
{
    ck_assert_int_eq(h5img_advise_huge_pages(NULL, 64 * MIB), 0);
    /* A 1 MiB buffer has no whole aligned huge page to speak of: below the
     * 4 MiB threshold the call must not even try. */
    size_t size = MIB;
    unsigned char *buffer = malloc(size);
    ck_assert_ptr_nonnull(buffer);
    ck_assert_int_eq(h5img_advise_huge_pages(buffer, size), 0);
    free(buffer);
}
END_TEST

/* Guards the alignment and rounding that let the whole buffer be huge: a
 * plain malloc of a decoded 2448x2048 RGB frame lands at a page boundary
 * with 4 KiB pages at both ends. The odd size is a real frame's. */
START_TEST(large_buffer_starts_on_a_huge_page)
{
    size_t size = (size_t)2448 * 2048 * 3, capacity = 0;
    unsigned char *buffer = h5img_alloc_huge_aligned(size, &capacity);
    ck_assert_ptr_nonnull(buffer);
    ck_assert_uint_eq((uintptr_t)buffer % (2 * MIB), 0);
    /* 14.34 MiB rounds up to 8 whole huge pages, not 7 and a partial one. */
    ck_assert_uint_eq(capacity, 16 * MIB);
    if (kernel_has_thp()) {
        ck_assert_int_eq(h5img_advise_huge_pages(buffer, capacity), 1);
        /* The advice now starts at the first byte, not a boundary inside. */
        ck_assert_int_eq(mapping_has_flag(buffer, "hg"), 1);
        ck_assert_int_eq(mapping_has_flag(buffer + capacity - 1, "hg"), 1);
    }
    /* All of the capacity is the caller's to write. */
    memset(buffer, 0xa5, capacity);
    ck_assert_int_eq(buffer[capacity - 1], 0xa5);
    free(buffer); /* what HDF5 does with the filter's output */
}
END_TEST

START_TEST(whole_huge_pages_are_not_rounded_further)
{
    size_t capacity = 0;
    unsigned char *buffer = h5img_alloc_huge_aligned(4 * MIB, &capacity);
    ck_assert_ptr_nonnull(buffer);
    ck_assert_uint_eq(capacity, 4 * MIB);
    free(buffer);
}
END_TEST

START_TEST(small_or_empty_allocation)
{
    size_t capacity = 1;
    ck_assert_ptr_null(h5img_alloc_huge_aligned(0, &capacity));
    ck_assert_uint_eq(capacity, 0);
    /* Under the advice threshold alignment buys nothing: any usable block,
     * exactly as large as asked. */
    unsigned char *buffer = h5img_alloc_huge_aligned(MIB + 1, &capacity);
    ck_assert_ptr_nonnull(buffer);
    ck_assert_uint_eq(capacity, MIB + 1);
    memset(buffer, 0x3c, MIB + 1);
    ck_assert_int_eq(buffer[MIB], 0x3c);
    free(buffer);
}
END_TEST

/* A size whose rounding up to whole huge pages would wrap around must fail,
 * not come back as a tiny buffer. */
START_TEST(rounding_that_would_overflow_fails)
{
    size_t capacity = 1;
    ck_assert_ptr_null(h5img_alloc_huge_aligned(SIZE_MAX - 5, &capacity));
    ck_assert_uint_eq(capacity, 0);
}
END_TEST

/* MADV_POPULATE_WRITE arrived in Linux 5.14; older kernels refuse it. */
static int kernel_can_populate(void)
{
    struct utsname name;
    unsigned major = 0, minor = 0;
    if (uname(&name) != 0 || sscanf(name.release, "%u.%u", &major, &minor) != 2) return 0;
    return major > 5 || (major == 5 && minor >= 14);
}

/* How many of the `pages` pages from `start` (page-aligned) are resident. */
static size_t resident_pages(void *start, size_t pages)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *vector = calloc(pages, 1);
    ck_assert_ptr_nonnull(vector);
    ck_assert_int_eq(mincore(start, pages * page, vector), 0);
    size_t resident = 0;
    for (size_t i = 0; i < pages; i++) resident += vector[i] & 1;
    free(vector);
    return resident;
}

/* Guards the up-front fault-in that keeps the two bands of a split decode
 * from faulting the same buffer concurrently. A mapping of its own makes
 * "not yet resident" certain before the call. */
START_TEST(large_buffer_is_faulted_in)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = 16 * MIB;
    unsigned char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    size_t pages = size / page;
    ck_assert_uint_eq(resident_pages(map, pages), 0);
    /* An unaligned start and end, as malloc would give: every whole page
     * inside must come in, and nothing may be written. */
    unsigned char *buffer = map + 100;
    size_t length = size - 300;
    int taken = h5img_prefault(buffer, length);
    if (!kernel_can_populate()) {
        ck_assert_int_eq(taken, 0);
    } else {
        ck_assert_int_eq(taken, 1);
        ck_assert_uint_eq(resident_pages(map + page, pages - 2), pages - 2);
        for (size_t i = 0; i < size; i += page) ck_assert_int_eq(map[i + page / 2], 0);
    }
    ck_assert_int_eq(munmap(map, size), 0);
}
END_TEST

START_TEST(small_buffer_is_not_faulted_in)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = 2 * MIB;
    unsigned char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    /* Under 4 MiB the decode's own writes are cheap enough: no call. */
    ck_assert_int_eq(h5img_prefault(map, size), 0);
    ck_assert_uint_eq(resident_pages(map, size / page), 0);
    ck_assert_int_eq(h5img_prefault(NULL, 64 * MIB), 0);
    ck_assert_int_eq(munmap(map, size), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("huge_pages");
    TCase *tc = tcase_create("advice");
    tcase_add_test(tc, large_buffer_is_advised);
    tcase_add_test(tc, small_or_missing_buffer_is_left_alone);
    tcase_add_test(tc, large_buffer_starts_on_a_huge_page);
    tcase_add_test(tc, whole_huge_pages_are_not_rounded_further);
    tcase_add_test(tc, small_or_empty_allocation);
    tcase_add_test(tc, rounding_that_would_overflow_fails);
    tcase_add_test(tc, large_buffer_is_faulted_in);
    tcase_add_test(tc, small_buffer_is_not_faulted_in);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
