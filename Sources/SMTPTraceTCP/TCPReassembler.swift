import CByteScan
import SMTPTraceCapture
import SMTPTracePackets

/// Limits of the connection table; every one is a named option with a default, and hitting
/// one is counted, never silent.
public struct ReassemblyLimits: Sendable {
    /// At most this many connections are tracked; past it the least recently active are evicted.
    public var maxConnections: Int
    /// A connection with no packet for this long (capture time) is closed as idle.
    public var idleTimeout: Double
    /// Out-of-order bytes held per direction before the hole is declared a gap.
    public var maxHeldBytesPerDirection: Int
    /// Delivered but unacknowledged bytes kept per direction to compare retransmissions with.
    public var maxRecentBytesPerDirection: Int
    /// A RST whose sequence number lies further than this from the next expected one is
    /// out of window: ignored and counted (a blind or stale reset), not a close.
    public var resetWindow: Int64

    public init(maxConnections: Int = 262_144, idleTimeout: Double = 600, maxHeldBytesPerDirection: Int = 1 << 20,
                maxRecentBytesPerDirection: Int = 65_536, resetWindow: Int64 = 1 << 20) {
        self.maxConnections = max(1, maxConnections)
        self.idleTimeout = idleTimeout
        self.maxHeldBytesPerDirection = max(65_536, maxHeldBytesPerDirection)
        self.maxRecentBytesPerDirection = max(0, maxRecentBytesPerDirection)
        self.resetWindow = resetWindow
    }
}

/// Totals of the TCP layer for the summary.
public struct TCPStatistics: Sendable, Equatable {
    public var connections: UInt64 = 0
    public var closedFinished: UInt64 = 0
    public var closedReset: UInt64 = 0
    public var closedIdle: UInt64 = 0
    public var closedCaptureEnd: UInt64 = 0
    public var evicted: UInt64 = 0
    public var superseded: UInt64 = 0
    /// Segments for no known connection that could not start one (bare ACK, RST, FIN).
    public var strays: UInt64 = 0
    /// RSTs ignored because their sequence number was out of window.
    public var ignoredResets: UInt64 = 0
    public var reassembly = ReassemblyCounters()
    /// Most connections open at once.
    public var peakOpenConnections = 0

    public init() {}

    /// Adds another, independent analysis's counts.
    public mutating func add(_ other: TCPStatistics) {
        connections += other.connections
        closedFinished += other.closedFinished
        closedReset += other.closedReset
        closedIdle += other.closedIdle
        closedCaptureEnd += other.closedCaptureEnd
        evicted += other.evicted
        superseded += other.superseded
        strays += other.strays
        ignoredResets += other.ignoredResets
        reassembly.add(other.reassembly)
        peakOpenConnections = max(peakOpenConnections, other.peakOpenConnections)
    }
}

/// When idle connections are looked for: at the first segment of each capture second. Kept
/// apart so that whoever spreads a capture over several tables can sweep them all at the
/// moments one table would.
public struct SweepSchedule: Sendable {
    private var next: CaptureTimestamp? = nil

    public init() {}

    /// `now` is the capture time after a segment; true when a sweep is due (the next is then
    /// scheduled a second later).
    public mutating func isDue(now: CaptureTimestamp) -> Bool {
        if let due = next, now < due { return false }
        next = now.adding(seconds: 1)
        return true
    }
}

/// The connection table: finds each segment's connection, follows its state, reassembles
/// both directions and pushes ordered bytes and stream events to one consumer.
///
/// Closed and reset connections leave the table at once; idle ones are closed by capture time;
/// when the table is full the least recently active are evicted. Nothing here allocates per
/// packet except the copy of a segment held out of order.
public final class TCPReassembler<Consumer: TCPStreamConsumer> {
    public let limits: ReassemblyLimits
    /// The capture file the segments come from, when its bytes can be read again by the
    /// positions segments carry: unacknowledged bytes are then located there, not copied
    /// (`RecentBytes`). Set before the first segment; nil for every other source.
    public var capturedFile: CaptureFileBytes? = nil
    /// Ports on which the server side is expected; used to tell client from server when no
    /// handshake was captured.
    public let serverPorts: Set<UInt16>
    public private(set) var statistics = TCPStatistics()
    public let consumer: Consumer
    private var table = ConnectionTable<TCPConnection>()
    /// Connections closed since the current segment arrived, kept alive until the next one
    /// (or the end of a sweep or of the capture): `process` works on the table's connection
    /// without retaining it per segment (an atomic operation on a usually cold line), and a
    /// segment may close the connection it is for.
    private var closedRecently: [TCPConnection] = []
    private var nextID: UInt64 = 1
    private var sweeps = SweepSchedule()
    private var now = CaptureTimestamp.zero
    /// No open connection was last active before this capture time (nil: not known). Each
    /// sweep that looks at the table sets it to the oldest activity it saw; only a segment
    /// stamped earlier than `now` (a capture whose clock went back) can make a connection's
    /// activity older, and lowers it. A sweep whose cutoff is not past it has nothing to
    /// close and skips the table: most sweeps, one per capture second.
    private var earliestActivity: CaptureTimestamp? = nil

    public init(consumer: Consumer, serverPorts: Set<UInt16>, limits: ReassemblyLimits = ReassemblyLimits()) {
        self.consumer = consumer
        self.serverPorts = serverPorts
        self.limits = limits
    }

    public var openConnections: Int { table.count }

    /// Takes one segment, in capture order.
    public func process(_ segment: TCPSegment) {
        if now < segment.timestamp {
            now = segment.timestamp
        } else if let earliest = earliestActivity, segment.timestamp < earliest {
            earliestActivity = segment.timestamp
        }
        if sweepsOnItsOwn { sweepIfDue() }
        if !closedRecently.isEmpty { closedRecently.removeAll(keepingCapacity: true) }
        let key = ConnectionKey(segment.source, segment.destination)
        if let found = table.unretainedValue(for: key) {
            found._withUnsafeGuaranteedRef { connection in
                if segment.flags.contains(.syn), !segment.flags.contains(.ack), segment.source == connection.client,
                    let isn = connection.clientISN, isn != segment.sequenceNumber,
                    connection.state != .handshake
                {
                    // The 4-tuple is reused by a new connection.
                    close(connection, reason: .superseded)
                    statistics.superseded += 1
                    start(segment, key: key)
                    return
                }
                update(connection, with: segment)
            }
        } else {
            start(segment, key: key)
        }
    }

    /// Capture time moved on with no packet (a quiet live capture): idle connections close.
    public func advance(to time: CaptureTimestamp) {
        if now < time { now = time }
        sweepIfDue()
        closedRecently.removeAll()
    }

    /// The capture ended: every open connection is flushed and closed as `captureEnd`, in the
    /// order the connections began.
    public func finish() {
        let remaining = table.values.sorted { $0.id < $1.id }
        for connection in remaining { close(connection, reason: .captureEnd) }
        closedRecently.removeAll()
    }

    private func start(_ segment: TCPSegment, key: ConnectionKey) {
        let flags = segment.flags
        let hasPayload = segment.payload.count + segment.missingPayloadLength > 0
        guard flags.contains(.syn) || hasPayload else {
            statistics.strays += 1
            return
        }
        if table.count >= limits.maxConnections { evictOldest() }
        let client: Endpoint, server: Endpoint, evidence: TCPConnection.RoleEvidence
        if flags.contains(.syn) {
            evidence = .handshake
            if flags.contains(.ack) {
                (client, server) = (segment.destination, segment.source)
            } else {
                (client, server) = (segment.source, segment.destination)
            }
        } else if serverPorts.contains(segment.destination.port) && !serverPorts.contains(segment.source.port) {
            (client, server, evidence) = (segment.source, segment.destination, .serverPort)
        } else if serverPorts.contains(segment.source.port) && !serverPorts.contains(segment.destination.port) {
            (client, server, evidence) = (segment.destination, segment.source, .serverPort)
        } else {
            (client, server, evidence) = (segment.source, segment.destination, .firstSender)
        }
        let connection = TCPConnection(
            id: nextID, key: key, client: client, server: server, roleEvidence: evidence,
            frame: segment.frameNumber, timestamp: segment.timestamp,
            recentLimit: limits.maxRecentBytesPerDirection, file: capturedFile)
        nextID += 1
        statistics.connections += 1
        table.insert(connection)
        statistics.peakOpenConnections = max(statistics.peakOpenConnections, table.count)
        if consumer.handle(.opened, on: connection) == .ignore { connection.ignored = true }
        update(connection, with: segment)
    }

    private func update(_ connection: TCPConnection, with segment: TCPSegment) {
        if let state = connection.consumerState,
            segment.payload.count + segment.missingPayloadLength > 0 || segment.flags.contains(.fin)
        {
            byte_scan_prefetch(state, 128)  // not for a bare ACK, which the consumer does not see
        }
        let direction: Direction = segment.source == connection.client ? .clientToServer : .serverToClient
        let flags = segment.flags
        if !connection.ignored {
            if connection.toServer.hasPendingAcknowledgement { settle(.clientToServer, now: segment.timestamp, on: connection) }
            if connection.toClient.hasPendingAcknowledgement { settle(.serverToClient, now: segment.timestamp, on: connection) }
        }
        connection.lastFrame = segment.frameNumber
        connection.lastTimestamp = segment.timestamp
        connection.packets += 1
        connection.packetsBySide[direction] += 1
        connection.payloadBytes += UInt64(segment.payload.count + segment.missingPayloadLength)

        if flags.contains(.syn) {
            connection.log(flags.contains(.ack) ? .synAck : .syn, direction, frame: segment.frameNumber, timestamp: segment.timestamp)
            if direction == .clientToServer && !flags.contains(.ack) && connection.clientISN == nil {
                connection.clientISN = segment.sequenceNumber
            }
        } else if connection.state == .handshake && flags.contains(.ack) {
            connection.state = .established
            connection.handshakeCompleted = true
        }

        if flags.contains(.ack) && !connection.ignored {
            let ack = segment.acknowledgementNumber
            withHalf(direction.reversed, of: connection) { $0.trimAcknowledged(ack) }
            // An ACK past a hole in the other direction: the hole will never be filled.
            let other = direction.reversed
            if connection.isStarted(other) && !connection.isFinished(other)
                && SequenceNumber.distance(from: connection.nextSequence(other), to: segment.acknowledgementNumber) > 0
            {
                acknowledge(direction.reversed, upTo: segment.acknowledgementNumber, frame: segment.frameNumber,
                            timestamp: segment.timestamp, on: connection)
            }
        }

        if flags.contains(.rst) && !resetInWindow(segment, direction: direction, on: connection) {
            connection.log(.ignoredReset, direction, frame: segment.frameNumber, timestamp: segment.timestamp)
            connection.ignoredResets += 1
            statistics.ignoredResets += 1
            return
        }
        if flags.contains(.rst) {
            let frame = segment.frameNumber, timestamp = segment.timestamp
            connection.log(.rst, direction, frame: frame, timestamp: timestamp, bytes: segment.payload.count)
            connection.resetSeen = TCPConnectionSummary.Reset(
                side: direction, frame: frame, timestamp: timestamp, payloadBytes: segment.payload.count)
            // Data carried on the RST itself is delivered first (some stacks send it).
            if segment.payload.count > 0 { accept(segment, direction: direction, on: connection, fin: false) }
            connection.state = .reset(by: direction)
            if !connection.ignored {
                _ = consumer.handle(.reset(by: direction, frame: frame, timestamp: timestamp), on: connection)
            }
            close(connection, reason: .reset(by: direction))
            return
        }
        // In-order data with nothing else to do, straight to the consumer: no event callbacks,
        // no counters to compare (it cannot be a retransmission or out of order).
        if !connection.ignored, !flags.contains(.fin), !flags.contains(.syn), segment.missingPayloadLength == 0 {
            let chunk: StreamChunk?
            if direction == .clientToServer {
                chunk = connection.toServer.takeInOrder(sequence: segment.sequenceNumber, payload: segment.payload,
                                                        fileOffset: segment.payloadFileOffset,
                                                        frame: segment.frameNumber, timestamp: segment.timestamp)
            } else {
                chunk = connection.toClient.takeInOrder(sequence: segment.sequenceNumber, payload: segment.payload,
                                                        fileOffset: segment.payloadFileOffset,
                                                        frame: segment.frameNumber, timestamp: segment.timestamp)
            }
            if let chunk {
                noteData(chunk.bytes.count, from: direction, on: connection)
                if consumer.receive(chunk, from: direction, on: connection) == .ignore { ignore(connection) }
                return
            }
        }
        if !flags.contains(.fin), !flags.contains(.syn), segment.payload.count == 0, segment.missingPayloadLength == 0 {
            // A bare ACK (a third of a capture's segments): nothing to take in this direction,
            // whose state it cannot change; its acknowledgement, handled above, may have
            // finished the other one.
            closeIfBothFinished(connection)
            return
        }
        if flags.contains(.fin) && !connection.finLoggedSides.contains(direction) {
            if connection.log(.fin, direction, frame: segment.frameNumber, timestamp: segment.timestamp) {
                connection.finLoggedSides.insert(direction)
            }
        }
        let before = connection.counters(direction)
        accept(segment, direction: direction, on: connection, fin: flags.contains(.fin))
        let after = connection.counters(direction)
        if after.retransmittedSegments > before.retransmittedSegments {
            connection.log(.retransmission, direction, frame: segment.frameNumber, timestamp: segment.timestamp, bytes: segment.payload.count)
        } else if after.outOfOrderSegments > before.outOfOrderSegments {
            connection.log(.outOfOrder, direction, frame: segment.frameNumber, timestamp: segment.timestamp, bytes: segment.payload.count)
        }
        closeIfBothFinished(connection)
    }

    @inline(__always)
    private func closeIfBothFinished(_ connection: TCPConnection) {
        if connection.toServer.finished && connection.toClient.finished {
            connection.state = .closed
            close(connection, reason: .finished)
        }
    }

    /// Hands a stream event to the consumer, noting the evidence the summary needs on the way.
    private func forward(_ event: StreamEvent, on connection: TCPConnection) -> StreamDisposition {
        switch event {
        case .data(let direction, let chunk):
            noteData(chunk.bytes.count, from: direction, on: connection)
        case .gap(let direction, let missing, let frame, let timestamp):
            connection.log(.gap, direction, frame: frame, timestamp: timestamp, bytes: missing)
            if connection.gaps.count < 64 {
                connection.gaps.append(.init(side: direction, frame: frame, timestamp: timestamp, missingBytes: missing))
            }
        case .finished(let direction, let frame, let timestamp):
            connection.fins.append(.init(side: direction, frame: frame, timestamp: timestamp))
        case .opened, .reset, .closed:
            break
        }
        return consumer.handle(event, on: connection)
    }

    /// Bytes delivered after the other side's FIN are the evidence of a half-open close. (The
    /// other side's FIN is in `fins` exactly when its half-stream is finished: a connection's
    /// events stop reaching this point once one is not forwarded.)
    @inline(__always)
    private func noteData(_ count: Int, from direction: Direction, on connection: TCPConnection) {
        if connection.isFinished(direction.reversed) {
            connection.bytesAfterPeerFIN[direction] += UInt64(count)
        }
    }

    /// RFC 793 §3.4: a reset is valid when its sequence number is in the window. The window is
    /// not tracked exactly (scaling is negotiated in options), so "in window" is within
    /// `resetWindow` of the next expected sequence number; a side that never sent may reset.
    private func resetInWindow(_ segment: TCPSegment, direction: Direction, on connection: TCPConnection) -> Bool {
        guard connection.isStarted(direction) else { return true }
        let d = SequenceNumber.distance(from: connection.nextSequence(direction), to: segment.sequenceNumber)
        return d >= -limits.resetWindow && d <= limits.resetWindow
    }

    private func accept(_ segment: TCPSegment, direction: Direction, on connection: TCPConnection, fin: Bool) {
        let limit = limits.maxHeldBytesPerDirection
        let wasFinished = connection.isFinished(direction)
        if connection.ignored {
            // Follow FINs only: sequence numbers, no bytes.
            if fin {
                withHalf(direction, of: connection) { half in
                    half.markFinished(frame: segment.frameNumber, timestamp: segment.timestamp)
                }
            }
        } else {
            var disposition = StreamDisposition.keepDelivering
            withHalf(direction, of: connection) { half in
                half.accept(sequence: segment.sequenceNumber, syn: segment.flags.contains(.syn), fin: fin,
                            payload: segment.payload, fileOffset: segment.payloadFileOffset,
                            missing: segment.missingPayloadLength,
                            frame: segment.frameNumber, timestamp: segment.timestamp, limit: limit) { event in
                    if disposition == .keepDelivering, self.forward(event, on: connection) == .ignore {
                        disposition = .ignore
                    }
                }
            }
            if disposition == .ignore { ignore(connection) }
        }
        if !wasFinished && connection.isFinished(direction) { noteFinished(direction, on: connection) }
    }

    private func acknowledge(_ direction: Direction, upTo ack: UInt32, frame: UInt64, timestamp: CaptureTimestamp,
                             on connection: TCPConnection) {
        var disposition = StreamDisposition.keepDelivering
        let wasFinished = connection.isFinished(direction)
        withHalf(direction, of: connection) { half in
            half.acknowledged(upTo: ack, frame: frame, timestamp: timestamp) { event in
                if disposition == .keepDelivering, self.forward(event, on: connection) == .ignore {
                    disposition = .ignore
                }
            }
        }
        if disposition == .ignore { ignore(connection) }
        if !wasFinished && connection.isFinished(direction) { noteFinished(direction, on: connection) }
    }

    private func settle(_ direction: Direction, now: CaptureTimestamp, on connection: TCPConnection) {
        var disposition = StreamDisposition.keepDelivering
        let wasFinished = connection.isFinished(direction)
        withHalf(direction, of: connection) { half in
            half.settleAcknowledgement(now: now) { event in
                if disposition == .keepDelivering, self.forward(event, on: connection) == .ignore {
                    disposition = .ignore
                }
            }
        }
        if disposition == .ignore { ignore(connection) }
        if !wasFinished && connection.isFinished(direction) { noteFinished(direction, on: connection) }
    }

    private func noteFinished(_ direction: Direction, on connection: TCPConnection) {
        switch connection.state {
        case .halfClosed(let side) where side != direction: connection.state = .closed
        case .closed, .reset: break
        default: connection.state = .halfClosed(finishedSide: direction)
        }
    }

    private func withHalf(_ direction: Direction, of connection: TCPConnection, _ body: (inout HalfStream) -> Void) {
        if direction == .clientToServer {
            body(&connection.toServer)
        } else {
            body(&connection.toClient)
        }
    }

    private func ignore(_ connection: TCPConnection) {
        connection.ignored = true
        connection.toServer.discardHeld()
        connection.toClient.discardHeld()
    }

    private func close(_ connection: TCPConnection, reason: ConnectionCloseReason) {
        closedRecently.append(connection)  // before the table lets go of it
        guard table.remove(connection.key) else {
            closedRecently.removeLast()
            return
        }
        if !connection.ignored {
            var stop = false
            for direction in [Direction.clientToServer, .serverToClient] {
                withHalf(direction, of: connection) { half in
                    half.flush { event in
                        if !stop, self.forward(event, on: connection) == .ignore { stop = true }
                    }
                }
            }
        }
        statistics.reassembly.add(connection.counters)
        switch reason {
        case .finished: statistics.closedFinished += 1
        case .reset: statistics.closedReset += 1
        case .idleTimeout: statistics.closedIdle += 1
        case .captureEnd: statistics.closedCaptureEnd += 1
        case .evicted: statistics.evicted += 1
        case .superseded: break
        }
        _ = consumer.handle(.closed(reason, timestamp: connection.lastTimestamp, summary: connection.summary(closeReason: reason)), on: connection)
        connection.toServer.discardHeld()
        connection.toClient.discardHeld()
    }

    /// Whether idle connections are looked for as packets arrive (once per capture second).
    /// A table that holds one shard of a capture's connections is swept by whoever sees every
    /// packet instead (`sweep(now:)`), so that all shards sweep at the same moments as one
    /// table would.
    public var sweepsOnItsOwn = true

    /// Closes the connections idle at capture time `now` (scheduled by the caller).
    public func sweep(now time: CaptureTimestamp) {
        if now < time { now = time }
        closeIdle()
        closedRecently.removeAll()
    }

    /// Closes connections idle for longer than the timeout; runs at most once per capture second.
    private func sweepIfDue() {
        guard sweeps.isDue(now: now) else { return }
        closeIdle()
    }

    private func closeIdle() {
        guard !table.isEmpty else { return }
        let cutoff = now.adding(seconds: -limits.idleTimeout)
        if let earliest = earliestActivity, !(earliest < cutoff) { return }
        var earliest = now
        var idle = table.values(where: { connection in
            if connection.lastTimestamp < cutoff { return true }
            if connection.lastTimestamp < earliest { earliest = connection.lastTimestamp }
            return false
        })
        earliestActivity = earliest
        guard !idle.isEmpty else { return }
        idle.sort { $0.id < $1.id }
        for connection in idle { close(connection, reason: .idleTimeout) }
    }

    /// Evicts the least recently active sixteenth of the table (at least one), so that a flood
    /// of new connections costs a sort every few thousand connections, not a scan each.
    private func evictOldest() {
        let count = max(1, table.count / 16)
        let victims = table.values.sorted {
            $0.lastTimestamp != $1.lastTimestamp ? $0.lastTimestamp < $1.lastTimestamp : $0.id < $1.id
        }.prefix(count)
        for connection in victims { close(connection, reason: .evicted) }
    }
}
