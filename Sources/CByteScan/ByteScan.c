#include "CByteScan.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define BYTE_SCAN_X86 1
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// The CR, LF and '.' octets of one 64-octet block (bit i: octet i).
typedef struct {
    uint64_t cr, lf, dot;
} block_masks;

#if BYTE_SCAN_X86
static inline __attribute__((target("avx2"))) uint64_t avx2_mask(__m256i low, __m256i high, char octet) {
    const __m256i wanted = _mm256_set1_epi8(octet);
    uint32_t l = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(low, wanted));
    uint32_t h = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(high, wanted));
    return (uint64_t)h << 32 | l;
}

static inline __attribute__((target("avx2"))) block_masks masks_avx2(const uint8_t *block) {
    __m256i low = _mm256_loadu_si256((const __m256i *)block);
    __m256i high = _mm256_loadu_si256((const __m256i *)(block + 32));
    return (block_masks){avx2_mask(low, high, '\r'), avx2_mask(low, high, '\n'), avx2_mask(low, high, '.')};
}

static inline __attribute__((target("avx512f,avx512bw"))) block_masks masks_avx512(const uint8_t *block) {
    __m512i v = _mm512_loadu_si512((const void *)block);
    return (block_masks){_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r')),
                         _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n')),
                         _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('.'))};
}
#endif

// Whether an octet ends a line's text: CR or LF (the octet-at-a-time test the vector paths
// make sixteen, thirty-two or sixty-four at a time).
static inline int is_line_end(uint8_t octet) { return octet == '\r' || octet == '\n'; }

// The mask of CR and LF octets in block[0..<64] (bit i: octet i), an octet at a time: for
// processors without SSE2, and level 0 (which the tests run on every processor).
static inline uint64_t line_ends_in_block_scalar(const uint8_t *block) {
    uint64_t mask = 0;
    for (int i = 0; i < 64; i++) mask |= (uint64_t)is_line_end(block[i]) << i;
    return mask;
}

#if defined(__SSE2__)
// The CR and LF octets of bytes[0..<16] (bit i: octet i).
static inline unsigned line_ends16(const uint8_t *bytes) {
    __m128i v = _mm_loadu_si128((const __m128i *)bytes);
    __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
    return (unsigned)_mm_movemask_epi8(hit);
}

// The same mask sixteen octets a step.
static inline uint64_t line_ends_in_block_sse2(const uint8_t *block) {
    uint64_t mask = 0;
    for (int part = 0; part < 4; part++) mask |= (uint64_t)line_ends16(block + 16 * part) << (16 * part);
    return mask;
}
#endif

static inline uint64_t line_ends_in_block(const uint8_t *block, int scalar) {
#if defined(__SSE2__)
    if (!scalar) return line_ends_in_block_sse2(block);
#endif
    return line_ends_in_block_scalar(block);
}

// The rule a line at a time, from what was found so far (`octets` of `lines` whole plain lines;
// the next line starts at `octets`) to the first line that is not plain or that `count` cuts:
// what the block loop below leaves, the last partial block of a segment and a block where
// something needs attention. Sixty-four octets a step from the line's start (`scalar`: an
// octet at a time, with or without SSE2: level 0). What was found comes as two numbers, not as
// the struct: a struct of 24 octets is passed on the stack, and the caller, which holds the
// numbers in registers, stored them one by one and copied them there in one 16-octet load that
// the processor cannot serve from those stores (store forwarding), a wait on every segment.
static byte_scan_body_lines finish_by_lines(const uint8_t *bytes, size_t count, size_t max_length,
                                            size_t octets, size_t lines, int scalar) {
    byte_scan_body_lines found = {.octets = octets, .lines = lines, .cut_line = 0};
    size_t line_start = found.octets;
    if (line_start >= count || bytes[line_start] == '.') return found;
    size_t block = line_start;
    for (;;) {
        uint64_t ends;
        if (block + 64 <= count) {
            // Ahead of the scan: the packet's later lines are often not in the cache yet.
            if (block + 320 <= count) __builtin_prefetch(bytes + block + 256, 0, 3);
            ends = line_ends_in_block(bytes + block, scalar);
        } else if (count >= 64) {
            // The tail: the last sixty-four octets, shifted so that bit 0 is the octet at
            // `block` (those before it were seen by the block before).
            ends = line_ends_in_block(bytes + count - 64, scalar) >> (block - (count - 64));
        } else {
            ends = 0;
            for (size_t i = block; i < count; i++) ends |= (uint64_t)is_line_end(bytes[i]) << (i - block);
        }
        // Octets before the current line's start were taken by the line before.
        if (line_start > block) ends &= line_start - block >= 64 ? 0 : ~(uint64_t)0 << (line_start - block);
        while (ends != 0) {
            size_t at = block + (size_t)__builtin_ctzll(ends);
            // The first CR or LF of the line must be a CR directly followed by LF.
            if (bytes[at] != '\r' || at + 1 >= count || bytes[at + 1] != '\n') {
                // A CR last of all, the line's first: cut between its CR and (perhaps) its LF.
                if (bytes[at] == '\r' && at + 1 >= count) found.cut_line = 2;
                return found;
            }
            if (at - line_start > max_length) return found;
            line_start = at + 2;
            found.octets = line_start;
            found.lines += 1;
            if (line_start >= count || bytes[line_start] == '.') return found;
            if (line_start - block >= 64) break;
            ends &= ~(uint64_t)0 << (line_start - block);
        }
        block += 64;
        if (block >= count) {
            // No CR or LF from the line's start to the end: a plain line cut.
            found.cut_line = 1;
            return found;
        }
    }
}

// Whole 64-octet blocks in which every line is plain, with no branch per line: every LF
// preceded by a CR and every CR followed by an LF (the CR masks shifted one place onto the LF
// masks, the last octet's CR carried into the next block), no '.' just after an LF (or at
// the start), and no line longer than `max_length` before its CR (the octets since the last
// LF, checked against the block's first LF; a block with no LF counts as one at its end,
// which only stops the loop early on a line already too long; the lines after the first LF
// are shorter than a block, so a limit under 64 is left to the line loop). A block that
// fails, and the last partial block, are left to `finish_by_lines`, from the start of the
// line they are in.
#define BYTE_SCAN_BLOCKS(masks)                                                                  \
    byte_scan_body_lines found = {0, 0, 0};                                                      \
    if (max_length < 64) return finish_by_lines(bytes, count, max_length, 0, 0, 0);              \
    /* Beyond any buffer's size, and `max_length + 1` below cannot wrap. */                       \
    if (max_length > SIZE_MAX / 2) max_length = SIZE_MAX / 2;                                    \
    size_t block = 0;                                                                            \
    uint64_t cr_carry = 0, lf_carry = 1; /* the first line starts at octet 0 */                  \
    size_t since_lf = 0;                 /* octets of the current line in earlier blocks */      \
    while (block + 64 <= count) {                                                                \
        if (block + 320 <= count) __builtin_prefetch(bytes + block + 256, 0, 3);                 \
        block_masks m = masks(bytes + block);                                                    \
        uint64_t bad = (m.lf ^ (m.cr << 1 | cr_carry)) | (m.dot & (m.lf << 1 | lf_carry));       \
        size_t first_lf = m.lf ? (size_t)__builtin_ctzll(m.lf) : 64;                             \
        if (bad != 0 || since_lf + first_lf > max_length + 1) break;                             \
        found.lines += (size_t)__builtin_popcountll(m.lf);                                       \
        if (m.lf != 0) {                                                                         \
            size_t after_last = (size_t)__builtin_clzll(m.lf);                                   \
            found.octets = block + 64 - after_last;                                              \
            since_lf = after_last;                                                               \
        } else {                                                                                 \
            since_lf += 64;                                                                      \
        }                                                                                        \
        cr_carry = m.cr >> 63;                                                                   \
        lf_carry = m.lf >> 63;                                                                   \
        block += 64;                                                                             \
    }                                                                                            \
    return finish_by_lines(bytes, count, max_length, found.octets, found.lines, 0);

#if BYTE_SCAN_X86
static __attribute__((target("avx2,bmi,lzcnt,popcnt"))) byte_scan_body_lines scan_avx2(const uint8_t *bytes, size_t count, size_t max_length) {
    BYTE_SCAN_BLOCKS(masks_avx2)
}

static __attribute__((target("avx512f,avx512bw,bmi,lzcnt,popcnt"))) byte_scan_body_lines scan_avx512(const uint8_t *bytes, size_t count, size_t max_length) {
    BYTE_SCAN_BLOCKS(masks_avx512)
}

// Which vector instructions the processor and the operating system offer (CPUID leaf 7 and
// the registers XGETBV says the OS saves).
static int best_level(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 1;
    int os_saves_ymm = 0, os_saves_zmm = 0;
    if (c & bit_OSXSAVE) {
        unsigned lo, hi;
        __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        os_saves_ymm = (lo & 0x6) == 0x6;
        os_saves_zmm = (lo & 0xE6) == 0xE6;
    }
    int lzcnt = 0, popcnt = (c & bit_POPCNT) != 0;
    if (__get_cpuid(0x80000001, &a, &b, &c, &d)) lzcnt = (c & bit_LZCNT) != 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 1;
    int bmi = (b & bit_BMI) != 0, scalar_bits = bmi && lzcnt && popcnt;
    if (scalar_bits && os_saves_zmm && (b & bit_AVX512F) && (b & bit_AVX512BW)) return 3;
    if (scalar_bits && os_saves_ymm && (b & bit_AVX2)) return 2;
    return 1;
}
#endif

// The widest scan this processor runs, chosen at the first call (-1: not chosen yet).
static int chosen_level = -1;

int byte_scan_best_level(void) {
#if BYTE_SCAN_X86
    return best_level();
#else
    return 0;
#endif
}

byte_scan_body_lines byte_scan_plain_body_lines_at_level(int level, const uint8_t *bytes, size_t count, size_t max_length) {
    if (count == 0) return (byte_scan_body_lines){0, 0, 0};
    switch (level) {
#if BYTE_SCAN_X86
    case 3: return scan_avx512(bytes, count, max_length);
    case 2: return scan_avx2(bytes, count, max_length);
#endif
    case 1: return finish_by_lines(bytes, count, max_length, 0, 0, 0);
    default: return finish_by_lines(bytes, count, max_length, 0, 0, 1);
    }
}

byte_scan_body_lines byte_scan_plain_body_lines(const uint8_t *bytes, size_t count, size_t max_length) {
    int level = __atomic_load_n(&chosen_level, __ATOMIC_RELAXED);
    if (__builtin_expect(level < 0, 0)) {
        level = byte_scan_best_level();
        __atomic_store_n(&chosen_level, level, __ATOMIC_RELAXED);
    }
    return byte_scan_plain_body_lines_at_level(level, bytes, count, max_length);
}

size_t byte_scan_first_line_end(const uint8_t *bytes, size_t count) {
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= count; i += 16) {
        unsigned hit = line_ends16(bytes + i);
        if (hit != 0) return i + (size_t)__builtin_ctz(hit);
    }
    if (count >= 16 && i < count) {
        // The last sixteen octets, overlapping the block before (whose octets held no end).
        unsigned hit = line_ends16(bytes + count - 16) >> (i - (count - 16));
        return hit != 0 ? i + (size_t)__builtin_ctz(hit) : count;
    }
#endif
    for (; i < count; i++) {
        if (is_line_end(bytes[i])) return i;
    }
    return count;
}

#if defined(__SSE2__)
static inline int json_block_is_plain(const uint8_t *block) {
    const __m128i space = _mm_set1_epi8(0x20);
    const __m128i del = _mm_set1_epi8(0x7F);
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    __m128i v = _mm_loadu_si128((const __m128i *)block);
    // Signed comparison: octets 0x80-0xFF are negative, so "below 0x20" catches them too.
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del));
    bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    return _mm_movemask_epi8(bad) == 0;
}
#endif

_Bool byte_scan_is_plain_json_text(const uint8_t *bytes, size_t count) {
#if defined(__SSE2__)
    // Sixteen octets a step; the last step overlaps the one before it, and a string shorter
    // than sixteen is checked from a copy padded with spaces (which pass).
    if (count >= 16) {
        for (size_t i = 0; i + 16 < count; i += 16) {
            if (!json_block_is_plain(bytes + i)) return 0;
        }
        return json_block_is_plain(bytes + count - 16);
    }
    uint8_t padded[16];
    memset(padded, ' ', sizeof padded);
    memcpy(padded, bytes, count);
    return json_block_is_plain(padded);
#else
    for (size_t i = 0; i < count; i++) {
        uint8_t b = bytes[i];
        if (b < 0x20 || b >= 0x7F || b == '"' || b == '\\') return 0;
    }
    return 1;
#endif
}

void byte_scan_prefetch(const void *bytes, size_t count) {
    const char *p = (const char *)bytes;
    size_t at = 0;
    // Four lines a step: a full-sized frame spans 24, and counting, comparing and branching
    // per line took as many instructions as the prefetches themselves. The same lines.
    for (; at + 192 < count; at += 256) {
        __builtin_prefetch(p + at, 0, 3);
        __builtin_prefetch(p + at + 64, 0, 3);
        __builtin_prefetch(p + at + 128, 0, 3);
        __builtin_prefetch(p + at + 192, 0, 3);
    }
    for (; at < count; at += 64) __builtin_prefetch(p + at, 0, 3);
}
