/* png_mutate.h: PNG-aware libFuzzer mutation (chunk CRCs repaired, IDAT inflated/mutated/recompressed) shared by the harnesses. */
/*
 * Blind byte mutation of a PNG almost always breaks a chunk CRC or the
 * zlib stream, so both decoders stop at the first check and the pixel
 * code is never reached. These helpers keep most mutants well-formed at
 * those two levels: after a byte-level mutation the CRCs are usually
 * recomputed, and sometimes the image data itself is inflated, mutated
 * (filter bytes, samples, length) and deflated again, possibly split into
 * several IDAT chunks, or IHDR's fields are mutated. Only compiled into the
 * libFuzzer executables (H5IMG_LIBFUZZER): the mutated inputs are ordinary
 * files, so the replay needs none of this.
 */
#ifndef H5IMG_FUZZ_PNG_MUTATE_H
#define H5IMG_FUZZ_PNG_MUTATE_H

#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

#define PM_RAW_CAP ((size_t)1 << 20)

static uint32_t pm_next(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static uint32_t pm_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void pm_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int pm_is_png(const uint8_t *d, size_t n)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return n >= 8 && memcmp(d, sig, 8) == 0;
}

/* Recompute every complete chunk's CRC. */
static void pm_fix_crcs(uint8_t *d, size_t n)
{
    size_t pos = 8;
    while (pos + 12 <= n) {
        uint32_t len = pm_be32(d + pos);
        if (len > n - pos - 12) break;
        pm_put32(d + pos + 8 + len, libdeflate_crc32(0, d + pos + 4, (size_t)len + 4));
        pos += (size_t)len + 12;
    }
}

static size_t pm_put_chunk(uint8_t *out, size_t at, size_t cap, const char *type, const uint8_t *body, size_t len)
{
    if (at > cap || cap - at < len + 12) return 0;
    pm_put32(out + at, (uint32_t)len);
    memcpy(out + at + 4, type, 4);
    if (len) memcpy(out + at + 8, body, len);
    pm_put32(out + at + 8 + len, libdeflate_crc32(0, out + at + 4, len + 4));
    return len + 12;
}

/* Inflate all IDAT data, mutate it (or IHDR), deflate it again and rebuild
 * the file with the other chunks in place. Returns the new size, or 0 when
 * the input does not lend itself to this (no IDAT, stream not inflatable). */
static size_t pm_mutate_image_data(uint8_t *d, size_t n, size_t max_size, uint32_t *rng)
{
    static uint8_t raw[PM_RAW_CAP], zin[PM_RAW_CAP], zout[PM_RAW_CAP + 4096], file[PM_RAW_CAP + 65536];
    if (!pm_is_png(d, n)) return 0;
    size_t pos = 8, zlen = 0, first_idat = 0, after_idat = 0;
    while (pos + 12 <= n) {
        uint32_t len = pm_be32(d + pos);
        if (len > n - pos - 12) break;
        if (memcmp(d + pos + 4, "IDAT", 4) == 0) {
            if (!first_idat) first_idat = pos;
            if (zlen + len > sizeof zin) return 0;
            memcpy(zin + zlen, d + pos + 8, len);
            zlen += len;
            after_idat = pos + 12 + len;
        }
        pos += (size_t)len + 12;
    }
    if (!first_idat) return 0;

    struct libdeflate_decompressor *dc = libdeflate_alloc_decompressor();
    if (!dc) return 0;
    size_t rawlen = 0;
    enum libdeflate_result r = libdeflate_zlib_decompress(dc, zin, zlen, raw, sizeof raw, &rawlen);
    libdeflate_free_decompressor(dc);
    if (r != LIBDEFLATE_SUCCESS) return 0;

    /* What to change: the filtered rows (most often) or IHDR. */
    uint8_t ihdr[13];
    int have_ihdr = n >= 8 + 25 && memcmp(d + 12, "IHDR", 4) == 0 && pm_be32(d + 8) == 13;
    if (have_ihdr) memcpy(ihdr, d + 16, 13);
    uint32_t what = pm_next(rng) % 8;
    if (what == 0 && have_ihdr) {
        LLVMFuzzerMutate(ihdr, 13, 13);
    } else if (what == 1 && have_ihdr) {
        /* a valid depth/colour pair or interlace flip, same raw bytes */
        static const uint8_t pairs[][2] = {{1, 0}, {2, 0}, {4, 0}, {8, 0}, {16, 0}, {8, 2}, {16, 2}, {1, 3},
                                           {2, 3}, {4, 3}, {8, 3}, {8, 4}, {16, 4}, {8, 6}, {16, 6}};
        uint32_t k = pm_next(rng) % (sizeof pairs / sizeof pairs[0]);
        ihdr[8] = pairs[k][0];
        ihdr[9] = pairs[k][1];
        if (pm_next(rng) % 4 == 0) ihdr[12] ^= 1;
    } else if (what == 2 && rawlen) {
        /* a random filter type on a random byte (often a row's filter byte) */
        raw[pm_next(rng) % rawlen] = (uint8_t)(pm_next(rng) % 5);
    } else {
        rawlen = LLVMFuzzerMutate(raw, rawlen, sizeof raw);
    }

    int level = (int)(pm_next(rng) % 13);
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    if (!c) return 0;
    size_t clen = libdeflate_zlib_compress(c, raw, rawlen, zout, sizeof zout);
    libdeflate_free_compressor(c);
    if (!clen) return 0;

    /* Rebuild: signature, chunks before IDAT (IHDR possibly changed), IDATs, the rest. */
    size_t at = 0, cap = sizeof file;
    if (first_idat > cap) return 0;
    memcpy(file, d, first_idat);
    if (have_ihdr) {
        memcpy(file + 16, ihdr, 13);
        pm_put32(file + 29, libdeflate_crc32(0, file + 12, 17));
    }
    at = first_idat;
    unsigned pieces = 1 + pm_next(rng) % 3;
    size_t done = 0;
    for (unsigned k = 0; k < pieces; k++) {
        size_t part = k + 1 == pieces ? clen - done : (clen - done) / 2;
        size_t put = pm_put_chunk(file, at, cap, "IDAT", zout + done, part);
        if (!put) return 0;
        at += put;
        done += part;
    }
    /* Chunks between the IDATs are dropped; everything after the last stays. */
    if (after_idat < n) {
        if (cap - at < n - after_idat) return 0;
        memcpy(file + at, d + after_idat, n - after_idat);
        at += n - after_idat;
    }
    if (at > max_size) return 0;
    memcpy(d, file, at);
    return at;
}

/* One mutation of a PNG (or anything else) occupying d[0..n). */
static size_t pm_mutate(uint8_t *d, size_t n, size_t max_size, unsigned int seed)
{
    uint32_t rng = seed;
    if (pm_is_png(d, n) && pm_next(&rng) % 3 == 0) {
        size_t m = pm_mutate_image_data(d, n, max_size, &rng);
        if (m) return m;
    }
    n = LLVMFuzzerMutate(d, n, max_size);
    if (pm_is_png(d, n) && pm_next(&rng) % 8 != 0) pm_fix_crcs(d, n);
    return n;
}

#endif /* H5IMG_FUZZ_PNG_MUTATE_H */
