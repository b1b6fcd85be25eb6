/* deflate_strict.c: table-driven DEFLATE walker that accepts exactly the zlib streams zlib 1.2.13 inflates, producing no output. */
/*
 * Why this exists: the PNG fast path inflates with libdeflate, which is
 * faster than zlib but more lenient (length symbols 286/287, distance
 * symbols 30/31, too many length/distance codes, a lone 1-bit code in the
 * code-length code, ...). OpenCV inflates with zlib through libpng, so a
 * stream libdeflate accepts and zlib rejects would decode in h5img and fail
 * in OpenCV. Only the syntax differs between the two, so it is enough to
 * walk the stream once more with zlib's rules, counting output bytes
 * instead of writing them. It runs after every successful fast inflate, so
 * it is built for speed (on 2448x2048 masks it takes about 0.85x the time
 * of libdeflate's inflate, against about 10x for zlib's).
 *
 * Decoding tables hold one 32-bit entry per index of ROOT_BITS stream bits
 * (codes longer than that go through a subtable linked from the root
 * entry), so each symbol costs one or two loads. Entry layout:
 *   bits  0-3   bits to drop: the codeword length (subtable entries: the
 *               whole length), or for a literal run the sum of its codewords
 *   bits  4-5   zero, so the entry itself can be the shift count
 *   bit   6     E_LEN: a length symbol (a distance follows)
 *   bit   7     E_EOB: end of block
 *   bits  8-12  extra bits after the codeword; for E_SUB, the subtable's index bits
 *   bit   13    E_SUB: link to a subtable
 *   bit   14    E_BAD: a codeword zlib treats as invalid
 *   bits 16-31  literals in the run, length or distance base, code-length
 *               value, or subtable start
 * A literal has none of the flag bits, so the common case tests one mask.
 * The walk is a chain of dependent loads (each lookup needs the bits left
 * by the previous one), so its speed is the number of lookups: literal
 * entries are merged with the literals that follow them when all their
 * codewords fit in the root bits, one lookup counting up to several bytes.
 */
#include "deflate_strict.h"

#include <pthread.h>
#include <string.h>

#define ROOT_BITS 10
#define ROOT_SIZE (1u << ROOT_BITS)
#define PRE_BITS 7 /* code-length codes are at most 7 bits: no subtables */

#define E_LEN 0x40u
#define E_EOB 0x80u
#define E_SUB 0x2000u
#define E_BAD 0x4000u
#define E_DROP 63u /* what the shift uses: x86 masks the count to this anyway */
#define E_KIND (E_LEN | E_EOB | E_BAD)

/* Subtable room. A subtable of b index bits hangs under a complete subtree
 * of depth b, which has at least b + 1 leaves (codes), so it costs at most
 * 2^b / (b + 1) <= 32 / 6 entries per code (b <= 15 - ROOT_BITS = 5): at
 * most 286 * 32 / 6 < 1526 for lengths and 30 * 32 / 6 = 160 for distances. */
#define LIT_TABLE_SIZE (ROOT_SIZE + 1536)
#define DIST_TABLE_SIZE (ROOT_SIZE + 160)

enum code_kind { CODE_LENGTHS, CODE_LITLEN, CODE_DIST };

/* Per-symbol entries (without the codeword length) and the fixed-Huffman
 * tables, filled once: they depend on nothing but RFC 1951. */
static uint32_t litlen_sym[288], dist_sym[32], precode_sym[19];
static uint32_t fixed_lit[ROOT_SIZE], fixed_dist[ROOT_SIZE];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static unsigned reverse_bits(unsigned v, unsigned n)
{
    unsigned r = 0;
    while (n--) {
        r = r << 1 | (v & 1);
        v >>= 1;
    }
    return r;
}

/* Build the decoding table of `n` code lengths, or return -1 where zlib's
 * inflate_table fails. zlib's rules: over-subscribed is always an error;
 * incomplete is an error except for a length or distance code whose only
 * codeword is 1 bit long (the other 1-bit pattern is then invalid); a code
 * with no codeword at all is accepted for distances (every distance is then
 * invalid) but not for code lengths, where zlib's table decodes zeros only,
 * so the block can never have its end-of-block code. */
static int build_table(uint32_t *table, size_t capacity, unsigned root, const uint8_t *lens, unsigned n,
                       const uint32_t *sym_entry, enum code_kind kind)
{
    unsigned count[16] = {0};
    for (unsigned s = 0; s < n; s++) count[lens[s]]++;
    unsigned max = 15;
    while (max > 0 && count[max] == 0) max--;
    const unsigned root_size = 1u << root;
    if (max == 0) {
        if (kind != CODE_DIST) return -1;
        for (unsigned i = 0; i < root_size; i++) table[i] = E_BAD | 1;
        return 0;
    }
    int left = 1;
    for (unsigned len = 1; len <= 15; len++) {
        left = 2 * left - (int)count[len];
        if (left < 0) return -1; /* over-subscribed */
    }
    if (left > 0) {
        if (kind == CODE_LENGTHS || max != 1) return -1; /* incomplete */
        for (unsigned i = 0; i < root_size; i++) table[i] = E_BAD | 1;
    }

    unsigned next[16];
    next[1] = 0;
    for (unsigned len = 2; len <= 15; len++) next[len] = (next[len - 1] + count[len - 1]) << 1;

    /* Codes longer than the root: size each subtable by the longest code
     * under its root prefix (canonical codes fill that subtree exactly). */
    uint16_t codes[288];
    uint8_t sub_bits[ROOT_SIZE];
    uint16_t sub_at[ROOT_SIZE];
    if (max > root) {
        memset(sub_bits, 0, root_size);
        memset(sub_at, 0, root_size * sizeof sub_at[0]);
    }
    for (unsigned s = 0; s < n; s++) {
        unsigned len = lens[s];
        if (!len) continue;
        unsigned c = next[len]++;
        codes[s] = (uint16_t)c;
        if (len > root) {
            unsigned p = c >> (len - root);
            if (len - root > sub_bits[p]) sub_bits[p] = (uint8_t)(len - root);
        }
    }

    size_t used = root_size;
    for (unsigned s = 0; s < n; s++) {
        unsigned len = lens[s];
        if (!len) continue;
        const uint32_t e = sym_entry[s] | len;
        unsigned c = codes[s];
        if (len <= root) {
            for (unsigned i = reverse_bits(c, len); i < root_size; i += 1u << len) table[i] = e;
            continue;
        }
        const unsigned p = c >> (len - root), sb = sub_bits[p], tail = len - root;
        if (!sub_at[p]) {
            if (used + (1u << sb) > capacity) return -1; /* cannot happen for a complete code (see sizes) */
            sub_at[p] = (uint16_t)used;
            table[reverse_bits(p, root)] = E_SUB | sb << 8 | (uint32_t)used << 16;
            used += 1u << sb;
        }
        uint32_t *sub = table + sub_at[p];
        for (unsigned i = reverse_bits(c & ((1u << tail) - 1), tail); i < 1u << sb; i += 1u << tail) sub[i] = e;
    }
    return 0;
}

/* Merge each root literal entry with the literals its remaining root bits
 * decode to. Going down from the top, the entry at index i >> n (n >= 1)
 * is still a single symbol when it is read. */
static void merge_literals(uint32_t *table)
{
    for (unsigned i = ROOT_SIZE; i-- > 0;) {
        uint32_t e = table[i];
        if (e & (E_KIND | E_SUB)) continue;
        unsigned used = e & 15, count = 1;
        for (;;) {
            const uint32_t f = table[i >> used];
            if ((f & (E_KIND | E_SUB)) || used + (f & 15) > ROOT_BITS) break;
            used += f & 15;
            count++;
        }
        table[i] = used | count << 16;
    }
}

static void init_tables(void)
{
    /* Length symbols 257..285: bases 3..258, extra bits as in RFC 1951 3.2.5. */
    for (unsigned s = 0; s < 256; s++) litlen_sym[s] = 1u << 16; /* one byte out */
    litlen_sym[256] = E_EOB;
    unsigned base = 3;
    for (unsigned i = 0; i < 28; i++) {
        unsigned extra = i < 8 ? 0 : (i >> 2) - 1;
        litlen_sym[257 + i] = E_LEN | extra << 8 | (uint32_t)base << 16;
        base += 1u << extra;
    }
    litlen_sym[285] = E_LEN | 258u << 16;
    litlen_sym[286] = litlen_sym[287] = E_BAD; /* in the fixed code, never valid data */
    base = 1;
    for (unsigned i = 0; i < 30; i++) {
        unsigned extra = i < 4 ? 0 : (i >> 1) - 1;
        dist_sym[i] = extra << 8 | (uint32_t)base << 16;
        base += 1u << extra;
    }
    dist_sym[30] = dist_sym[31] = E_BAD;
    for (unsigned s = 0; s < 19; s++) precode_sym[s] = (uint32_t)s << 16;

    uint8_t lens[288];
    memset(lens, 8, 144);
    memset(lens + 144, 9, 112);
    memset(lens + 256, 7, 24);
    memset(lens + 280, 8, 8);
    build_table(fixed_lit, ROOT_SIZE, ROOT_BITS, lens, 288, litlen_sym, CODE_LITLEN);
    merge_literals(fixed_lit);
    memset(lens, 5, 32);
    build_table(fixed_dist, ROOT_SIZE, ROOT_BITS, lens, 32, dist_sym, CODE_DIST);
}

/* ---- bit reader ----
 * LSB-first 64-bit buffer. While 8 input bytes remain, a refill loads them
 * unaligned and keeps whole bytes only, leaving bits above `count` that are
 * the next input bits anyway (so OR-ing them again is harmless). Near the
 * end, bytes come one at a time and past the end zero bytes are appended
 * and counted in `pad`: decoding never reads out of bounds, and a stream
 * that needed any of those bits (count < pad) is truncated. */

typedef struct {
    const uint8_t *start, *next, *end;
    uint64_t bits;
    unsigned count, pad;
    size_t out, max_out, window;
} walker;

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Fill to more than 56 bits from the last bytes; -1 when padding was used. */
static int refill_tail(const uint8_t **next, const uint8_t *end, uint64_t *bits, unsigned *count, unsigned *pad)
{
    if (*count < *pad) return -1;
    while (*count <= 56) {
        if (*next < end) *bits |= (uint64_t)*(*next)++ << *count;
        else *pad += 8;
        *count += 8;
    }
    return 0;
}

/* At least 48 bits (a length code, its extra bits, a distance code and its
 * extra bits) available after this. */
#define REFILL()                                                                                    \
    do {                                                                                            \
        if (__builtin_expect(end - next >= 8, 1)) {                                                 \
            bits |= load_le64(next) << count;                                                       \
            next += (63 - count) >> 3;                                                              \
            count |= 56;                                                                            \
        } else if (count < 48 && refill_tail(&next, end, &bits, &count, &pad)) {                   \
            goto truncated;                                                                         \
        }                                                                                           \
    } while (0)

#define DROP(n)                                                                                     \
    do {                                                                                            \
        bits >>= (n);                                                                               \
        count -= (n);                                                                               \
    } while (0)

#define LOAD_STATE()                                                                                \
    const uint8_t *next = w->next, *const end = w->end;                                             \
    uint64_t bits = w->bits;                                                                        \
    unsigned count = w->count, pad = w->pad

#define SAVE_STATE()                                                                                \
    do {                                                                                            \
        w->next = next;                                                                             \
        w->bits = bits;                                                                             \
        w->count = count;                                                                           \
        w->pad = pad;                                                                               \
    } while (0)

/* Bits consumed so far, or -1 when some of them were padding. */
static inline long long bits_consumed(const walker *w)
{
    if (w->count < w->pad) return -1;
    return (long long)(w->next - w->start) * 8 + w->pad - w->count;
}

/* The symbols of one Huffman block, up to and including its end-of-block code. */
static int walk_codes(walker *w, const uint32_t *lit, const uint32_t *dist)
{
    LOAD_STATE();
    size_t out = w->out;
    const size_t max_out = w->max_out, window = w->window;
    int verdict = H5IMG_DEFLATE_INVALID;
    /* After REFILL at least 48 bits are there; a literal entry takes at most
     * 15, so the next lookup can use the bits already in hand and its load
     * starts before the refill: the refill only adds bits above `count`. */
    REFILL();
    uint32_t e = lit[bits & (ROOT_SIZE - 1)];
    for (;;) {
        if (__builtin_expect(e & E_SUB, 0))
            e = lit[(e >> 16) + ((bits >> ROOT_BITS) & ((1u << (e >> 8 & 31)) - 1))];
        DROP(e & E_DROP);
        if (!(e & E_KIND)) {
            out += e >> 16;
            e = lit[bits & (ROOT_SIZE - 1)];
            REFILL();
            continue;
        }
        if (__builtin_expect(e & E_LEN, 1)) {
            unsigned extra = e >> 8 & 31;
            size_t length = (e >> 16) + (unsigned)(bits & ((1u << extra) - 1));
            DROP(extra);
            uint32_t d = dist[bits & (ROOT_SIZE - 1)];
            if (__builtin_expect(d & E_SUB, 0))
                d = dist[(d >> 16) + ((bits >> ROOT_BITS) & ((1u << (d >> 8 & 31)) - 1))];
            if (d & E_BAD) break; /* distance symbol 30/31, or the unused codeword of an incomplete code */
            DROP(d & E_DROP);
            extra = d >> 8 & 31;
            size_t distance = (d >> 16) + (unsigned)(bits & ((1u << extra) - 1));
            DROP(extra);
            if (distance > out || distance > window) break; /* too far back */
            out += length;
            if (out > max_out) {
                verdict = H5IMG_DEFLATE_TOO_LONG;
                break;
            }
            REFILL();
            e = lit[bits & (ROOT_SIZE - 1)];
            continue;
        }
        if (e & E_EOB) verdict = H5IMG_DEFLATE_OK;
        break; /* else E_BAD: length symbol 286/287, or the unused codeword of an incomplete code */
    }
    if (out > max_out && verdict == H5IMG_DEFLATE_OK) verdict = H5IMG_DEFLATE_TOO_LONG;
    SAVE_STATE();
    w->out = out;
    return verdict;
truncated:
    SAVE_STATE();
    return H5IMG_DEFLATE_TRUNCATED;
}

/* Code-length code, then the literal/length and distance code lengths, as zlib reads them. */
static int read_dynamic_header(walker *w, uint32_t *lit, uint32_t *dist)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    LOAD_STATE();
    REFILL();
    const unsigned nlen = 257 + (unsigned)(bits & 31), ndist = 1 + (unsigned)(bits >> 5 & 31),
                   ncode = 4 + (unsigned)(bits >> 10 & 15);
    DROP(14);
    if (nlen > 286 || ndist > 30) goto invalid; /* libdeflate takes up to 288 and 32 */

    uint8_t lens[286 + 30];
    memset(lens, 0, 19);
    for (unsigned i = 0; i < ncode; i++) {
        REFILL();
        lens[order[i]] = (uint8_t)(bits & 7);
        DROP(3);
    }
    uint32_t pre[1u << PRE_BITS];
    if (build_table(pre, 1u << PRE_BITS, PRE_BITS, lens, 19, precode_sym, CODE_LENGTHS)) goto invalid;

    const unsigned total = nlen + ndist;
    unsigned have = 0;
    while (have < total) {
        REFILL();
        const uint32_t e = pre[bits & ((1u << PRE_BITS) - 1)];
        DROP(e & E_DROP);
        const unsigned v = e >> 16;
        if (v < 16) {
            lens[have++] = (uint8_t)v;
            continue;
        }
        unsigned repeat;
        uint8_t value = 0;
        if (v == 16) {
            if (have == 0) goto invalid; /* nothing to repeat */
            value = lens[have - 1];      /* the previous length, even across the length/distance boundary */
            repeat = 3 + (unsigned)(bits & 3);
            DROP(2);
        } else if (v == 17) {
            repeat = 3 + (unsigned)(bits & 7);
            DROP(3);
        } else {
            repeat = 11 + (unsigned)(bits & 127);
            DROP(7);
        }
        if (repeat > total - have) goto invalid;
        memset(lens + have, value, repeat);
        have += repeat;
    }
    if (lens[256] == 0) goto invalid; /* no end-of-block code */
    if (build_table(lit, LIT_TABLE_SIZE, ROOT_BITS, lens, nlen, litlen_sym, CODE_LITLEN)) goto invalid;
    merge_literals(lit);
    if (build_table(dist, DIST_TABLE_SIZE, ROOT_BITS, lens + nlen, ndist, dist_sym, CODE_DIST)) goto invalid;
    SAVE_STATE();
    return H5IMG_DEFLATE_OK;
invalid:
    SAVE_STATE();
    return H5IMG_DEFLATE_INVALID;
truncated:
    SAVE_STATE();
    return H5IMG_DEFLATE_TRUNCATED;
}

/* Stored block: LEN, NLEN from the next byte boundary, then LEN bytes skipped. */
static int walk_stored(walker *w)
{
    unsigned skip = w->count & 7; /* the stream starts byte-aligned and padding comes in bytes */
    w->bits >>= skip;
    w->count -= skip;
    long long used = bits_consumed(w);
    if (used < 0) return H5IMG_DEFLATE_TRUNCATED;
    size_t pos = (size_t)used / 8, size = (size_t)(w->end - w->start);
    if (size - pos < 4) return H5IMG_DEFLATE_TRUNCATED;
    const uint8_t *p = w->start + pos;
    const unsigned len = p[0] | (unsigned)p[1] << 8, nlen = p[2] | (unsigned)p[3] << 8;
    if (len != (~nlen & 0xffffu)) return H5IMG_DEFLATE_INVALID;
    pos += 4;
    if (size - pos < len) return H5IMG_DEFLATE_TRUNCATED;
    w->next = w->start + pos + len;
    w->bits = 0;
    w->count = w->pad = 0;
    w->out += len;
    return w->out > w->max_out ? H5IMG_DEFLATE_TOO_LONG : H5IMG_DEFLATE_OK;
}

int h5img_deflate_strict_check(const uint8_t *zstream, size_t size, size_t max_output, unsigned flags,
                               size_t *in_used, size_t *out_size)
{
    if (!zstream || size < 2) return H5IMG_DEFLATE_TRUNCATED;
    const unsigned cmf = zstream[0], flg = zstream[1];
    if ((cmf << 8 | flg) % 31 != 0) return H5IMG_DEFLATE_INVALID; /* header check */
    if ((cmf & 15) != 8 || cmf >> 4 > 7) return H5IMG_DEFLATE_INVALID;
    if (flg & 0x20) return H5IMG_DEFLATE_INVALID; /* preset dictionary: zlib stops with Z_NEED_DICT */
    pthread_once(&tables_once, init_tables);

    walker w = {.start = zstream, .next = zstream + 2, .end = zstream + size, .max_out = max_output,
                .window = (flags & H5IMG_DEFLATE_HEADER_WINDOW) ? (size_t)1 << ((cmf >> 4) + 8) : 32768};
    uint32_t lit[LIT_TABLE_SIZE], dist[DIST_TABLE_SIZE];
    int last;
    do {
        int verdict;
        const uint8_t *next = w.next, *const end = w.end;
        uint64_t bits = w.bits;
        unsigned count = w.count, pad = w.pad;
        REFILL();
        last = (int)(bits & 1);
        const unsigned type = (unsigned)(bits >> 1 & 3);
        DROP(3);
        w.next = next;
        w.bits = bits;
        w.count = count;
        w.pad = pad;
        switch (type) {
        case 0: verdict = walk_stored(&w); break;
        case 1: verdict = walk_codes(&w, fixed_lit, fixed_dist); break;
        case 2:
            verdict = read_dynamic_header(&w, lit, dist);
            if (verdict == H5IMG_DEFLATE_OK) verdict = walk_codes(&w, lit, dist);
            break;
        default: return H5IMG_DEFLATE_INVALID; /* block type 3 */
        }
        if (verdict != H5IMG_DEFLATE_OK) return verdict;
    } while (!last);

    long long used = bits_consumed(&w);
    if (used < 0) return H5IMG_DEFLATE_TRUNCATED;
    size_t end_pos = ((size_t)used + 7) / 8;
    if (size - end_pos < 4) return H5IMG_DEFLATE_TRUNCATED; /* Adler-32 trailer */
    if (in_used) *in_used = end_pos + 4;
    if (out_size) *out_size = w.out;
    return H5IMG_DEFLATE_OK;
truncated:
    return H5IMG_DEFLATE_TRUNCATED;
}
