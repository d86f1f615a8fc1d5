#include "CByteScan.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// The mask of CR and LF octets in bytes[at..<at + 64] (bit i: octet at + i).
#if defined(__SSE2__)
static inline uint64_t line_ends_in_block(const uint8_t *block) {
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n');
    uint64_t mask = 0;
    for (int part = 0; part < 4; part++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(block + 16 * part));
        __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf));
        mask |= (uint64_t)(uint16_t)_mm_movemask_epi8(hit) << (16 * part);
    }
    return mask;
}
#else
static inline uint64_t line_ends_in_block(const uint8_t *block) {
    uint64_t mask = 0;
    for (int i = 0; i < 64; i++) {
        if (block[i] == '\r' || block[i] == '\n') mask |= (uint64_t)1 << i;
    }
    return mask;
}
#endif

byte_scan_body_lines byte_scan_plain_body_lines(const uint8_t *bytes, size_t count, size_t max_length) {
    byte_scan_body_lines found = {0, 0};
    size_t line_start = 0;
    if (count == 0 || bytes[0] == '.') return found;
    size_t block = 0;
    for (;;) {
        uint64_t ends;
        if (block + 64 <= count) {
            // Ahead of the scan: the packet's later lines are often not in the cache yet.
            if (block + 320 <= count) __builtin_prefetch(bytes + block + 256, 0, 3);
            ends = line_ends_in_block(bytes + block);
        } else if (count >= 64) {
            // The tail: the last sixty-four octets, shifted so that bit 0 is the octet at
            // `block` (those before it were seen by the block before). An octet at a time, the
            // tail cost as much as the rest of a full-sized segment's scan.
            ends = line_ends_in_block(bytes + count - 64) >> (block - (count - 64));
        } else {
            // Fewer than sixty-four octets in all: the same mask from a scalar loop.
            ends = 0;
            for (size_t i = block; i < count; i++) {
                if (bytes[i] == '\r' || bytes[i] == '\n') ends |= (uint64_t)1 << (i - block);
            }
        }
        // Octets before the current line's start were taken by the line before.
        if (line_start > block) ends &= line_start - block >= 64 ? 0 : ~(uint64_t)0 << (line_start - block);
        while (ends != 0) {
            size_t at = block + (size_t)__builtin_ctzll(ends);
            // The first CR or LF of the line must be a CR directly followed by LF.
            if (bytes[at] != '\r' || at + 1 >= count || bytes[at + 1] != '\n') goto done;
            if (at - line_start > max_length) goto done;
            line_start = at + 2;
            found.octets = line_start;
            found.lines += 1;
            if (line_start >= count || bytes[line_start] == '.') goto done;
            if (line_start - block >= 64) break;
            ends &= ~(uint64_t)0 << (line_start - block);
        }
        block += 64;
        if (block >= count) break;
    }
done:
    return found;
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
    for (size_t at = 0; at < count; at += 64) __builtin_prefetch(p + at, 0, 3);
}
