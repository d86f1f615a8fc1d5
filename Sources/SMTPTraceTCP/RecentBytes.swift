#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The most recently delivered bytes of one direction that the peer has not acknowledged yet,
/// kept so that a retransmission or an overlapping segment can be compared with what was
/// delivered first ("first copy wins", but a different second copy is counted).
///
/// A ring buffer that grows by doubling up to `limit` and is trimmed by the peer's ACKs, so it
/// holds about the bytes in flight; past `limit` the oldest bytes are forgotten (an overlap with
/// them can no longer be checked). Written by hand: it is on the per-byte path and needs
/// sequence-number addressing that no collection offers.
struct RecentBytes {
    private var storage: [UInt8] = []
    private var head = 0  // index of the oldest byte
    private(set) var count = 0
    /// Sequence number of the oldest byte kept.
    private(set) var startSequence: UInt32 = 0
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    var endSequence: UInt32 { startSequence &+ UInt32(truncatingIfNeeded: count) }

    /// Appends bytes that were just delivered at `sequence` (which must be `endSequence`,
    /// or anything when empty).
    mutating func append(_ bytes: UnsafeRawBufferPointer, at sequence: UInt32) {
        guard bytes.count > 0, limit > 0 else { return }
        if count == 0 || sequence != endSequence {
            head = 0
            count = 0
            startSequence = sequence
        }
        var source = bytes
        if source.count > limit {
            let drop = source.count - limit
            source = UnsafeRawBufferPointer(rebasing: source[drop...])
            head = 0
            count = 0
            startSequence = sequence &+ UInt32(truncatingIfNeeded: drop)
        }
        let needed = count + source.count
        if needed > storage.count && storage.count < limit { grow(to: min(limit, max(needed, storage.count * 2, 256))) }
        if needed > storage.count { forget(needed - storage.count) }
        var tail = (head + count) % storage.count
        var offset = 0
        while offset < source.count {
            let run = min(source.count - offset, storage.count - tail)
            storage.withUnsafeMutableBytes { buffer in
                buffer.baseAddress!.advanced(by: tail).copyMemory(from: source.baseAddress!.advanced(by: offset), byteCount: run)
            }
            offset += run
            tail = (tail + run) % storage.count
        }
        count += source.count
    }

    /// The peer acknowledged everything before `ack`.
    mutating func acknowledge(_ ack: UInt32) {
        let d = SequenceNumber.distance(from: startSequence, to: ack)
        guard d > 0 else { return }
        forget(Int(min(d, Int64(count))))
    }

    /// Compares `bytes` at `sequence` with the kept bytes they overlap: how many octets
    /// could be compared, and how many of those differ.
    func compare(_ bytes: UnsafeRawBufferPointer, at sequence: UInt32) -> (compared: Int, differing: Int) {
        guard count > 0, bytes.count > 0 else { return (0, 0) }
        let offset = SequenceNumber.distance(from: startSequence, to: sequence)
        var from = 0
        var position = Int(offset)
        if offset < 0 {
            from = Int(-offset)
            position = 0
        }
        guard from < bytes.count, position < count else { return (0, 0) }
        let length = min(bytes.count - from, count - position)
        var differing = 0
        storage.withUnsafeBytes { ring in
            // At most two contiguous runs of the ring; each is compared with memcmp first
            // (a retransmission is nearly always identical), octet by octet only if it differs.
            var index = (head + position) % ring.count
            var done = 0
            while done < length {
                let run = min(length - done, ring.count - index)
                let kept = ring.baseAddress! + index, sent = bytes.baseAddress! + from + done
                if memcmp(kept, sent, run) != 0 {
                    for i in 0..<run where kept.load(fromByteOffset: i, as: UInt8.self) != sent.load(fromByteOffset: i, as: UInt8.self) {
                        differing += 1
                    }
                }
                done += run
                index = 0
            }
        }
        return (length, differing)
    }

    private mutating func forget(_ n: Int) {
        guard n > 0 else { return }
        let k = min(n, count)
        head = storage.isEmpty ? 0 : (head + k) % storage.count
        count -= k
        startSequence = startSequence &+ UInt32(truncatingIfNeeded: k)
    }

    private mutating func grow(to capacity: Int) {
        var bigger = [UInt8](repeating: 0, count: capacity)
        if count > 0 {
            storage.withUnsafeBytes { ring in
                bigger.withUnsafeMutableBytes { out in
                    let first = min(count, ring.count - head)
                    out.baseAddress!.copyMemory(from: ring.baseAddress!.advanced(by: head), byteCount: first)
                    if count > first {
                        out.baseAddress!.advanced(by: first).copyMemory(from: ring.baseAddress!, byteCount: count - first)
                    }
                }
            }
        }
        storage = bigger
        head = 0
    }

    /// Frees the buffer (the connection is gone).
    mutating func release() {
        storage = []
        head = 0
        count = 0
    }
}
