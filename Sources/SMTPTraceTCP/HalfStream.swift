import SMTPTraceCapture

/// Counters of one direction's reassembly, for the summary and for tests.
public struct ReassemblyCounters: Sendable, Equatable {
    /// Segments whose bytes had all been delivered already (retransmissions, keep-alives).
    public var retransmittedSegments = 0
    /// Segments that arrived ahead of a hole and were held until it filled.
    public var outOfOrderSegments = 0
    /// Bytes of partly new segments that overlapped bytes already delivered (first copy wins).
    public var overlappingBytes = 0
    /// Holes declared: bytes never captured.
    public var gaps = 0
    public var gapBytes = 0
    /// Retransmitted or overlapping segments whose bytes differed from the copy delivered
    /// first, and how many octets differed (compared against the bytes still in flight).
    public var conflictingSegments = 0
    public var conflictingBytes = 0
    /// Keep-alive probes (one octet or none, just below the next sequence number).
    public var keepAlives = 0

    public init() {}

    public mutating func add(_ other: ReassemblyCounters) {
        retransmittedSegments += other.retransmittedSegments
        outOfOrderSegments += other.outOfOrderSegments
        overlappingBytes += other.overlappingBytes
        gaps += other.gaps
        gapBytes += other.gapBytes
        conflictingSegments += other.conflictingSegments
        conflictingBytes += other.conflictingBytes
        keepAlives += other.keepAlives
    }
}

/// One direction of a TCP connection: puts segments in sequence order and delivers each byte
/// exactly once, in order, to the consumer.
///
/// Policy: the first copy of a byte wins (as most stacks do); a retransmission or an overlap
/// never re-delivers or replaces bytes, but is compared with the first copy while the peer has
/// not acknowledged it, and a difference is counted as a conflicting overlap. Segments ahead of a hole are copied and held, up to
/// `limit` bytes; past that, the hole is declared a gap and delivery moves on. At close, any
/// hole still open becomes a gap. All arithmetic is modulo 2^32.
public struct HalfStream {
    /// A segment held because it arrived ahead of a hole (the only place bytes are copied).
    struct HeldSegment {
        var sequence: UInt32
        var bytes: [UInt8]
        /// Where `bytes` starts in the capture file, or -1 (see `RecentBytes`).
        var fileOffset: Int64
        var missing: Int
        var frame: UInt64
        var timestamp: CaptureTimestamp
    }

    // Stored properties in the order a segment reads them (see `TCPConnection`): the sequence
    // state, the held list's header, the pending ACK and the recent bytes first; the FIN's
    // place, the counters and the rest, which few segments touch, after them.
    /// Whether the stream's first sequence number is known (from a SYN or the first data).
    public private(set) var started = false
    /// The FIN was reached in order: the direction is finished.
    public private(set) var finished = false
    /// The next sequence number to deliver.
    public private(set) var nextSequence: UInt32 = 0
    /// Sequence number of this direction's FIN, once seen.
    public private(set) var finSequence: UInt32? = nil
    public private(set) var deliveredBytes: UInt64 = 0
    var held: [HeldSegment] = []
    /// An ACK from the peer beyond every byte seen, not yet confirmed as a capture loss.
    var pendingAcknowledgement: (ack: UInt32, frame: UInt64, timestamp: CaptureTimestamp)? = nil
    /// Delivered bytes not yet acknowledged, for comparing retransmissions.
    var recent: RecentBytes
    public let direction: Direction
    /// Whether the stream started without its SYN (picked up mid-stream).
    public private(set) var startedWithoutSYN = false
    public private(set) var finFrame: UInt64? = nil
    public private(set) var finTimestamp: CaptureTimestamp? = nil
    public private(set) var heldBytes = 0
    public private(set) var counters = ReassemblyCounters()

    /// `file`, when given, lets delivered bytes be compared with retransmissions by reading
    /// them again from the capture instead of keeping copies (segments carry their position).
    public init(direction: Direction, recentLimit: Int = 65_536, file: CaptureFileBytes? = nil) {
        self.direction = direction
        self.recent = RecentBytes(limit: recentLimit, file: file)
    }

    /// Takes one segment of this direction. `emit` receives data, gap and finished events in
    /// stream order; data bytes are borrowed from `payload` or from a held copy.
    mutating func accept(
        sequence: UInt32, syn: Bool, fin: Bool, payload: UnsafeRawBufferPointer, fileOffset: Int64 = -1, missing: Int,
        frame: UInt64, timestamp: CaptureTimestamp, limit: Int, emit: (StreamEvent) -> Void
    ) {
        var start = sequence
        if syn {
            start = sequence &+ 1
            if !started {
                started = true
                nextSequence = start
            }
        }
        let total = payload.count + missing
        if !started {
            guard total > 0 || fin else { return }  // a bare ACK anchors nothing
            started = true
            startedWithoutSYN = true
            nextSequence = start
        }
        if fin && finSequence == nil {
            finSequence = SequenceNumber.advance(start, by: total)
            finFrame = frame
            finTimestamp = timestamp
        }
        if total > 0 && !finished {
            let ahead = SequenceNumber.distance(from: nextSequence, to: start)
            if ahead > 0 {
                hold(sequence: start, payload: payload, fileOffset: fileOffset, missing: missing, frame: frame,
                     timestamp: timestamp, limit: limit, emit: emit)
            } else {
                deliver(start: start, payload: payload, fileOffset: fileOffset, missing: missing, frame: frame,
                        timestamp: timestamp, emit: emit)
            }
            drain(emit: emit)
        }
        checkFIN(emit: emit)
    }

    /// The common case on its own: a segment of new bytes that starts exactly at `nextSequence`,
    /// with nothing held, no FIN known and the whole payload captured. It is taken (the stream
    /// moves on past it) and returned as the chunk to deliver; any other segment returns nil
    /// and must go through `accept`, which does the same for this case in more steps.
    mutating func takeInOrder(sequence: UInt32, payload: UnsafeRawBufferPointer, fileOffset: Int64, frame: UInt64,
                              timestamp: CaptureTimestamp) -> StreamChunk? {
        guard started, !finished, finSequence == nil, held.isEmpty, sequence == nextSequence, payload.count > 0
        else { return nil }
        let chunk = StreamChunk(bytes: payload, frame: frame, timestamp: timestamp, streamOffset: deliveredBytes)
        recent.append(payload, at: nextSequence, fileOffset: fileOffset)
        deliveredBytes += UInt64(payload.count)
        nextSequence = SequenceNumber.advance(sequence, by: payload.count)
        return chunk
    }

    /// Delivers the part of a segment beyond `nextSequence`; counts the rest as retransmitted.
    mutating func deliver(
        start: UInt32, payload: UnsafeRawBufferPointer, fileOffset: Int64, missing: Int, frame: UInt64,
        timestamp: CaptureTimestamp, emit: (StreamEvent) -> Void
    ) {
        let capturedEnd = SequenceNumber.advance(start, by: payload.count)
        let newCaptured = SequenceNumber.distance(from: nextSequence, to: capturedEnd)
        let overlap = SequenceNumber.distance(from: start, to: nextSequence)
        if overlap > 0 && payload.count > 0 {
            // The part already delivered: compare it with the first copy.
            let old = UnsafeRawBufferPointer(rebasing: payload[..<min(payload.count, Int(overlap))])
            let (_, differing) = recent.compare(old, at: start)
            if differing > 0 {
                counters.conflictingSegments += 1
                counters.conflictingBytes += differing
            }
        }
        var delivered = false
        if newCaptured > 0 {
            let from = payload.count - Int(newCaptured)
            let bytes = UnsafeRawBufferPointer(rebasing: payload[from...])
            emit(.data(direction, StreamChunk(bytes: bytes, frame: frame, timestamp: timestamp, streamOffset: deliveredBytes)))
            recent.append(bytes, at: nextSequence, fileOffset: fileOffset < 0 ? -1 : fileOffset + Int64(from))
            deliveredBytes += UInt64(bytes.count)
            nextSequence = capturedEnd
            delivered = true
            if overlap > 0 { counters.overlappingBytes += Int(overlap) }
        }
        let end = SequenceNumber.advance(capturedEnd, by: missing)
        let newMissing = SequenceNumber.distance(from: nextSequence, to: end)
        if newMissing > 0 {
            declareGap(Int(newMissing), frame: frame, timestamp: timestamp, emit: emit)
            delivered = true
        }
        if !delivered {
            if payload.count + missing <= 1 && SequenceNumber.distance(from: start, to: nextSequence) == 1 {
                counters.keepAlives += 1
            } else {
                counters.retransmittedSegments += 1
            }
        }
    }

    /// The peer acknowledged bytes up to `ack`: they can no longer be retransmitted.
    mutating func trimAcknowledged(_ ack: UInt32) {
        recent.acknowledge(ack)
    }

    mutating func hold(
        sequence: UInt32, payload: UnsafeRawBufferPointer, fileOffset: Int64, missing: Int, frame: UInt64,
        timestamp: CaptureTimestamp, limit: Int, emit: (StreamEvent) -> Void
    ) {
        // A hole that would make the held bytes exceed the bound is given up as a gap.
        while heldBytes + payload.count > limit, let first = held.first {
            let hole = SequenceNumber.distance(from: nextSequence, to: first.sequence)
            if hole > 0 { declareGap(Int(hole), frame: first.frame, timestamp: first.timestamp, emit: emit) }
            drain(emit: emit)
        }
        let ahead = SequenceNumber.distance(from: nextSequence, to: sequence)
        if ahead <= 0 {
            deliver(start: sequence, payload: payload, fileOffset: fileOffset, missing: missing, frame: frame,
                    timestamp: timestamp, emit: emit)
            return
        }
        if heldBytes + payload.count > limit {
            declareGap(Int(ahead), frame: frame, timestamp: timestamp, emit: emit)
            deliver(start: sequence, payload: payload, fileOffset: fileOffset, missing: missing, frame: frame,
                    timestamp: timestamp, emit: emit)
            return
        }
        counters.outOfOrderSegments += 1
        let segment = HeldSegment(sequence: sequence, bytes: Array(payload), fileOffset: fileOffset, missing: missing, frame: frame, timestamp: timestamp)
        // Keep `held` sorted by sequence; an exact duplicate of a held segment is dropped.
        var index = held.endIndex
        while index > held.startIndex {
            let previous = held[index - 1]
            let d = SequenceNumber.distance(from: previous.sequence, to: sequence)
            if d > 0 { break }
            if d == 0 && previous.bytes.count >= payload.count {
                counters.outOfOrderSegments -= 1
                counters.retransmittedSegments += 1
                return
            }
            index -= 1
        }
        held.insert(segment, at: index)
        heldBytes += payload.count
    }

    /// Delivers held segments that the stream has caught up with.
    mutating func drain(emit: (StreamEvent) -> Void) {
        while let first = held.first, SequenceNumber.distance(from: nextSequence, to: first.sequence) <= 0 {
            held.removeFirst()
            heldBytes -= first.bytes.count
            first.bytes.withUnsafeBytes { bytes in
                deliver(start: first.sequence, payload: bytes, fileOffset: first.fileOffset, missing: first.missing, frame: first.frame,
                        timestamp: first.timestamp, emit: emit)
            }
        }
    }

    mutating func declareGap(_ count: Int, frame: UInt64, timestamp: CaptureTimestamp, emit: (StreamEvent) -> Void) {
        counters.gaps += 1
        counters.gapBytes += count
        nextSequence = SequenceNumber.advance(nextSequence, by: count)
        deliveredBytes += UInt64(count)
        emit(.gap(direction, missingBytes: count, frame: frame, timestamp: timestamp))
    }

    mutating func checkFIN(emit: (StreamEvent) -> Void) {
        guard !finished, let fin = finSequence, let frame = finFrame, let timestamp = finTimestamp else { return }
        if SequenceNumber.distance(from: nextSequence, to: fin) <= 0 {
            finished = true
            nextSequence = fin &+ 1
            emit(.finished(direction, frame: frame, timestamp: timestamp))
        }
    }

    /// The peer acknowledged up to `ack`: every hole before a held segment that `ack` covers
    /// was received by the peer but never captured. It is declared a gap now, and the held
    /// bytes delivered, rather than at close — so that the two directions stay in capture order.
    ///
    /// With nothing held, an ACK more than one past `nextSequence` also means bytes the peer
    /// received and the capture lost (one past may be a FIN that was not captured); they are a
    /// gap at the ACK's frame. Acknowledgements implausibly far ahead (over 16 MiB) are ignored.
    mutating func acknowledged(upTo ack: UInt32, frame: UInt64, timestamp: CaptureTimestamp, emit: (StreamEvent) -> Void) {
        guard started, !finished else { return }
        while let first = held.first, SequenceNumber.distance(from: first.sequence, to: ack) >= 0 {
            let hole = SequenceNumber.distance(from: nextSequence, to: first.sequence)
            if hole > 0 { declareGap(Int(hole), frame: first.frame, timestamp: first.timestamp, emit: emit) }
            drain(emit: emit)
        }
        if held.isEmpty && unseenBytes(upTo: ack) > 1 {
            // Not declared yet: captures taken on multi-queue interfaces or merged from tap
            // ports may show an ACK just before the data it acknowledges. Only a packet more
            // than `captureReorderTolerance` later settles it.
            if let pending = pendingAcknowledgement, unseenBytes(upTo: pending.ack) > 1 {
                if SequenceNumber.distance(from: pending.ack, to: ack) > 0 { pendingAcknowledgement?.ack = ack }
            } else {
                pendingAcknowledgement = (ack, frame, timestamp)
            }
        }
        checkFIN(emit: emit)
    }

    /// Bytes between `nextSequence` and `ack` that were never seen (a FIN is not data).
    func unseenBytes(upTo ack: UInt32) -> Int64 {
        var unseen = SequenceNumber.distance(from: nextSequence, to: ack)
        if let fin = finSequence, SequenceNumber.distance(from: fin, to: ack) > 0 {
            unseen = SequenceNumber.distance(from: nextSequence, to: fin)
        }
        return unseen <= 1 << 24 ? unseen : 0
    }

    /// How far behind its acknowledgement (capture time) a data segment may still appear:
    /// captures merged from several queues or tap ports show such skew, microseconds to a few
    /// milliseconds. 50 ms.
    static let captureReorderTolerance: Int64 = 50_000_000

    /// Whether an acknowledgement of unseen bytes waits for a later packet to confirm it.
    var hasPendingAcknowledgement: Bool { pendingAcknowledgement != nil }

    /// Declares the acknowledged-but-never-seen bytes a gap once a packet later than the
    /// acknowledgement shows they did not merely arrive out of capture order.
    mutating func settleAcknowledgement(now: CaptureTimestamp?, emit: (StreamEvent) -> Void) {
        guard let pending = pendingAcknowledgement else { return }
        if let now, now.totalNanoseconds - pending.timestamp.totalNanoseconds <= Self.captureReorderTolerance { return }
        pendingAcknowledgement = nil
        guard !finished, held.isEmpty else { return }
        let unseen = unseenBytes(upTo: pending.ack)
        if unseen > 1 {
            declareGap(Int(unseen), frame: pending.frame, timestamp: pending.timestamp, emit: emit)
            checkFIN(emit: emit)
        }
    }

    /// At the end of the connection: every hole left becomes a gap, held bytes are delivered,
    /// and a FIN that was seen is reached.
    mutating func flush(emit: (StreamEvent) -> Void) {
        settleAcknowledgement(now: nil, emit: emit)
        while let first = held.first {
            let hole = SequenceNumber.distance(from: nextSequence, to: first.sequence)
            if hole > 0 { declareGap(Int(hole), frame: first.frame, timestamp: first.timestamp, emit: emit) }
            drain(emit: emit)
        }
        if !finished, let fin = finSequence, let frame = finFrame, let timestamp = finTimestamp {
            let hole = SequenceNumber.distance(from: nextSequence, to: fin)
            if hole > 0 { declareGap(Int(hole), frame: frame, timestamp: timestamp, emit: emit) }
            checkFIN(emit: emit)
        }
    }

    /// Marks the direction finished without following its bytes (ignored connections).
    mutating func markFinished(frame: UInt64, timestamp: CaptureTimestamp) {
        guard !finished else { return }
        finished = true
        finFrame = frame
        finTimestamp = timestamp
    }

    /// Releases held bytes without delivering them (the consumer lost interest, or the
    /// connection is gone).
    mutating func discardHeld() {
        held.removeAll()
        heldBytes = 0
        recent.release()
    }
}
