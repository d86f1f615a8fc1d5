import CByteScan
import SMTPTraceCapture
import SMTPTraceTCP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a line ended on the wire.
public enum LineTerminator: Sendable, Equatable {
    case crlf
    /// A bare LF (RFC 5321 §2.3.8 forbids it; many servers accept it).
    case lf
    /// The stream ended (FIN, gap or capture end) before any line end.
    case none
}

/// Metadata of one framed line; its kept octets are `LineFramer.keptOctets(in:)` or
/// `LineFramer.carriedLine` until the next call.
public struct FramedLine: Sendable, Equatable {
    /// Octets in the line, excluding its terminator (may exceed what was kept).
    public var length: Int
    public var terminator: LineTerminator
    /// Frame and time of the packet that carried the line's first byte.
    public var frame: UInt64
    public var timestamp: CaptureTimestamp
    /// Whether the line held a CR not followed by LF.
    public var hasBareCR: Bool
    /// Whether the line held `<CR>.<CR>` (an end-of-data sequence for some receivers).
    public var hasCRDotCR: Bool = false
}

/// What the framer produced from the bytes it was given.
public enum FramerOutput: Sendable, Equatable {
    case line(FramedLine)
    /// Opaque bytes of a BDAT chunk, at `range` of the chunk given to `next`; `complete` when
    /// they were the chunk's last.
    case raw(range: Range<Int>, complete: Bool, frame: UInt64, timestamp: CaptureTimestamp)
}

/// Cuts one direction's byte stream into lines (LF-terminated, CR stripped before LF), or
/// counts off a fixed number of raw bytes (BDAT), or swallows everything (TLS).
///
/// Incremental in the NIO decoder style: `next(from:position:)` returns `nil` when it needs
/// more bytes, never consuming half a message it cannot finish later. A line that lies whole
/// in the chunk it ends in (nearly every command and reply) is read there and not copied
/// (`keptOctets(in:)`); only a line that a chunk's end cuts is carried, and then only its first
/// `keepLimit` octets (into `carriedLine`, a buffer reused across lines), so an endless line
/// costs a counter, not memory. Line ends are found with `memchr`, and in message bodies with
/// the vector scans of `CByteScan`.
public struct LineFramer {
    public enum Mode: Sendable, Equatable {
        case lines
        /// Message body lines: like `lines`, but a line that needs no attention (CRLF ended,
        /// no bare CR, not starting with `.`, at most 1000 octets with CRLF) is only counted
        /// (`takeSkippedBody`), not returned — most of a capture's bytes are bodies.
        case body
        /// The next `remaining` bytes are opaque data (a BDAT chunk).
        case raw(remaining: UInt64)
        /// Everything is opaque from here on (TLS).
        case opaque
        /// The next byte decides: 0x16 (a TLS handshake record) makes it `opaque`, anything
        /// else goes back to `lines`.
        case sniffTLS
    }

    public var mode: Mode = .lines
    /// How many octets of each line to keep (read in place or carried).
    public var keepLimit: Int
    /// The kept octets (CR/LF removed) of the line last returned when it was carried over
    /// from an earlier chunk, or returned by `finish` (see `keptOctets(in:)`).
    public private(set) var carriedLine: [UInt8] = []
    /// Where the kept octets of the line last returned lie in the chunk it ended in; nil when
    /// they are in `carriedLine`.
    private var lineInChunk: Range<Int>? = nil
    /// Bytes swallowed in `opaque` mode.
    public private(set) var opaqueBytes: UInt64 = 0
    /// Whether `sniffTLS` found a TLS record.
    public private(set) var sawTLS = false
    /// Set when `sniffTLS` found cleartext instead of a TLS record; the reader clears it.
    public var cleartextAfterTLSSniff = false
    /// Body octets and lines counted but not returned in `body` mode.
    private var skippedBodyOctets: UInt64 = 0
    private var skippedBodyLines = 0
    private var pendingLength = 0
    private var pendingFrame: UInt64 = 0
    private var pendingTimestamp = CaptureTimestamp.zero
    private var pendingCR = false
    private var pendingBareCR = false
    private var pendingCRDotCR = false
    private var lineInProgress = false
    /// Body mode: the line in progress, cut by the end of a chunk, is plain so far (no CR but
    /// possibly its last octet, not starting with '.') and still short enough to end plainly
    /// (`mayStillBePlain`); see `finishPlainLine`.
    private var carryingPlainLine = false

    public init(keepLimit: Int = 1024) {
        self.keepLimit = keepLimit
    }

    /// As new (`init(keepLimit:)`), keeping only the carried line's buffer for the next stream.
    mutating func reset(keepLimit: Int) {
        var buffer: [UInt8] = []
        swap(&buffer, &carriedLine)
        self = LineFramer(keepLimit: keepLimit)
        buffer.removeAll(keepingCapacity: true)
        carriedLine = buffer
    }

    /// The kept octets (at most `keepLimit`, CR/LF removed) of the line last returned, read in
    /// `chunk` — the one given to the `next` call that returned it — where the line lay whole;
    /// nil when they are in `carriedLine` instead.
    @inline(__always)
    public func keptOctets(in chunk: StreamChunk) -> UnsafeBufferPointer<UInt8>? {
        guard let kept = lineInChunk, let base = chunk.bytes.baseAddress else { return nil }
        return UnsafeBufferPointer(start: (base + kept.lowerBound).assumingMemoryBound(to: UInt8.self), count: kept.count)
    }

    /// The first kept octet of the line last returned from `bytes` (the chunk's).
    @inline(__always)
    private func firstKeptOctet(_ bytes: UnsafeRawBufferPointer) -> UInt8? {
        guard let kept = lineInChunk else { return carriedLine.first }
        return kept.isEmpty ? nil : bytes[kept.lowerBound]
    }

    /// The body octets (CRLF included) and lines skipped since the last call.
    public mutating func takeSkippedBody() -> (octets: UInt64, lines: Int) {
        defer {
            skippedBodyOctets = 0
            skippedBodyLines = 0
        }
        return (skippedBodyOctets, skippedBodyLines)
    }

    /// Consumes bytes of `chunk` from `position` and returns the next complete unit, or `nil`
    /// when the chunk is used up (then `position == chunk.bytes.count`).
    public mutating func next(from chunk: StreamChunk, position: inout Int) -> FramerOutput? {
        let bytes = chunk.bytes
        while position < bytes.count {
            switch mode {
            case .opaque:
                opaqueBytes += UInt64(bytes.count - position)
                position = bytes.count
                return nil
            case .sniffTLS:
                if bytes[position] == 0x16 {
                    mode = .opaque
                    sawTLS = true
                } else {
                    mode = .lines
                    cleartextAfterTLSSniff = true
                }
            case .raw(let remaining):
                let available = UInt64(bytes.count - position)
                let start = position
                if available >= remaining {
                    position += Int(remaining)
                    mode = .lines
                    return .raw(range: start..<position, complete: true, frame: chunk.frame, timestamp: chunk.timestamp)
                }
                mode = .raw(remaining: remaining - available)
                position = bytes.count
                return .raw(range: start..<position, complete: false, frame: chunk.frame, timestamp: chunk.timestamp)
            case .lines:
                if let line = scanLine(bytes, position: &position, chunk: chunk) { return .line(line) }
            case .body:
                if lineInProgress && carryingPlainLine {
                    carryingPlainLine = false
                    if finishPlainLine(bytes, position: &position) { continue }
                }
                if !lineInProgress { skipPlainBodyLines(bytes, position: &position, chunk: chunk) }
                if position >= bytes.count { return nil }
                if let line = scanLine(bytes, position: &position, chunk: chunk) {
                    if line.terminator == .crlf && !line.hasBareCR && line.length <= Self.maxPlainBodyLine && firstKeptOctet(bytes) != 0x2E {
                        skippedBodyOctets += UInt64(line.length + 2)
                        skippedBodyLines += 1
                        continue
                    }
                    return .line(line)
                }
                // The chunk ended inside a line the scan did not carry (one that spans whole
                // chunks, or one with a bare CR or a '.' first so far): still plain or not.
                carryingPlainLine = !pendingBareCR && carriedLine.first != 0x2E && mayStillBePlain
            }
        }
        return nil
    }

    /// The longest body line, CRLF not counted, that needs no attention (RFC 5321 §4.5.3.1.6:
    /// 1000 octets with CRLF).
    static let maxPlainBodyLine = 998

    /// The body fast path: whole lines inside the chunk that need no attention are counted
    /// straight from the borrowed bytes — no copy, no line object — and a plain line the
    /// chunk's end cuts is carried on (`carryPlainLine`). It stops at the first line that needs
    /// attention, which the general path then handles. The scan itself is
    /// `byte_scan_plain_body_lines` (C, sixty-four octets a step).
    private mutating func skipPlainBodyLines(_ bytes: UnsafeRawBufferPointer, position: inout Int, chunk: StreamChunk) {
        guard let base = bytes.baseAddress, position < bytes.count else { return }
        let found = byte_scan_plain_body_lines(
            base.assumingMemoryBound(to: UInt8.self) + position, bytes.count - position, Self.maxPlainBodyLine)
        skippedBodyOctets += UInt64(found.octets)
        skippedBodyLines += found.lines
        position += found.octets
        if found.cut_line != 0 { carryPlainLine(bytes, position: &position, endsInCR: found.cut_line == 2, chunk: chunk) }
    }

    /// Starts carrying the plain line the chunk's end cuts (the scan found no LF in it, no CR
    /// but perhaps its last octet, and no '.' first): the state `scanLine` leaves for such a
    /// line, and the flag that lets `finishPlainLine` end it, without searching it again.
    private mutating func carryPlainLine(_ bytes: UnsafeRawBufferPointer, position: inout Int, endsInCR: Bool,
                                         chunk: StreamChunk) {
        beginLine(chunk)
        let run = UnsafeRawBufferPointer(rebasing: bytes[position...])
        carryFirstOctets(run)
        pendingLength = run.count
        pendingCR = endsInCR
        lineInChunk = nil
        position = bytes.count
        carryingPlainLine = mayStillBePlain
    }

    /// The carried octets become a new line's first ones, `run`'s first `keepLimit`: written
    /// over the last line's in place when there are as many (in body mode two are kept, so
    /// nearly always), which spares emptying the array and appending to it.
    @inline(__always)
    private mutating func carryFirstOctets(_ run: UnsafeRawBufferPointer) {
        let kept = UnsafeRawBufferPointer(rebasing: run[..<max(0, min(keepLimit, run.count))])
        if carriedLine.count == kept.count {
            carriedLine.withUnsafeMutableBytes { $0.copyMemory(from: kept) }
        } else {
            carriedLine.removeAll(keepingCapacity: true)
            carriedLine.append(contentsOf: kept)
        }
    }

    /// Whether the line in progress is still short enough to end as a plain body line
    /// (`finishPlainLine` would turn a longer one down anyway): a line longer than that, as in
    /// a body with no line breaks, then goes straight down the general path instead of being
    /// searched once more at every segment.
    private var mayStillBePlain: Bool { pendingLength <= Self.maxPlainBodyLine + 1 }

    /// A new line starts in `chunk`: its state from nothing (the carried octets are the
    /// caller's to reset).
    @inline(__always)
    private mutating func beginLine(_ chunk: StreamChunk) {
        lineInProgress = true
        carryingPlainLine = false
        pendingLength = 0
        pendingCR = false
        pendingBareCR = false
        pendingCRDotCR = false
        pendingFrame = chunk.frame
        pendingTimestamp = chunk.timestamp
    }

    /// Ends a carried plain body line from the chunk's first octets when they end it plainly
    /// (CRLF, no other CR, at most `maxPlainBodyLine` octets): counted as `scanLine` and the
    /// plain-line test in `next` would count it, without copying or framing it. Otherwise
    /// nothing is consumed and false sends the line down the general path, whose state is
    /// intact (the carried octets are in `carriedLine`).
    private mutating func finishPlainLine(_ bytes: UnsafeRawBufferPointer, position: inout Int) -> Bool {
        let base = (bytes.baseAddress! + position).assumingMemoryBound(to: UInt8.self)
        let available = bytes.count - position
        // The first CR or LF decides: an LF first (after a carried CR), or a CR and then an LF.
        let end = byte_scan_first_line_end(base, available)
        guard end < available else { return false }
        let run: Int  // octets before the LF
        if base[end] == 0x0A {
            guard end == 0, pendingCR else { return false }  // a bare LF
            run = 0
        } else {
            guard !pendingCR else { return false }  // the carried CR was bare
            guard end + 1 < available, base[end + 1] == 0x0A else { return false }
            run = end + 1
        }
        let length = pendingLength + run - 1  // the CR is not part of the line
        guard length <= Self.maxPlainBodyLine else { return false }
        skippedBodyOctets += UInt64(length + 2)
        skippedBodyLines += 1
        position += run + 1
        lineInProgress = false
        return true
    }

    private mutating func scanLine(_ bytes: UnsafeRawBufferPointer, position: inout Int, chunk: StreamChunk) -> FramedLine? {
        let fresh = !lineInProgress
        if fresh { beginLine(chunk) }
        let base = bytes.baseAddress! + position
        let available = bytes.count - position
        let found = memchr(base, 0x0A, available)
        let segmentLength = found.map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? available
        let run = UnsafeRawBufferPointer(start: base, count: segmentLength)
        note(run)
        guard found != nil else {
            if fresh { carryFirstOctets(run) } else { keep(run) }
            lineInChunk = nil
            position = bytes.count
            return nil
        }
        let terminator: LineTerminator = pendingCR ? .crlf : .lf
        if pendingCR { pendingLength -= 1 }
        if fresh {
            // The whole line is in this chunk: read where it is (nothing carried).
            if !carriedLine.isEmpty { carriedLine.removeAll(keepingCapacity: true) }
            lineInChunk = position..<(position + min(keepLimit, pendingLength))
        } else {
            keep(run)
            if carriedLine.count > pendingLength { carriedLine.removeLast() }  // the CR
            lineInChunk = nil
        }
        position += segmentLength + 1
        lineInProgress = false
        return FramedLine(length: pendingLength, terminator: terminator, frame: pendingFrame,
                          timestamp: pendingTimestamp, hasBareCR: pendingBareCR, hasCRDotCR: pendingCRDotCR)
    }

    /// Takes note of a run of line bytes (no LF among them): bare CRs, `<CR>.<CR>`, a CR last,
    /// the length.
    private mutating func note(_ run: UnsafeRawBufferPointer) {
        guard run.count > 0 else { return }
        // A CR that was last in the previous run was bare, since more bytes follow it.
        if pendingCR { pendingBareCR = true }
        if run.count > 1, let cr = memchr(run.baseAddress!, 0x0D, run.count - 1) {
            pendingBareCR = true
            // Only lines with a bare CR are searched for <CR>.<CR>.
            if !pendingCRDotCR {
                var i = UnsafeRawPointer(cr) - run.baseAddress!
                while i + 2 < run.count {
                    if run[i] == 0x0D && run[i + 1] == 0x2E && run[i + 2] == 0x0D {
                        pendingCRDotCR = true
                        break
                    }
                    i += 1
                }
            }
        }
        pendingCR = run[run.count - 1] == 0x0D
        pendingLength += run.count
    }

    /// Copies the start of a run of line bytes into `carriedLine`, up to `keepLimit` in all.
    private mutating func keep(_ run: UnsafeRawBufferPointer) {
        let room = keepLimit - carriedLine.count
        if room > 0, run.count > 0 { carriedLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: run[..<min(room, run.count)])) }
    }

    /// At the end of the stream: a partial line still held is returned unterminated.
    public mutating func finish() -> FramedLine? {
        guard lineInProgress, mode == .lines || mode == .body else { return nil }
        lineInProgress = false
        lineInChunk = nil
        return FramedLine(length: pendingLength, terminator: .none, frame: pendingFrame,
                          timestamp: pendingTimestamp, hasBareCR: pendingBareCR || pendingCR)
    }

    /// After a gap: any partial line is dropped (its end is unknown) and raw/opaque counting
    /// is abandoned; the decoder resynchronises on the next line.
    public mutating func resynchronise(afterMissing missing: Int) {
        lineInProgress = false
        carryingPlainLine = false
        carriedLine.removeAll(keepingCapacity: true)
        lineInChunk = nil
        switch mode {
        case .raw(let remaining):
            mode = UInt64(missing) < remaining ? .raw(remaining: remaining - UInt64(missing)) : .lines
        case .opaque: break
        case .lines, .sniffTLS: mode = .lines
        case .body: break
        }
    }
}
