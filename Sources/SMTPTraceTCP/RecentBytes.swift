import SMTPTraceCapture

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The most recently delivered bytes of one direction that the peer has not acknowledged yet,
/// kept so that a retransmission or an overlapping segment can be compared with what was
/// delivered first ("first copy wins", but a different second copy is counted).
///
/// Two ways of keeping them, with the same results. When the capture file can give its bytes
/// again (`CaptureFileBytes`, a mapped file), only where each delivered run sits in the file is
/// kept, and the bytes are read back for the rare comparison: copying every payload octet cost
/// more than a tenth of the analysis. Otherwise (an interface, a pipe, a merge of several files)
/// the bytes themselves go into a ring buffer that grows by doubling up to `limit`; so do they
/// when runs are many and small (more than `limit / 64` in flight: the runs already kept are
/// read back into the ring then, so that their memory stays bounded and nothing is forgotten
/// that copies would keep). Either way the kept range is trimmed by the peer's ACKs, so it holds
/// about the bytes in flight, and past `limit` bytes the oldest are forgotten (an overlap with
/// them can no longer be checked).
/// Written by hand: it is on the per-segment path and needs sequence-number addressing that no
/// collection offers.
public struct RecentBytes {
    /// One delivered run of octets and where it starts in the capture file (its sequence
    /// number follows from `startSequence` and the runs before it).
    struct Located {
        var length: Int
        var fileOffset: Int64
    }

    /// The runs' buffer, freed with its last owner. Written by hand instead of an array: a
    /// segment's run written into an array cost a uniqueness check and a count read in the
    /// buffer's header, a load away and usually not cached; through `runBase`, kept beside
    /// the other fields, it is a store the processor does not wait for.
    final class RunBuffer {
        let base: UnsafeMutablePointer<Located>

        init(capacity: Int) {
            base = .allocate(capacity: capacity)
        }

        deinit { base.deallocate() }
    }

    // Stored properties in the order a segment reads them (see `TCPConnection`); the ring's
    // fields, used only when the file cannot give bytes again, last.
    /// The runs in sequence order, `runBase[firstRun..<runEnd]`, when the file can give their
    /// bytes again; contiguous in sequence, the first starting at `startSequence`. The buffer
    /// (`runSlots` runs) is owned by `runs`, below; a copy of this struct shares it with the
    /// original, so a copy is not to be changed (none is made: a half-stream is changed in
    /// place).
    private var runBase: UnsafeMutablePointer<Located>? = nil
    private var runSlots = 0
    private var firstRun = 0
    /// The end of the runs in use: the slots from it on hold runs already forgotten or nothing
    /// yet, written over as runs come.
    private var runEnd = 0
    public private(set) var count = 0
    /// Sequence number of the oldest byte kept.
    public private(set) var startSequence: UInt32 = 0
    /// Whether the bytes kept now are `runs` rather than copies in `storage`.
    private var locating = false
    public let limit: Int
    let file: CaptureFileBytes?
    /// The owner of the runs' buffer (read by no segment).
    private var runs: RunBuffer? = nil
    /// The copies (ring buffer), when the file cannot give the bytes again.
    private var storage: [UInt8] = []
    private var head = 0  // index of the oldest byte

    public init(limit: Int, file: CaptureFileBytes? = nil) {
        self.limit = limit
        self.file = file
    }

    public var endSequence: UInt32 { startSequence &+ UInt32(truncatingIfNeeded: count) }

    /// At most this many runs are kept (then they become copies): about a third of `limit`.
    private var maximumRuns: Int { max(16, limit / 64) }

    /// Appends bytes that were just delivered at `sequence` (which must be `endSequence`,
    /// or anything when empty). `fileOffset` is where they start in the capture file, or -1.
    public mutating func append(_ bytes: UnsafeRawBufferPointer, at sequence: UInt32, fileOffset: Int64 = -1) {
        guard bytes.count > 0, limit > 0 else { return }
        let locate = fileOffset >= 0 && file != nil
        if count == 0 || sequence != endSequence {
            clear()
            startSequence = sequence
            locating = locate
        } else if locating && (!locate || runEnd - firstRun >= maximumRuns) {
            readRunsIntoRing()
        }
        if locating {
            appendLocated(bytes.count, at: sequence, fileOffset: fileOffset)
        } else {
            appendCopy(bytes, at: sequence)
        }
    }

    private mutating func appendLocated(_ length: Int, at sequence: UInt32, fileOffset: Int64) {
        var run = Located(length: length, fileOffset: fileOffset)
        if length > limit {
            let drop = length - limit
            run = Located(length: limit, fileOffset: fileOffset + Int64(drop))
            clear()
            startSequence = sequence &+ UInt32(truncatingIfNeeded: drop)
        }
        if count + run.length > limit { forget(count + run.length - limit) }
        if runEnd == runSlots {
            // The runs in use moved to the front when they fill at most half, else twice the
            // room (room for a few segments in flight at first).
            if runSlots > 0 && (runEnd - firstRun) * 2 <= runSlots { compactRuns() } else { growRuns(to: max(8, runSlots * 2)) }
        }
        (runBase! + runEnd).initialize(to: run)
        runEnd += 1
        count += run.length
    }

    /// Turns the kept runs into copies (too many runs, or bytes that cannot be located): read
    /// back into the ring, in order. A file that no longer gives them ends what is kept.
    private mutating func readRunsIntoRing() {
        let kept = count, start = startSequence
        var bytes = [UInt8](repeating: 0, count: kept)
        var complete = file != nil
        bytes.withUnsafeMutableBytes { buffer in
            var at = 0
            for index in firstRun..<runEnd where complete {
                let run = runBase![index]
                complete = file!.read(run.length, at: run.fileOffset, into: buffer.baseAddress! + at)
                at += run.length
            }
        }
        clear()
        locating = false
        startSequence = complete ? start : start &+ UInt32(truncatingIfNeeded: kept)
        if complete { bytes.withUnsafeBytes { appendCopy($0, at: start) } }
    }

    private mutating func appendCopy(_ bytes: UnsafeRawBufferPointer, at sequence: UInt32) {
        var source = bytes
        if source.count > limit {
            let drop = source.count - limit
            source = UnsafeRawBufferPointer(rebasing: source[drop...])
            clear()
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
    public mutating func acknowledge(_ ack: UInt32) {
        let d = SequenceNumber.distance(from: startSequence, to: ack)
        guard d > 0 else { return }
        forget(Int(min(d, Int64(count))))
    }

    /// Compares `bytes` at `sequence` with the kept bytes they overlap: how many octets
    /// could be compared, and how many of those differ.
    public func compare(_ bytes: UnsafeRawBufferPointer, at sequence: UInt32) -> (compared: Int, differing: Int) {
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
        let sent = UnsafeRawBufferPointer(rebasing: bytes[from..<(from + length)])
        return locating ? compareLocated(sent, at: position) : compareCopied(sent, at: position)
    }

    /// Octets that differ between two runs of equal length: `memcmp` first (a retransmission
    /// is nearly always identical), octet by octet only if it differs.
    private static func differing(_ kept: UnsafeRawPointer, _ sent: UnsafeRawPointer, _ length: Int) -> Int {
        guard memcmp(kept, sent, length) != 0 else { return 0 }
        var differing = 0
        for i in 0..<length where kept.load(fromByteOffset: i, as: UInt8.self) != sent.load(fromByteOffset: i, as: UInt8.self) {
            differing += 1
        }
        return differing
    }

    private func compareCopied(_ sent: UnsafeRawBufferPointer, at position: Int) -> (compared: Int, differing: Int) {
        var differing = 0
        storage.withUnsafeBytes { ring in
            // At most two contiguous runs of the ring.
            var index = (head + position) % ring.count
            var done = 0
            while done < sent.count {
                let run = min(sent.count - done, ring.count - index)
                differing += Self.differing(ring.baseAddress! + index, sent.baseAddress! + done, run)
                done += run
                index = 0
            }
        }
        return (sent.count, differing)
    }

    /// Reads the kept runs back from the file, a piece of at most 4 KiB at a time. A piece the
    /// file no longer holds ends the comparison there.
    private func compareLocated(_ sent: UnsafeRawBufferPointer, at position: Int) -> (compared: Int, differing: Int) {
        guard let file else { return (0, 0) }
        let pieceBytes = 4096
        return withUnsafeTemporaryAllocation(byteCount: pieceBytes, alignment: 16) { piece in
            var compared = 0, differing = 0
            var runStart = 0  // position of runBase[index] in the kept bytes
            var index = firstRun
            while compared < sent.count, index < runEnd {
                let run = runBase![index]
                let at = position + compared
                if at >= runStart + run.length {
                    runStart += run.length
                    index += 1
                    continue
                }
                let length = min(pieceBytes, sent.count - compared, runStart + run.length - at)
                guard file.read(length, at: run.fileOffset + Int64(at - runStart), into: piece.baseAddress!) else { break }
                differing += Self.differing(piece.baseAddress!, sent.baseAddress! + compared, length)
                compared += length
            }
            return (compared, differing)
        }
    }

    private mutating func forget(_ n: Int) {
        guard n > 0 else { return }
        let k = min(n, count)
        if k == count {
            // Everything (most acknowledgements): nothing kept is read, so the buffers, a load
            // away and usually not cached, are not touched.
            clear()
        } else if locating {
            var left = k
            while left > 0 {
                let length = runBase![firstRun].length
                if length <= left {
                    left -= length
                    firstRun += 1
                } else {
                    runBase![firstRun].length -= left
                    runBase![firstRun].fileOffset += Int64(left)
                    left = 0
                }
            }
            // (The runs forgotten at the front are reclaimed as `appendLocated` reaches the
            // buffer's end.)
            count -= k
        } else {
            head = storage.isEmpty ? 0 : (head + k) % storage.count
            count -= k
        }
        startSequence = startSequence &+ UInt32(truncatingIfNeeded: k)
    }

    /// The runs in use moved to the front of their buffer.
    private mutating func compactRuns() {
        guard let runBase else { return }
        runBase.moveInitialize(from: runBase + firstRun, count: runEnd - firstRun)  // may overlap
        runEnd -= firstRun
        firstRun = 0
    }

    /// A buffer of `capacity` runs holding the runs in use.
    private mutating func growRuns(to capacity: Int) {
        let bigger = RunBuffer(capacity: capacity)
        if let runBase, runEnd > firstRun { bigger.base.initialize(from: runBase + firstRun, count: runEnd - firstRun) }
        runEnd -= firstRun
        firstRun = 0
        runs = bigger
        runBase = bigger.base
        runSlots = capacity
    }

    /// Forgets everything kept (the buffers stay allocated).
    private mutating func clear() {
        head = 0
        firstRun = 0
        runEnd = 0
        count = 0
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

    /// Frees the buffers (the connection is gone).
    public mutating func release() {
        storage = []
        runs = nil
        runBase = nil
        runSlots = 0
        firstRun = 0
        runEnd = 0
        head = 0
        count = 0
    }
}
