/* test_deflate_strict.c: differential tests of the strict DEFLATE checker against zlib's inflate, and of the fast path that relies on it. */
/*
 * Every stream here -- zlib's own output at every level, strategy and
 * window, hand-built blocks (fixed, dynamic, stored) that use every
 * corner of the format libdeflate is lenient about, and thousands of
 * mutated copies of both -- goes through three comparisons:
 *   1. the checker accepts  <=>  zlib (inflateInit, Adler-32 check off)
 *      reaches Z_STREAM_END, with the same bytes consumed and produced;
 *   2. with H5IMG_DEFLATE_HEADER_WINDOW, the same against zlib taking the
 *      window from the header and fed one output byte per call, the way
 *      libpng's row-by-row inflate can meet any distance;
 *   3. libdeflate accepts AND the checker accepts  <=>  zlib (Adler-32 on)
 *      accepts: the fast path's combination rejects exactly what zlib does.
 * Counters show that libdeflate really accepts streams zlib rejects here,
 * so the checker is what makes comparison 3 hold.
 */
#include "codec/png/deflate_strict.h"
#include "codec/codec.h"

#include <check.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define OUT_CAP ((size_t)1 << 22) /* streams whose zlib output is larger are compared on syntax only */

#include "test_random.h"

static int chance(unsigned percent)
{
    return rnd_below(100) < percent;
}

/* ---------------------------------------------------------------- references */

typedef struct {
    int ok;
    size_t in_used, out_size;
} verdict;

/* zlib 1.2.13 as a plain inflater (32 KiB window) or as libpng drives it
 * (window from the header, output a little at a time: one byte per call is
 * the worst case, where every distance must lie inside the window). */
static verdict zlib_ref(const uint8_t *s, size_t n, int header_window, int adler)
{
    static uint8_t sink[1u << 16];
    verdict v = {0, 0, 0};
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(inflateInit2(&z, header_window ? 0 : 15), Z_OK);
    if (!adler) ck_assert_int_eq(inflateValidate(&z, 0), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)s;
    z.avail_in = (uInt)n;
    const uInt chunk = header_window ? 1 : sizeof sink;
    int r;
    do {
        z.next_out = sink;
        z.avail_out = chunk;
        r = inflate(&z, Z_NO_FLUSH);
    } while (r == Z_OK && z.total_out <= OUT_CAP * 4);
    v.ok = r == Z_STREAM_END;
    v.in_used = z.total_in;
    v.out_size = z.total_out;
    inflateEnd(&z);
    return v;
}

static struct libdeflate_decompressor *ld;
static uint8_t *ld_out;

static int libdeflate_accepts(const uint8_t *s, size_t n, size_t *in_used, size_t *out_size)
{
    return libdeflate_zlib_decompress_ex(ld, s, n, ld_out, OUT_CAP, in_used, out_size) == LIBDEFLATE_SUCCESS;
}

/* ---------------------------------------------------------------- comparison */

static struct {
    unsigned long streams, accepted, rejected, window_runs, window_differs;
    unsigned long libdeflate_lenient; /* libdeflate took a stream zlib rejects: the checker had to catch it */
    unsigned long verdicts[4];
} stats;

static void compare(const uint8_t *s, size_t n)
{
    stats.streams++;
    size_t in_used = 0, out_size = 0;
    int got = h5img_deflate_strict_check(s, n, SIZE_MAX, 0, &in_used, &out_size);
    ck_assert_int_ge(got, 0);
    ck_assert_int_le(got, 3);
    stats.verdicts[got]++;
    verdict z = zlib_ref(s, n, 0, 0);
    if (z.ok != (got == H5IMG_DEFLATE_OK)) {
        FILE *f = fopen("deflate_strict_mismatch.bin", "wb");
        if (f) {
            fwrite(s, 1, n, f);
            fclose(f);
        }
    }
    ck_assert_msg(z.ok == (got == H5IMG_DEFLATE_OK), "zlib %s, checker verdict %d (%zu bytes, saved to deflate_strict_mismatch.bin)",
                  z.ok ? "accepts" : "rejects", got, n);
    if (z.ok) {
        stats.accepted++;
        ck_assert_uint_eq(in_used, z.in_used);
        ck_assert_uint_eq(out_size, z.out_size);
    } else {
        stats.rejected++;
    }

    /* Header window: only differs from the above when CINFO < 7. */
    int gw = h5img_deflate_strict_check(s, n, SIZE_MAX, H5IMG_DEFLATE_HEADER_WINDOW, NULL, NULL);
    if (n >= 2 && (s[0] >> 4) < 7 && got == H5IMG_DEFLATE_OK && out_size < 300000) {
        verdict zw = zlib_ref(s, n, 1, 0);
        stats.window_runs++;
        stats.window_differs += zw.ok != z.ok;
        ck_assert_msg(zw.ok == (gw == H5IMG_DEFLATE_OK), "header window: zlib %d, checker %d", zw.ok, gw);
    } else if (got != H5IMG_DEFLATE_OK || (n >= 2 && (s[0] >> 4) == 7)) {
        ck_assert_int_eq(gw == H5IMG_DEFLATE_OK, got == H5IMG_DEFLATE_OK);
    }

    /* The fast path's pair: libdeflate (Adler-32 checked) and the checker. */
    if (z.out_size <= OUT_CAP) {
        size_t ld_in = 0, ld_made = 0;
        int lda = libdeflate_accepts(s, n, &ld_in, &ld_made);
        verdict za = zlib_ref(s, n, 0, 1);
        int pair = lda && got == H5IMG_DEFLATE_OK && ld_in == in_used;
        ck_assert_int_eq(pair, za.ok);
        if (pair) ck_assert_uint_eq(ld_made, za.out_size);
        if (lda && !za.ok) stats.libdeflate_lenient++;
    }
}

/* ---------------------------------------------------------------- mutations */

static void compare_mutants(const uint8_t *s, size_t n, unsigned count)
{
    uint8_t *m = malloc(n + 16);
    ck_assert_ptr_nonnull(m);
    for (unsigned k = 0; k < count; k++) {
        size_t len = n;
        memcpy(m, s, n);
        switch (rnd_below(6)) {
        case 0: /* a few bit flips, mostly near the block headers at the start */
        case 1: {
            unsigned flips = 1 + rnd_below(3);
            for (unsigned f = 0; f < flips && len; f++) {
                size_t at = chance(60) ? rnd_below(len < 64 ? (unsigned)len : 64) : rnd_below((unsigned)len);
                m[at] ^= (uint8_t)(1u << rnd_below(8));
            }
            break;
        }
        case 2: /* one random byte */
            if (len) m[rnd_below((unsigned)len)] = (uint8_t)rnd();
            break;
        case 3: /* truncated */
            len = rnd_below((unsigned)len + 1);
            break;
        case 4: /* a byte dropped */
            if (len) {
                size_t at = rnd_below((unsigned)len);
                memmove(m + at, m + at + 1, len - at - 1);
                len--;
            }
            break;
        default: /* a byte inserted */ {
            size_t at = rnd_below((unsigned)len + 1);
            memmove(m + at + 1, m + at, len - at);
            m[at] = (uint8_t)rnd();
            len++;
            break;
        }
        }
        compare(m, len);
    }
    free(m);
}

/* ---------------------------------------------------------------- zlib's own streams */

static void make_data(uint8_t *d, size_t n, unsigned kind)
{
    switch (kind) {
    case 0:
        for (size_t i = 0; i < n; i++) d[i] = (uint8_t)rnd();
        break;
    case 1: /* few symbols */
        for (size_t i = 0; i < n; i++) d[i] = (uint8_t)(rnd_below(4) * 60);
        break;
    case 2: /* runs */
        for (size_t i = 0; i < n;) {
            size_t run = 1 + rnd_below(400);
            uint8_t v = (uint8_t)rnd();
            for (; run-- && i < n; i++) d[i] = v;
        }
        break;
    case 3: { /* a period, anywhere up to 40000 bytes: long distances */
        size_t period = 1 + rnd_below(40000);
        for (size_t i = 0; i < n; i++) d[i] = i < period ? (uint8_t)rnd() : (uint8_t)(d[i - period] ^ (chance(2) ? 1 : 0));
        break;
    }
    default: /* text-like */
        for (size_t i = 0; i < n; i++) d[i] = (uint8_t)("etaoin shrdlu\n"[rnd_below(14)]);
        break;
    }
}

static size_t deflate_with(const uint8_t *d, size_t n, uint8_t *out, size_t cap, int level, int wbits, int memlevel,
                           int strategy, unsigned flushes)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit2(&z, level, Z_DEFLATED, wbits, memlevel, strategy), Z_OK);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    size_t pos = 0;
    /* Cut the input into pieces with sync/full/block flushes between them:
     * empty stored blocks, blocks ending mid-byte, several block types. */
    for (unsigned f = 0; f < flushes && pos < n; f++) {
        size_t piece = rnd_below((unsigned)(n - pos) + 1);
        z.next_in = (Bytef *)(uintptr_t)(d + pos);
        z.avail_in = (uInt)piece;
        static const int modes[] = {Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_BLOCK, Z_PARTIAL_FLUSH, Z_NO_FLUSH};
        ck_assert_int_ne(deflate(&z, modes[rnd_below(5)]), Z_STREAM_ERROR);
        pos += piece - z.avail_in;
        if (chance(30)) deflateParams(&z, rnd_below(10), chance(50) ? Z_DEFAULT_STRATEGY : Z_FIXED);
    }
    z.next_in = (Bytef *)(uintptr_t)(d + pos);
    z.avail_in = (uInt)(n - pos);
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t made = z.total_out;
    deflateEnd(&z);
    return made;
}

START_TEST(test_zlib_streams_and_mutants)
{
    rng_state = 1;
    memset(&stats, 0, sizeof stats);
    static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
    const size_t max_n = 200000;
    uint8_t *d = malloc(max_n), *z = malloc(2 * max_n + 4096); /* Z_FIXED on random bytes expands by 1/8 */
    ck_assert(d && z);
    unsigned long valid = 0;
    for (unsigned i = 0; i < 2500; i++) {
        size_t n;
        switch (rnd_below(6)) {
        case 0: n = rnd_below(3); break;
        case 1: n = rnd_below(300); break;
        case 2: n = rnd_below(70000) + 66000; break; /* over 64 KiB */
        case 3: n = rnd_below(4000) + 300; break;
        default: n = rnd_below(20000); break;
        }
        if (i % 100 == 99) n = max_n;
        make_data(d, n, rnd_below(5));
        const int level = (int)rnd_below(10), strategy = strategies[rnd_below(5)];
        const int wbits = chance(70) ? 15 : 9 + (int)rnd_below(7);
        size_t zn = deflate_with(d, n, z, 2 * max_n + 4096, level, wbits, 1 + (int)rnd_below(9), strategy,
                                 chance(40) ? rnd_below(6) : 0);
        compare(z, zn);
        ck_assert_int_eq(h5img_deflate_strict_check(z, zn, n, 0, NULL, NULL), H5IMG_DEFLATE_OK);
        if (n) ck_assert_int_eq(h5img_deflate_strict_check(z, zn, n - 1, 0, NULL, NULL), H5IMG_DEFLATE_TOO_LONG);
        /* zlib never writes beyond the window its header declares */
        ck_assert_int_eq(h5img_deflate_strict_check(z, zn, n, H5IMG_DEFLATE_HEADER_WINDOW, NULL, NULL),
                         H5IMG_DEFLATE_OK);
        valid++;
        compare_mutants(z, zn > 20000 ? 20000 : zn, zn > 20000 ? 2 : 6); /* cut: the mutants need only the start */
    }
    /* compress2 itself, every level */
    for (int level = 0; level <= 9; level++) {
        for (unsigned k = 0; k < 5; k++) {
            size_t n = k == 0 ? 0 : rnd_below(100000);
            make_data(d, n, k);
            uLongf zn = 2 * max_n + 4096;
            ck_assert_int_eq(compress2(z, &zn, d, n, level), Z_OK);
            compare(z, zn);
            ck_assert_int_eq(h5img_deflate_strict_check(z, zn, n, 0, NULL, NULL), H5IMG_DEFLATE_OK);
            valid++;
        }
    }
    fprintf(stderr, "zlib streams: %lu valid; %lu compared in all (%lu accepted, %lu rejected: "
                    "truncated %lu, invalid %lu); header-window runs %lu\n",
            valid, stats.streams, stats.accepted, stats.rejected, stats.verdicts[1], stats.verdicts[2], stats.window_runs);
    free(d);
    free(z);
}
END_TEST

/* ---------------------------------------------------------------- hand-built streams */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    uint32_t acc;
    unsigned nacc;
} bitw;

static void bw_byte(bitw *w, uint8_t b)
{
    if (w->n == w->cap) {
        w->cap = w->cap * 2 + 256;
        w->p = realloc(w->p, w->cap);
        ck_assert_ptr_nonnull(w->p);
    }
    w->p[w->n++] = b;
}

static void bw_bits(bitw *w, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        w->acc |= ((v >> i) & 1u) << w->nacc;
        if (++w->nacc == 8) {
            bw_byte(w, (uint8_t)w->acc);
            w->acc = 0;
            w->nacc = 0;
        }
    }
}

static void bw_align(bitw *w)
{
    if (w->nacc) bw_bits(w, 0, 8 - w->nacc);
}

/* Huffman codewords go most significant bit first. */
static void bw_code(bitw *w, unsigned code, unsigned len)
{
    for (unsigned i = len; i-- > 0;) bw_bits(w, code >> i & 1, 1);
}

/* Canonical codes of any length set (garbage, but defined, when over-subscribed). */
static void canonical(const uint8_t *lens, unsigned n, uint16_t *codes)
{
    unsigned count[16] = {0}, next[16];
    for (unsigned s = 0; s < n; s++) count[lens[s]]++;
    count[0] = 0;
    next[0] = 0;
    unsigned code = 0;
    for (unsigned len = 1; len < 16; len++) {
        code = (code + count[len - 1]) << 1;
        next[len] = code;
    }
    for (unsigned s = 0; s < n; s++) codes[s] = lens[s] ? (uint16_t)(next[lens[s]]++ & ((1u << lens[s]) - 1)) : 0;
}

/* A random complete code over the k symbols syms[] (k >= 2), no longer than maxlen. */
static void random_code(uint8_t *lens, unsigned n, unsigned *syms, unsigned k, unsigned maxlen)
{
    unsigned depth[320];
    unsigned leaves = 1;
    depth[0] = 0;
    while (leaves < k) {
        unsigned i = rnd_below(leaves);
        for (unsigned tries = 0; depth[i] >= maxlen && tries < 1000; tries++) i = rnd_below(leaves);
        ck_assert_uint_lt(depth[i], maxlen);
        depth[i]++;
        depth[leaves++] = depth[i];
    }
    for (unsigned j = k; j > 1; j--) {
        unsigned r = rnd_below(j), t = syms[j - 1];
        syms[j - 1] = syms[r];
        syms[r] = t;
    }
    memset(lens, 0, n);
    for (unsigned j = 0; j < k; j++) lens[syms[j]] = (uint8_t)depth[j];
}

typedef struct {
    uint8_t *d;
    size_t n, cap;
} sim_t; /* what a correct inflater outputs, for the Adler-32 */

static void sim_put(sim_t *s, uint8_t b)
{
    if (s->n == s->cap) {
        s->cap = s->cap * 2 + 4096;
        s->d = realloc(s->d, s->cap);
        ck_assert_ptr_nonnull(s->d);
    }
    s->d[s->n++] = b;
}

/* What a block does that zlib rejects (or that is the edge of what it accepts). */
typedef struct {
    unsigned hlit, hdist;      /* dynamic: 5-bit fields as written (may exceed 29) */
    int lit_shape, dist_shape; /* 0 complete, 1 single 1-bit code, 2 incomplete, 3 over-subscribed, 4 empty (dist) */
    int pre_shape;             /* 0 complete, 1 single 1-bit, 2 incomplete, 3 over-subscribed, 4 empty */
    int no_eob;                /* symbol 256 gets length 0 */
    int repeat_first;          /* code-length symbol 16 before any length */
    int repeat_overflow;       /* a last repeat runs past HLIT + HDIST lengths */
    int use_runs;              /* code lengths with 16/17/18 */
    int bad_len_sym;           /* emit length symbols 286/287 when they have a code */
    int bad_dist_sym;          /* emit distance symbols 30/31 when they have a code */
    int unused_codeword;       /* emit the invalid other 1-bit codeword of a single-code litlen/dist code */
    int too_far;               /* a distance one beyond the output so far */
    unsigned items;            /* symbols before the end of block */
} block_plan;

static void plan_defaults(block_plan *p)
{
    memset(p, 0, sizeof *p);
    p->hlit = rnd_below(30);
    p->hdist = rnd_below(30);
    p->use_runs = chance(70);
    p->items = rnd_below(400);
}

static void plan_random(block_plan *p)
{
    plan_defaults(p);
    if (chance(15)) p->hlit = 30 + rnd_below(2);
    if (chance(15)) p->hdist = 30 + rnd_below(2);
    if (chance(25)) p->lit_shape = 1 + rnd_below(3);
    if (chance(30)) p->dist_shape = 1 + rnd_below(4);
    if (chance(20)) p->pre_shape = 1 + rnd_below(4);
    p->no_eob = chance(4);
    p->repeat_first = chance(4);
    p->repeat_overflow = chance(4);
    p->bad_len_sym = chance(30);
    p->bad_dist_sym = chance(30);
    p->unused_codeword = chance(10);
    p->too_far = chance(5);
}

/* RFC 1951 3.2.5: base and extra bits of length symbols 257..287 (286/287:
 * what libdeflate makes of them) and distance symbols 0..31. */
static unsigned length_base(unsigned sym, unsigned *extra)
{
    if (sym >= 285) {
        *extra = 0;
        return 258;
    }
    unsigned base = 3, i = sym - 257;
    for (unsigned j = 0; j < i; j++) base += 1u << (j < 8 ? 0 : (j >> 2) - 1);
    *extra = i < 8 ? 0 : (i >> 2) - 1;
    return base;
}

static unsigned dist_base(unsigned sym, unsigned *extra)
{
    if (sym >= 30) {
        *extra = 13;
        return 24577;
    }
    unsigned base = 1;
    for (unsigned j = 0; j < sym; j++) base += 1u << (j < 4 ? 0 : (j >> 1) - 1);
    *extra = sym < 4 ? 0 : (sym >> 1) - 1;
    return base;
}

/* Literals, matches and the end-of-block code of one Huffman block. */
static void emit_symbols(bitw *w, sim_t *sim, const block_plan *p, const uint8_t *ll, unsigned nlen, const uint8_t *dl,
                         unsigned ndist)
{
    uint16_t lc[288], dc[32];
    canonical(ll, nlen, lc);
    canonical(dl, ndist, dc);
    unsigned lits[256], nl = 0, lens_[31], nlsym = 0, dists[32], nd = 0;
    for (unsigned s = 0; s < 256 && s < nlen; s++)
        if (ll[s]) lits[nl++] = s;
    for (unsigned s = 257; s < nlen; s++)
        if (ll[s] && (s < 286 || p->bad_len_sym)) lens_[nlsym++] = s;
    for (unsigned s = 0; s < ndist; s++)
        if (dl[s] && (s < 30 || p->bad_dist_sym)) dists[nd++] = s;
    unsigned used = 0, ones = 0; /* a lone 1-bit litlen code: its other codeword is the invalid one */
    for (unsigned s = 0; s < nlen; s++) used += ll[s] != 0, ones += ll[s] == 1;
    const int single_lit = used == 1 && ones == 1;
    for (unsigned i = 0; i < p->items; i++) {
        if (nl && (!nlsym || chance(60) || sim->n == 0)) {
            unsigned s = lits[rnd_below(nl)];
            bw_code(w, lc[s], ll[s]);
            sim_put(sim, (uint8_t)s);
            continue;
        }
        if (!nlsym) break;
        unsigned ls = lens_[rnd_below(nlsym)], lextra, lbase = length_base(ls, &lextra);
        unsigned length = lbase + rnd_below(1u << lextra);
        if (length > 258) length = 258;
        if (!nd) { /* no distance code: a length is all zlib needs to fail */
            bw_code(w, lc[ls], ll[ls]);
            bw_bits(w, length - lbase, lextra);
            if (!p->unused_codeword) {
                bw_bits(w, (uint32_t)rnd(), 5);
                continue;
            }
            bw_bits(w, rnd_below(2), 1); /* libdeflate: any 1 bit is distance symbol 0 */
            for (unsigned j = 0; j < length && sim->n; j++) sim_put(sim, sim->d[sim->n - 1]);
            continue;
        }
        unsigned ds = dists[rnd_below(nd)], dextra, dbase = dist_base(ds, &dextra);
        unsigned dist = dbase + rnd_below(1u << dextra);
        if (ds < 30 && dist > sim->n && !p->too_far) {
            if (dbase > sim->n) continue; /* this symbol cannot reach back that little */
            unsigned span = (unsigned)(sim->n - dbase) + 1;
            dist = dbase + rnd_below(span < (1u << dextra) ? span : 1u << dextra);
        }
        if (p->too_far && chance(20) && ds < 30 && sim->n + 1 >= dbase && sim->n + 1 < dbase + (1u << dextra))
            dist = (unsigned)sim->n + 1;
        bw_code(w, lc[ls], ll[ls]);
        bw_bits(w, length - lbase, lextra);
        if (p->unused_codeword && dl[ds] == 1 && chance(20)) bw_code(w, dc[ds] ^ 1, 1); /* libdeflate: same symbol */
        else bw_code(w, dc[ds], dl[ds]);
        bw_bits(w, dist - dbase, dextra);
        if (dist <= sim->n) /* as libdeflate copies it, also for symbols 286/287 and 30/31 */
            for (unsigned j = 0; j < length; j++) sim_put(sim, sim->d[sim->n - dist]);
    }
    if (!ll[256]) return;
    if (p->unused_codeword && single_lit) bw_code(w, lc[256] ^ 1, 1); /* libdeflate: end of block too */
    else bw_code(w, lc[256], ll[256]);
}

static void fixed_lengths(uint8_t *ll, uint8_t *dl)
{
    memset(ll, 8, 144);
    memset(ll + 144, 9, 112);
    memset(ll + 256, 7, 24);
    memset(ll + 280, 8, 8);
    memset(dl, 5, 32);
}

static void shape_code(uint8_t *lens, unsigned n, unsigned *syms, unsigned k, unsigned maxlen, int shape, int keep)
{
    if (shape == 4 || k == 0) {
        memset(lens, 0, n);
        return;
    }
    if (shape == 1 || k == 1) {
        memset(lens, 0, n);
        lens[keep >= 0 ? (unsigned)keep : syms[rnd_below(k)]] = 1;
        return;
    }
    random_code(lens, n, syms, k, maxlen);
    if (shape == 2) { /* incomplete: lengthen a code by one (if possible) */
        unsigned s = syms[rnd_below(k)];
        if (lens[s] < maxlen) lens[s]++;
        else lens[s] = 0;
    } else if (shape == 3) { /* over-subscribed: one more code of an existing length */
        for (unsigned s = 0; s < n; s++)
            if (!lens[s]) {
                lens[s] = lens[syms[0]];
                break;
            }
        if (k == n) lens[syms[0]] = lens[syms[0]] > 1 ? (uint8_t)(lens[syms[0]] - 1) : 1;
    }
}

static void dynamic_block(bitw *w, sim_t *sim, const block_plan *p)
{
    const unsigned nlen = 257 + p->hlit, ndist = 1 + p->hdist;
    uint8_t ll[288], dl[32];
    unsigned syms[288], k = 0;
    /* literal/length code: a random subset, the end-of-block code always */
    unsigned want = chance(30) ? nlen : 2 + rnd_below(nlen - 1);
    syms[k++] = 256;
    for (unsigned s = 0; s < nlen && k < want; s++)
        if (s != 256 && rnd_below(nlen) < want) syms[k++] = s;
    if (k < 2) syms[k++] = 'a';
    shape_code(ll, nlen, syms, k, 15, p->lit_shape == 4 ? 0 : p->lit_shape, 256);
    if (p->no_eob) ll[256] = 0;
    k = 0;
    want = 1 + rnd_below(ndist);
    for (unsigned s = 0; s < ndist && k < want; s++)
        if (rnd_below(ndist) < want) syms[k++] = s;
    if (k == 0) syms[k++] = rnd_below(ndist);
    if (k < 2 && p->dist_shape != 1) syms[k++] = (syms[0] + 1) % ndist == syms[0] ? 0 : (syms[0] + 1) % ndist;
    if (ndist == 1 && p->dist_shape != 4) {
        memset(dl, 0, sizeof dl);
        dl[0] = 1;
    } else {
        shape_code(dl, ndist, syms, k, 15, p->dist_shape, -1);
    }

    /* code-length symbols */
    uint8_t all[320];
    memcpy(all, ll, nlen);
    memcpy(all + nlen, dl, ndist);
    const unsigned total = nlen + ndist;
    unsigned item_sym[400], item_extra[400], item_bits[400], items = 0;
    if (p->repeat_first) item_sym[items] = 16, item_extra[items] = rnd_below(4), item_bits[items++] = 2;
    for (unsigned i = 0; i < total;) {
        unsigned v = all[i], run = 1;
        while (i + run < total && all[i + run] == v) run++;
        if (p->use_runs && v == 0 && run >= 11 && chance(80)) {
            unsigned r = run > 138 ? 138 : run;
            item_sym[items] = 18, item_extra[items] = r - 11, item_bits[items++] = 7;
            i += r;
        } else if (p->use_runs && v == 0 && run >= 3 && chance(80)) {
            unsigned r = run > 10 ? 10 : run;
            item_sym[items] = 17, item_extra[items] = r - 3, item_bits[items++] = 3;
            i += r;
        } else if (p->use_runs && i > 0 && all[i - 1] == v && run >= 3 && chance(80)) {
            unsigned r = run > 6 ? 6 : run;
            item_sym[items] = 16, item_extra[items] = r - 3, item_bits[items++] = 2;
            i += r;
        } else {
            item_sym[items] = v, item_extra[items] = 0, item_bits[items++] = 0;
            i++;
        }
    }
    if (p->repeat_overflow) item_sym[items] = 18, item_extra[items] = 127, item_bits[items++] = 7;

    /* the code-length code over the symbols used */
    uint8_t pl[19];
    unsigned used[19], nu = 0;
    int seen[19] = {0};
    for (unsigned i = 0; i < items; i++) seen[item_sym[i]] = 1;
    for (unsigned s = 0; s < 19; s++)
        if (seen[s]) used[nu++] = s;
    if (nu < 2 && p->pre_shape != 1) used[nu++] = used[0] == 18 ? 0 : 18;
    shape_code(pl, 19, used, nu, 7, p->pre_shape, (int)used[0]);
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    unsigned ncode = 4;
    for (unsigned i = 0; i < 19; i++)
        if (pl[order[i]]) ncode = i + 1 > 4 ? i + 1 : 4;
    if (chance(20)) ncode += rnd_below(20 - ncode);
    uint16_t pc[19];
    canonical(pl, 19, pc);

    bw_bits(w, 2, 2); /* BTYPE 10 (after BFINAL, written by the caller) */
    bw_bits(w, p->hlit, 5);
    bw_bits(w, p->hdist, 5);
    bw_bits(w, ncode - 4, 4);
    for (unsigned i = 0; i < ncode; i++) bw_bits(w, pl[order[i]], 3);
    for (unsigned i = 0; i < items; i++) {
        bw_code(w, pc[item_sym[i]], pl[item_sym[i]]);
        bw_bits(w, item_extra[i], item_bits[i]);
    }
    emit_symbols(w, sim, p, ll, nlen, dl, ndist);
}

static void fixed_block(bitw *w, sim_t *sim, const block_plan *p)
{
    uint8_t ll[288], dl[32];
    fixed_lengths(ll, dl);
    bw_bits(w, 1, 2);
    emit_symbols(w, sim, p, ll, 288, dl, 32);
}

static void stored_block(bitw *w, sim_t *sim, unsigned len, int bad_nlen)
{
    bw_bits(w, 0, 2);
    bw_align(w);
    unsigned nlen = ~len & 0xffffu;
    if (bad_nlen) nlen ^= 1u << rnd_below(16);
    bw_bits(w, len, 16);
    bw_bits(w, nlen, 16);
    for (unsigned i = 0; i < len; i++) {
        uint8_t b = (uint8_t)(chance(50) ? 0 : rnd());
        bw_bits(w, b, 8);
        sim_put(sim, b);
    }
}

/* One zlib stream: header, `blocks` random blocks shaped by `plan` (NULL: a
 * fresh random plan per block), the Adler-32 of what they inflate to. */
static void build_stream(bitw *w, sim_t *sim, unsigned cinfo, unsigned blocks, const block_plan *plan,
                         unsigned prefix_stored)
{
    w->n = 0;
    w->acc = w->nacc = 0;
    sim->n = 0;
    unsigned cmf = cinfo << 4 | 8, flg = rnd_below(4) << 6;
    flg += (31 - (cmf << 8 | flg) % 31) % 31;
    bw_bits(w, cmf, 8);
    bw_bits(w, flg, 8);
    for (unsigned b = 0; prefix_stored && b < (prefix_stored + 65534) / 65535; b++) {
        bw_bits(w, 0, 1);
        unsigned len = prefix_stored - b * 65535 > 65535 ? 65535 : prefix_stored - b * 65535;
        stored_block(w, sim, len, 0);
    }
    for (unsigned b = 0; b < blocks; b++) {
        bw_bits(w, b + 1 == blocks, 1);
        block_plan p;
        if (plan) p = *plan;
        else plan_random(&p);
        unsigned type = rnd_below(10);
        if (plan || type < 6) dynamic_block(w, sim, &p);
        else if (type < 9) fixed_block(w, sim, &p);
        else stored_block(w, sim, rnd_below(300), chance(10));
        if (!plan && chance(1)) bw_bits(w, 3 << 1 | 1, 3); /* block type 3 */
    }
    bw_align(w);
    uLong a = adler32(1, sim->d, (uInt)sim->n);
    for (int s = 24; s >= 0; s -= 8) bw_bits(w, (uint32_t)(a >> s) & 255, 8);
}

START_TEST(test_crafted_blocks_and_mutants)
{
    rng_state = 2;
    memset(&stats, 0, sizeof stats);
    bitw w = {0};
    sim_t sim = {0};
    for (unsigned i = 0; i < 5000; i++) {
        unsigned cinfo = chance(80) ? 7 : rnd_below(8);
        unsigned prefix = chance(15) ? 24000 + rnd_below(10000) : chance(20) ? rnd_below(3000) : 0;
        build_stream(&w, &sim, cinfo, 1 + rnd_below(3), NULL, prefix);
        compare(w.p, w.n);
        compare_mutants(w.p, w.n, 4);
    }
    /* well-formed dynamic blocks only: they must pass, every shape zlib allows */
    unsigned long accepted_before = stats.accepted;
    for (unsigned i = 0; i < 1500; i++) {
        block_plan p;
        plan_defaults(&p);
        p.dist_shape = rnd_below(3) == 0 ? (int)(rnd_below(2) ? 1 : 4) : 0;
        p.lit_shape = chance(5) ? 1 : 0;
        if (p.dist_shape == 4) p.items = 0, p.hdist = rnd_below(30);
        build_stream(&w, &sim, 7, 1, &p, chance(20) ? rnd_below(40000) : 0);
        size_t out = 0;
        verdict z = zlib_ref(w.p, w.n, 0, 1);
        ck_assert_msg(z.ok, "a well-formed hand-built stream is rejected by zlib (test generator bug): lit %d dist %d hlit %u hdist %u items %u", p.lit_shape, p.dist_shape, p.hlit, p.hdist, p.items);
        ck_assert_int_eq(h5img_deflate_strict_check(w.p, w.n, SIZE_MAX, 0, NULL, &out), H5IMG_DEFLATE_OK);
        ck_assert_uint_eq(out, sim.n);
        compare(w.p, w.n);
    }
    fprintf(stderr, "crafted: %lu streams compared (%lu accepted, %lu rejected: truncated %lu, invalid %lu); "
                    "well-formed accepted %lu; header-window runs %lu (zlib verdict changed by the window: %lu); "
                    "libdeflate accepted %lu streams zlib rejects\n",
            stats.streams, stats.accepted, stats.rejected, stats.verdicts[1], stats.verdicts[2],
            stats.accepted - accepted_before, stats.window_runs, stats.window_differs, stats.libdeflate_lenient);
    ck_assert_uint_gt(stats.libdeflate_lenient, 50);
    ck_assert_uint_gt(stats.window_differs, 0);
    free(w.p);
    free(sim.d);
}
END_TEST

/* ---------------------------------------------------------------- the named cases */

/* Build single-block streams from `p` (after `prefix` stored bytes) until
 * one is rejected by the checker -- and, with `lenient`, accepted by
 * libdeflate, to show the leniency is real -- then check zlib rejects it. */
static void named_case(const char *what, const block_plan *p, int fixed, unsigned prefix, int lenient)
{
    bitw w = {0};
    sim_t sim = {0};
    int got = -1, ld_ok = 0;
    for (unsigned attempt = 0; attempt < 500 && (got != H5IMG_DEFLATE_INVALID || ld_ok != lenient); attempt++) {
        if (fixed) {
            w.n = 0;
            w.acc = w.nacc = 0;
            sim.n = 0;
            bw_bits(&w, 0x78, 8);
            bw_bits(&w, 0x01, 8);
            if (prefix) {
                bw_bits(&w, 0, 1);
                stored_block(&w, &sim, prefix, 0);
            }
            bw_bits(&w, 1, 1);
            fixed_block(&w, &sim, p);
            bw_align(&w);
            uLong a = adler32(1, sim.d, (uInt)sim.n);
            for (int s = 24; s >= 0; s -= 8) bw_bits(&w, (uint32_t)(a >> s) & 255, 8);
        } else {
            build_stream(&w, &sim, 7, 1, p, prefix);
        }
        got = h5img_deflate_strict_check(w.p, w.n, SIZE_MAX, 0, NULL, NULL);
        size_t in_used = 0, out_size;
        ld_ok = libdeflate_accepts(w.p, w.n, &in_used, &out_size) && in_used == w.n;
        compare(w.p, w.n);
    }
    ck_assert_msg(got == H5IMG_DEFLATE_INVALID, "%s: checker verdict %d", what, got);
    ck_assert_msg(!zlib_ref(w.p, w.n, 0, 1).ok, "%s: zlib accepts", what);
    ck_assert_msg(ld_ok == lenient, "%s: libdeflate %s", what, ld_ok ? "accepts" : "rejects");
    fprintf(stderr, "%s: zlib and the checker reject%s\n", what, lenient ? ", libdeflate accepts" : "");
    free(w.p);
    free(sim.d);
}

START_TEST(test_named_leniencies_rejected)
{
    rng_state = 3;
    block_plan p;

    plan_defaults(&p);
    p.bad_len_sym = 1;
    p.items = 2000;
    named_case("fixed block, length symbol 286/287", &p, 1, 300, 1);

    plan_defaults(&p);
    p.bad_dist_sym = 1;
    p.items = 2000;
    named_case("fixed block, distance symbol 30/31", &p, 1, 30000, 1);

    plan_defaults(&p);
    p.hlit = 30;
    named_case("HLIT 30 (287 length codes)", &p, 0, 0, 1);
    p.hlit = 31;
    named_case("HLIT 31 (288 length codes)", &p, 0, 0, 1);
    p.bad_len_sym = 1;
    p.items = 2000;
    named_case("HLIT 31, length symbols 286/287 used", &p, 0, 300, 1);

    plan_defaults(&p);
    p.hdist = 30;
    named_case("HDIST 30 (31 distance codes)", &p, 0, 0, 1);
    p.hdist = 31;
    p.bad_dist_sym = 1;
    p.items = 2000;
    named_case("HDIST 31, distance symbols 30/31 used", &p, 0, 30000, 1);

    plan_defaults(&p);
    p.pre_shape = 1;
    named_case("code-length code of one 1-bit codeword", &p, 0, 0, 0);
    const char *shapes[] = {"", "", "incomplete", "over-subscribed", "empty"};
    char what[96];
    for (int shape = 2; shape <= 4; shape++) {
        plan_defaults(&p);
        p.pre_shape = shape;
        snprintf(what, sizeof what, "code-length code %s", shapes[shape]);
        named_case(what, &p, 0, 0, 0);
    }
    for (int shape = 2; shape <= 3; shape++) {
        plan_defaults(&p);
        p.lit_shape = shape;
        snprintf(what, sizeof what, "literal/length code %s", shapes[shape]);
        named_case(what, &p, 0, 0, 0);
        plan_defaults(&p);
        p.dist_shape = shape;
        p.hdist = 3 + rnd_below(26);
        snprintf(what, sizeof what, "distance code %s", shapes[shape]);
        named_case(what, &p, 0, 0, 0);
    }

    plan_defaults(&p);
    p.dist_shape = 1;
    p.hdist = 5;
    p.unused_codeword = 1;
    p.items = 300;
    named_case("single 1-bit distance code, its other codeword used", &p, 0, 100, 1);
    plan_defaults(&p);
    p.lit_shape = 1;
    p.unused_codeword = 1;
    named_case("single 1-bit literal/length code (end of block only), its other codeword used", &p, 0, 0, 1);

    plan_defaults(&p);
    p.dist_shape = 4;
    p.items = 50;
    named_case("empty distance code, a length symbol used", &p, 0, 100, 0);
    p.unused_codeword = 1;
    named_case("empty distance code, a length symbol and 1 bit of distance used", &p, 0, 100, 1);

    plan_defaults(&p);
    p.repeat_first = 1;
    named_case("code-length repeat (16) before any length", &p, 0, 0, 0);

    plan_defaults(&p);
    p.repeat_overflow = 1;
    named_case("code-length repeat past HLIT+HDIST lengths", &p, 0, 0, 0);

    plan_defaults(&p);
    p.no_eob = 1;
    named_case("no end-of-block code", &p, 0, 0, 0);

    plan_defaults(&p);
    p.too_far = 1;
    p.items = 2000;
    named_case("distance beyond the output so far", &p, 0, 0, 0);
}
END_TEST

START_TEST(test_header_fields)
{
    uint8_t s[] = {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}; /* empty input, compress2 level 6 */
    ck_assert_int_eq(h5img_deflate_strict_check(s, sizeof s, 0, 0, NULL, NULL), H5IMG_DEFLATE_OK);
    for (unsigned cmf = 0; cmf < 256; cmf++)
        for (unsigned flg = 0; flg < 256; flg++) {
            s[0] = (uint8_t)cmf;
            s[1] = (uint8_t)flg;
            int got = h5img_deflate_strict_check(s, sizeof s, 0, 0, NULL, NULL);
            ck_assert_int_eq(got == H5IMG_DEFLATE_OK, zlib_ref(s, sizeof s, 0, 0).ok);
        }
    ck_assert_int_eq(h5img_deflate_strict_check(s, 0, 0, 0, NULL, NULL), H5IMG_DEFLATE_TRUNCATED);
    ck_assert_int_eq(h5img_deflate_strict_check(s, 1, 0, 0, NULL, NULL), H5IMG_DEFLATE_TRUNCATED);
}
END_TEST

/* ---------------------------------------------------------------- the fuzz finding */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

START_TEST(test_regression_png_declined_by_fast_path)
{
    char path[4096];
    const char *here = __FILE__, *slash = strrchr(here, '/');
    snprintf(path, sizeof path, "%.*s/../fuzz/regressions/png_diff-fast-accepts-invalid-deflate-code.png",
             slash ? (int)(slash - here) : 1, slash ? here : ".");
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    uint8_t png[1 << 16];
    size_t n = fread(png, 1, sizeof png, f);
    fclose(f);

    /* The IDAT data: libdeflate inflates it, zlib does not. */
    uint8_t zs[1 << 16];
    size_t zn = 0;
    for (size_t pos = 8; pos + 12 <= n;) {
        uint32_t len = be32(png + pos);
        if (memcmp(png + pos + 4, "IDAT", 4) == 0) {
            memcpy(zs + zn, png + pos + 8, len);
            zn += len;
        }
        pos += (size_t)len + 12;
    }
    size_t in_used, out_size;
    ck_assert(libdeflate_accepts(zs, zn, &in_used, &out_size));
    ck_assert(!zlib_ref(zs, zn, 0, 1).ok);
    ck_assert_int_ne(h5img_deflate_strict_check(zs, zn, SIZE_MAX, H5IMG_DEFLATE_HEADER_WINDOW, NULL, NULL),
                     H5IMG_DEFLATE_OK);

    h5img_info info;
    ck_assert_int_eq(h5img_probe(png, n, &info), H5IMG_OK);
    h5img_decoder *d = h5img_decoder_new();
    ck_assert_ptr_nonnull(d);
    const h5img_rule rules[] = {H5IMG_RULE_NATIVE, H5IMG_RULE_COLOR, H5IMG_RULE_MASK, H5IMG_RULE_LUMA};
    for (unsigned r = 0; r < 4; r++) {
        h5img_layout l = {.height = info.height, .width = info.width, .rule = rules[r], .element_size = 1};
        l.channels = rules[r] == H5IMG_RULE_NATIVE ? info.channels : rules[r] == H5IMG_RULE_COLOR ? 3 : 1;
        if (rules[r] == H5IMG_RULE_NATIVE) l.element_size = info.element_size;
        if (h5img_layout_check(&l) != H5IMG_OK) continue;
        size_t bytes = h5img_layout_bytes(&l);
        uint8_t *out = malloc(bytes);
        ck_assert_ptr_nonnull(out);
        ck_assert_int_eq(h5img_png_fast_decode(d, png, n, &info, &l, out), H5IMG_E_UNSUPPORTED);
        ck_assert_int_ne(h5img_decoder_decode(d, png, n, &l, out, bytes), H5IMG_OK);
        free(out);
    }
    h5img_decoder_free(d);
}
END_TEST

static void setup(void)
{
    ld = libdeflate_alloc_decompressor();
    ld_out = malloc(OUT_CAP);
    ck_assert(ld && ld_out);
}

static void teardown(void)
{
    libdeflate_free_decompressor(ld);
    free(ld_out);
}

static Suite *deflate_strict_suite(void)
{
    Suite *s = suite_create("deflate_strict");
    TCase *tc = tcase_create("differential");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_header_fields);
    tcase_add_test(tc, test_named_leniencies_rejected);
    tcase_add_test(tc, test_crafted_blocks_and_mutants);
    tcase_add_test(tc, test_zlib_streams_and_mutants);
    tcase_add_test(tc, test_regression_png_declined_by_fast_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(deflate_strict_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
