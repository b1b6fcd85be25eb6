/* test_huge_pages.c: the filter's large output buffers start on a huge-page boundary, their advice reaches the kernel, and the decode faults them in. */
/*
 * The advice only changes speed, so what can be checked is that the kernel
 * recorded it: /proc/self/smaps lists "hg" in VmFlags for a mapping that
 * carries MADV_HUGEPAGE. A kernel built without transparent huge pages has
 * no /sys/kernel/mm/transparent_hugepage and must refuse the advice.
 * Faulting in is visible to mincore(), which reports a never-touched page of
 * a private anonymous mapping as not resident.
 */
#include "codec/codec.h"
#include "core/huge_pages.h"
#include "core/second_thread.h"

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

/* A mapping of its own, none of it resident yet: it stands for the
 * filter's fresh output buffer, which the decoder faults in whatever image
 * it decodes (the image's own output buffer is a separate one here). */
static unsigned char *fresh_mapping(size_t size)
{
    unsigned char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_uint_eq(resident_pages(map, size / (size_t)sysconf(_SC_PAGESIZE)), 0);
    return map;
}

static size_t resident_bytes(unsigned char *map, size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return resident_pages(map, size / page) * page;
}

/* A `channels`-channel width x height image with gradients and texture, so
 * that every row of its JPEG carries entropy-coded data, encoded by h5img. */
static void *encoded_frame(uint32_t width, uint32_t height, uint32_t channels, h5img_codec codec, size_t *size)
{
    h5img_layout layout = {height, width, channels, 1, channels == 3 ? H5IMG_RULE_COLOR : H5IMG_RULE_MASK, 0};
    size_t bytes = h5img_layout_bytes(&layout);
    unsigned char *pixels = malloc(bytes);
    ck_assert_ptr_nonnull(pixels);
    for (size_t i = 0; i < bytes; i++) pixels[i] = (unsigned char)((i / channels) % width / 4 + (i * 2654435761u >> 28));
    void *encoded = NULL;
    char why[H5IMG_MESSAGE_SIZE];
    ck_assert_int_eq(h5img_encode(pixels, bytes, &layout, codec, codec == H5IMG_CODEC_JPEG ? 90 : 0, &encoded, size, why, sizeof why), H5IMG_OK);
    free(pixels);
    return encoded;
}

#define FRAME_WIDTH 1024u /* 768 Ki pixels: over the 512 Ki at which JPEG decodes split */
#define FRAME_HEIGHT 768u
#define PENDING_SIZE (8 * MIB)

/* Decode the test frame (JPEG colour or PNG gray) on `decoder` with
 * PENDING_SIZE bytes of `pending` handed to h5img_decoder_fault_in_later
 * (none when NULL). Returns the decoder's split row (0: one band). */
static uint32_t decode_frame(h5img_decoder *decoder, h5img_codec codec, unsigned char *pending)
{
    uint32_t channels = codec == H5IMG_CODEC_JPEG ? 3 : 1;
    size_t size = 0;
    void *encoded = encoded_frame(FRAME_WIDTH, FRAME_HEIGHT, channels, codec, &size);
    h5img_layout layout = {FRAME_HEIGHT, FRAME_WIDTH, channels, 1, channels == 3 ? H5IMG_RULE_COLOR : H5IMG_RULE_MASK, 0};
    size_t bytes = h5img_layout_bytes(&layout);
    unsigned char *out = malloc(bytes);
    ck_assert_ptr_nonnull(out);
    if (pending) h5img_decoder_fault_in_later(decoder, pending, PENDING_SIZE);
    h5img_jpeg_split_rest_clear();
    ck_assert_int_eq(h5img_decoder_decode(decoder, encoded, size, &layout, out, bytes), H5IMG_OK);
    /* Used or not, the buffer is forgotten once the decode returns. */
    ck_assert_ptr_null(decoder->fault_in);
    ck_assert_uint_eq(decoder->fault_in_size, 0);
    free(out);
    h5img_free(encoded);
    return codec == H5IMG_CODEC_JPEG ? decoder->jpeg_split_row : 0;
}

/* Decode the test frame with a fresh PENDING_SIZE mapping pending, check
 * that the decode faulted all of it in, and return the split row. */
static uint32_t decode_faulting_in(h5img_decoder *decoder, h5img_codec codec)
{
    unsigned char *pending = fresh_mapping(PENDING_SIZE);
    uint32_t cut = decode_frame(decoder, codec, pending);
    ck_assert_uint_eq(resident_bytes(pending, PENDING_SIZE), kernel_can_populate() ? PENDING_SIZE : 0);
    ck_assert_int_eq(munmap(pending, PENDING_SIZE), 0);
    return cut;
}

static h5img_decoder *decoder_with_threads(unsigned threads)
{
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    ck_assert_int_eq(h5img_decoder_set_threads(decoder, threads), H5IMG_OK);
    return decoder;
}

/* Guards the fault-in of a two-band JPEG decode, which the first band does
 * after starting the second, and the cut that makes room for it. */
START_TEST(split_jpeg_faults_in_pending_output)
{
    h5img_decoder *decoder = decoder_with_threads(2);
    uint32_t cut_without = decode_frame(decoder, H5IMG_CODEC_JPEG, NULL);
    ck_assert_uint_ne(cut_without, 0);
    uint32_t cut_with = decode_faulting_in(decoder, H5IMG_CODEC_JPEG);
    ck_assert_uint_ne(cut_with, 0);
    /* Band one does the faulting, so it takes fewer rows. */
    ck_assert_msg(cut_with < cut_without, "cut at row %u with the fault-in, %u without", cut_with, cut_without);
    h5img_decoder_free(decoder);
}
END_TEST

/* One-band JPEG and PNG decodes fault it in too, before writing. */
START_TEST(one_band_and_png_decodes_fault_in_pending_output)
{
    h5img_decoder *decoder = decoder_with_threads(1);
    ck_assert_uint_eq(decode_faulting_in(decoder, H5IMG_CODEC_JPEG), 0);
    ck_assert_uint_eq(decode_faulting_in(decoder, H5IMG_CODEC_PNG), 0);
    h5img_decoder_free(decoder);
}
END_TEST

/* A decode that fails leaves the buffer alone (the filter frees it next)
 * and forgets it: the decoder's next decode must not touch it either. */
START_TEST(failed_decode_forgets_pending_output)
{
    h5img_decoder *decoder = h5img_decoder_new();
    ck_assert_ptr_nonnull(decoder);
    unsigned char *pending = fresh_mapping(PENDING_SIZE);
    h5img_layout layout = {FRAME_HEIGHT, FRAME_WIDTH, 3, 1, H5IMG_RULE_COLOR, 0};
    size_t bytes = h5img_layout_bytes(&layout);
    unsigned char *out = malloc(bytes);
    ck_assert_ptr_nonnull(out);
    const unsigned char not_an_image[16] = "neither PNG nor";
    h5img_decoder_fault_in_later(decoder, pending, PENDING_SIZE);
    ck_assert_int_eq(h5img_decoder_decode(decoder, not_an_image, sizeof not_an_image, &layout, out, bytes),
                     H5IMG_E_UNKNOWN_FORMAT);
    ck_assert_ptr_null(decoder->fault_in);
    decode_frame(decoder, H5IMG_CODEC_JPEG, NULL);
    ck_assert_uint_eq(resident_bytes(pending, PENDING_SIZE), 0);
    ck_assert_int_eq(munmap(pending, PENDING_SIZE), 0);
    free(out);
    h5img_decoder_free(decoder);
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
    tcase_add_test(tc, split_jpeg_faults_in_pending_output);
    tcase_add_test(tc, one_band_and_png_decodes_fault_in_pending_output);
    tcase_add_test(tc, failed_decode_forgets_pending_output);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
