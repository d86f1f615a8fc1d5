// Byte scans on the hot path that Swift does not compile to vector code.
//
// Written in C because these loops run over every octet of a capture, and the Swift standard
// library's SIMD types were measured five times slower here than a plain word loop. With SSE2
// (part of every x86-64) sixty-four octets are tested in a handful of instructions; with AVX2
// or AVX-512BW (chosen at run time) a whole 64-octet block of message body is judged without
// a branch per line. Other processors get the same results from a scalar loop.
#ifndef C_BYTE_SCAN_H
#define C_BYTE_SCAN_H

#include <stddef.h>
#include <stdint.h>

/// Plain message-body lines at the start of `bytes`.
typedef struct {
    /// Octets of the whole plain lines found, CRLF included (they start at `bytes`).
    size_t octets;
    /// How many lines those are.
    size_t lines;
    /// What follows them when `count` cuts a line that is plain so far (no LF, no CR but
    /// perhaps its last octet, not starting with '.'; its length is not looked at, the caller
    /// checks it): 1, or 2 when its last octet is a CR (the next bytes may start with its LF);
    /// 0 otherwise (nothing follows, or a line that needs attention). Most body segments end
    /// so: the caller carries that line on without searching it again.
    int cut_line;
} byte_scan_body_lines;

/// Counts the whole lines at the start of `bytes[0..<count]` that a message body may hold
/// without attention: not starting with '.', ended by CRLF within `count`, no other CR or LF,
/// at most `max_length` octets before the CRLF. Stops at the first line that is not such a
/// line (or that `count` cuts), which is not counted.
/// Whole 64-octet blocks are taken with the widest vector instructions the processor offers,
/// chosen at the first call.
byte_scan_body_lines byte_scan_plain_body_lines(const uint8_t *bytes, size_t count, size_t max_length);

/// The same scan with the instructions of `level` (0: none, 1: SSE2, 2: AVX2, 3: AVX-512BW),
/// which must be at most `byte_scan_best_level()`: for the tests, which run every level.
byte_scan_body_lines byte_scan_plain_body_lines_at_level(int level, const uint8_t *bytes, size_t count, size_t max_length);

/// Where the first CR or LF in `bytes[0..<count]` is, or `count` when there is none: one pass
/// for both, sixteen octets a step with SSE2 (the end of a line carried from the segment
/// before, usually a few dozen octets in).
size_t byte_scan_first_line_end(const uint8_t *bytes, size_t count);

/// The widest level this processor and operating system run (0 off x86).
int byte_scan_best_level(void);

/// Whether `bytes[0..<count]` is printable ASCII other than '"' and '\\' (0x20-0x7E): text
/// that goes into a JSON string as it is.
_Bool byte_scan_is_plain_json_text(const uint8_t *bytes, size_t count);

/// Asks the processor to start loading `count` octets at `bytes` into its caches (a hint: it
/// never faults, and reads nothing the caller may not read).
void byte_scan_prefetch(const void *bytes, size_t count);

#endif
