import SMTPTraceCapture
import SMTPTracePackets
import SMTPTraceTCP
import Testing

/// Records every stream event as plain values, for exact comparison.
final class RecordingConsumer: TCPStreamConsumer {
    enum Event: Equatable, CustomStringConvertible {
        case opened(UInt64)
        case data(Direction, String, frame: UInt64)
        case gap(Direction, Int, frame: UInt64)
        case finished(Direction, frame: UInt64)
        case reset(Direction, frame: UInt64)
        case closed(ConnectionCloseReason)

        var description: String {
            switch self {
            case .opened(let id): "opened(\(id))"
            case .data(let d, let s, let f): "data(\(d == .clientToServer ? "C" : "S"), \(s.debugDescription), #\(f))"
            case .gap(let d, let n, let f): "gap(\(d == .clientToServer ? "C" : "S"), \(n), #\(f))"
            case .finished(let d, let f): "finished(\(d == .clientToServer ? "C" : "S"), #\(f))"
            case .reset(let d, let f): "reset(\(d == .clientToServer ? "C" : "S"), #\(f))"
            case .closed(let r): "closed(\(r))"
            }
        }
    }

    var events: [Event] = []
    var summaries: [TCPConnectionSummary] = []
    var ignoreAfterOpen = false

    func handle(_ event: StreamEvent, on connection: TCPConnection) -> StreamDisposition {
        switch event {
        case .opened: events.append(.opened(connection.id))
        case .data(let d, let chunk): events.append(.data(d, String(decoding: chunk.bytes, as: UTF8.self), frame: chunk.frame))
        case .gap(let d, let n, let f, _): events.append(.gap(d, n, frame: f))
        case .finished(let d, let f, _): events.append(.finished(d, frame: f))
        case .reset(let d, let f, _): events.append(.reset(d, frame: f))
        case .closed(let r, _, let summary):
            events.append(.closed(r))
            summaries.append(summary)
        }
        return ignoreAfterOpen ? .ignore : .keepDelivering
    }

    /// The bytes of one direction, concatenated, with gaps as `[n missing]`.
    func stream(_ direction: Direction) -> String {
        var out = ""
        for event in events {
            switch event {
            case .data(let d, let s, _) where d == direction: out += s
            case .gap(let d, let n, _) where d == direction: out += "[\(n) missing]"
            default: break
            }
        }
        return out
    }
}

/// A tiny segment builder: only what real captures cannot easily give us (wrap-around,
/// conflicting overlaps, a hole that never fills, table limits).
struct Wire {
    var clientOverride: Endpoint? = nil
    var serverOverride: Endpoint? = nil
    var client: Endpoint { clientOverride ?? Endpoint(address: .v4(0x0A00_0001), port: 40000) }
    var server: Endpoint { serverOverride ?? Endpoint(address: .v4(0x0A00_0002), port: 25) }
    var frame: UInt64 = 0
    var time: Int64 = 1_700_000_000
    /// Highest sequence number each side has sent, for honest acknowledgement numbers.
    var sentEnd: [UInt32?] = [nil, nil]

    mutating func send<C: TCPStreamConsumer>(
        _ r: TCPReassembler<C>, from side: Direction, seq: UInt32, _ text: String = "",
        flags: TCPFlags = [.ack], missing: Int = 0, seconds: Int64 = 0, ack forcedAck: UInt32? = nil
    ) {
        frame += 1
        time += seconds
        let (source, destination) = side == .clientToServer ? (client, server) : (server, client)
        let bytes = Array(text.utf8)
        let frame = self.frame, time = self.time
        // Acknowledge what the other side has sent so far, as a real stack would.
        let length = UInt32(bytes.count + missing) &+ (flags.contains(.syn) ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
        let end = seq &+ length
        if let previous = sentEnd[side.rawValue] {
            if Int32(bitPattern: end &- previous) > 0 { sentEnd[side.rawValue] = end }
        } else {
            sentEnd[side.rawValue] = end
        }
        let ack = forcedAck ?? sentEnd[side.reversed.rawValue] ?? 0
        bytes.withUnsafeBytes { payload in
            r.process(TCPSegment(
                source: source, destination: destination, sequenceNumber: seq, acknowledgementNumber: ack,
                flags: flags, window: 65535, payload: payload, missingPayloadLength: missing,
                frameNumber: frame, timestamp: CaptureTimestamp(seconds: time, nanoseconds: 0)))
        }
    }
}

struct TCPReassemblerTests {
    func make(limits: ReassemblyLimits = ReassemblyLimits()) -> (TCPReassembler<RecordingConsumer>, RecordingConsumer) {
        let consumer = RecordingConsumer()
        return (TCPReassembler(consumer: consumer, serverPorts: [25], limits: limits), consumer)
    }

    /// Handshake with client ISN `c` and server ISN `s`.
    func handshake(_ r: TCPReassembler<RecordingConsumer>, _ w: inout Wire, c: UInt32 = 1000, s: UInt32 = 5000) {
        w.send(r, from: .clientToServer, seq: c, flags: [.syn])
        w.send(r, from: .serverToClient, seq: s, flags: [.syn, .ack])
        w.send(r, from: .clientToServer, seq: c &+ 1)
    }

    @Test func inOrderDataAndOrderlyClose() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .serverToClient, seq: 5001, "220 hi\r\n")
        w.send(r, from: .clientToServer, seq: 1001, "QUIT\r\n")
        w.send(r, from: .serverToClient, seq: 5009, "221 bye\r\n", flags: [.ack, .fin])
        w.send(r, from: .clientToServer, seq: 1007, flags: [.ack, .fin])
        #expect(c.events == [
            .opened(1),
            .data(.serverToClient, "220 hi\r\n", frame: 4),
            .data(.clientToServer, "QUIT\r\n", frame: 5),
            .data(.serverToClient, "221 bye\r\n", frame: 6),
            .finished(.serverToClient, frame: 6),
            .finished(.clientToServer, frame: 7),
            .closed(.finished),
        ])
        #expect(r.openConnections == 0)
        #expect(r.statistics.closedFinished == 1)
    }

    @Test func reorderedSegmentsAreDeliveredInSequenceWithTheirOwnFrames() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .clientToServer, seq: 1007, "MAIL FROM:<a@b>\r\n")  // frame 4, ahead
        w.send(r, from: .clientToServer, seq: 1001, "EHLO x")  // frame 5 fills the hole
        #expect(c.events.dropFirst() == [
            .data(.clientToServer, "EHLO x", frame: 5),
            .data(.clientToServer, "MAIL FROM:<a@b>\r\n", frame: 4),
        ])
        #expect(r.statistics.reassembly.outOfOrderSegments == 0)  // counted when the connection closes
        r.finish()
        #expect(r.statistics.reassembly.outOfOrderSegments == 1)
        #expect(c.events.last == .closed(.captureEnd))
    }

    @Test func duplicatesAndOverlapsAreDeliveredOnceFirstCopyWins() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .clientToServer, seq: 1001, "HELO a\r\n")
        w.send(r, from: .clientToServer, seq: 1001, "HELO a\r\n")  // exact retransmission
        w.send(r, from: .clientToServer, seq: 1005, "XXXXNOOP\r\n")  // overlaps 4 bytes, conflicting
        w.send(r, from: .clientToServer, seq: 1009, "NOOP\r\nQUIT\r\n")  // overlaps 6, same bytes
        #expect(c.stream(.clientToServer) == "HELO a\r\nNOOP\r\nQUIT\r\n")
        r.finish()
        #expect(r.statistics.reassembly.retransmittedSegments == 1)
        #expect(r.statistics.reassembly.overlappingBytes == 10)
        // "XXXX" against "a\r\nN"... no: against " a\r\n" — 4 octets differ; the other overlap agrees.
        #expect(r.statistics.reassembly.conflictingSegments == 1)
        #expect(r.statistics.reassembly.conflictingBytes == 4)
    }

    @Test func keepAlivesAreNeitherDataNorRetransmissions() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .clientToServer, seq: 1001, "NOOP\r\n")
        w.send(r, from: .clientToServer, seq: 1006, "\n")  // one old octet: a keep-alive probe
        w.send(r, from: .clientToServer, seq: 1006)  // an empty one
        r.finish()
        #expect(c.stream(.clientToServer) == "NOOP\r\n")
        #expect(r.statistics.reassembly.keepAlives == 1)
        #expect(r.statistics.reassembly.retransmittedSegments == 0)
    }

    @Test func zeroWindowProbeAndDataOnSYNAndFINOnData() {
        let (r, c) = make()
        var w = Wire()
        w.send(r, from: .clientToServer, seq: 1000, "EHLO fast\r\n", flags: [.syn])  // TCP Fast Open style
        w.send(r, from: .serverToClient, seq: 5000, flags: [.syn, .ack])
        w.send(r, from: .clientToServer, seq: 1012, "Q")  // a zero-window probe: one octet
        w.send(r, from: .clientToServer, seq: 1012, "QUIT\r\n", flags: [.ack, .fin])  // then the real segment, with FIN
        #expect(c.stream(.clientToServer) == "EHLO fast\r\nQUIT\r\n")
        #expect(c.events.last == .finished(.clientToServer, frame: 4))
        r.finish()
        #expect(r.statistics.reassembly.conflictingSegments == 0)
    }

    @Test func anOutOfWindowResetIsIgnoredAndCounted() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .clientToServer, seq: 1001, "EHLO a\r\n")
        w.send(r, from: .clientToServer, seq: 1001 &+ 0x4000_0000, flags: [.rst])  // blind reset
        #expect(r.openConnections == 1)
        w.send(r, from: .clientToServer, seq: 1009, "QUIT\r\n", flags: [.rst, .ack])  // in window, with data
        #expect(c.stream(.clientToServer) == "EHLO a\r\nQUIT\r\n")
        #expect(r.statistics.ignoredResets == 1)
        let summary = try! #require(c.summaries.first)
        #expect(summary.reset == .init(side: .clientToServer, frame: 6, timestamp: summary.reset!.timestamp, payloadBytes: 6))
        #expect(summary.ignoredResets == 1)
        #expect(summary.closeReason == .reset(by: .clientToServer))
    }

    @Test func resetInTheMiddleOfData() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .serverToClient, seq: 5001, "354 go\r\n")
        w.send(r, from: .clientToServer, seq: 1001, "Subject: x\r\n\r\nbody line 1\r\n")
        w.send(r, from: .serverToClient, seq: 5009, flags: [.rst, .ack])
        #expect(c.events.suffix(2) == [.reset(.serverToClient, frame: 6), .closed(.reset(by: .serverToClient))])
        #expect(c.summaries.first?.fins == [])
        #expect(c.summaries.first?.isHalfOpen == false)
    }

    @Test func simultaneousClose() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .clientToServer, seq: 1001, flags: [.fin, .ack])
        w.send(r, from: .serverToClient, seq: 5001, flags: [.fin, .ack])
        #expect(c.events.suffix(3) == [.finished(.clientToServer, frame: 4), .finished(.serverToClient, frame: 5), .closed(.finished)])
        #expect(c.summaries.first?.fins.map(\.side) == [.clientToServer, .serverToClient])
        #expect(c.summaries.first?.handshakeCompleted == true)
    }

    /// The server closes its side; the client ACKs the FIN and goes on sending, and never
    /// closes: half-open at the end of the capture, with the bytes sent after the FIN.
    @Test func halfCloseKeptOpenByThePeer() throws {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .serverToClient, seq: 5001, "421 bye\r\n", flags: [.fin, .ack])
        w.send(r, from: .clientToServer, seq: 1001, "more body\r\n", seconds: 2)
        w.send(r, from: .clientToServer, seq: 1012, "and more\r\n", seconds: 3)
        r.finish()
        let summary = try #require(c.summaries.first)
        #expect(summary.fins == [.init(side: .serverToClient, frame: 4, timestamp: summary.fins[0].timestamp)])
        #expect(summary.bytesAfterPeerFIN == DirectionCounts(clientToServer: 21, serverToClient: 0))
        #expect(summary.closeReason == .captureEnd)
        #expect(summary.isHalfOpen)
        #expect(summary.lastTimestamp.seconds(since: summary.fins[0].timestamp) == 5)
    }

    @Test func midstreamConnectionsAreMarked() throws {
        let (r, c) = make()
        var w = Wire()
        w.send(r, from: .serverToClient, seq: 777, "250 ok\r\n")
        r.finish()
        let summary = try #require(c.summaries.first)
        #expect(summary.midstream)
        #expect(summary.handshakeCompleted == false)
    }

    @Test func sequenceNumbersWrapAround() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w, c: 0xFFFF_FFF8)
        // ISN+1 = 0xFFFFFFF9: 7 bytes up to the wrap, the rest after it.
        w.send(r, from: .clientToServer, seq: 0x0000_0001, "O a\r\n")  // ahead: after the wrap
        w.send(r, from: .clientToServer, seq: 0xFFFF_FFF9, "HELO HEL")  // 8 bytes: ends at 0x1
        w.send(r, from: .clientToServer, seq: 0xFFFF_FFF9, "HELO HELO a\r\n")  // covers both
        #expect(c.stream(.clientToServer) == "HELO HELO a\r\n")
        w.send(r, from: .clientToServer, seq: 0x0000_0006, "QUIT\r\n", flags: [.ack, .fin])
        #expect(c.stream(.clientToServer) == "HELO HELO a\r\nQUIT\r\n")
        #expect(c.events.last == .finished(.clientToServer, frame: 7))
    }

    @Test func aHoleThatNeverFillsBecomesAGapAtTheEnd() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .clientToServer, seq: 1001, "EHLO a\r\n")
        w.send(r, from: .clientToServer, seq: 1019, "QUIT\r\n")  // 10 bytes lost before it
        r.finish()
        #expect(c.stream(.clientToServer) == "EHLO a\r\n[10 missing]QUIT\r\n")
        #expect(c.events.contains(.gap(.clientToServer, 10, frame: 5)))
        #expect(r.statistics.reassembly.gaps == 1)
        #expect(r.statistics.reassembly.gapBytes == 10)
        #expect(c.summaries.first?.gaps.map(\.missingBytes) == [10])
        #expect(c.summaries.first?.gaps.map(\.frame) == [5])
    }

    /// The peer acknowledges bytes the capture never showed. Declared a gap only when a later
    /// packet confirms it; an ACK captured just ahead of its data (same timestamp) is not a gap.
    @Test func acknowledgedButUnseenBytesBecomeAGapOnceALaterPacketConfirmsIt() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .serverToClient, seq: 5001, "220 hi\r\n")
        // Capture order swapped: the client's ACK of "250 ok\r\n" comes first (same time here;
        // anything within 50 ms is taken as capture reordering).
        w.send(r, from: .clientToServer, seq: 1001, ack: 5017)
        w.send(r, from: .serverToClient, seq: 5009, "250 ok\r\n")
        #expect(c.stream(.serverToClient) == "220 hi\r\n250 ok\r\n")
        // Now 8 bytes acknowledged and never seen, then a later packet.
        w.send(r, from: .clientToServer, seq: 1001, ack: 5025)
        w.send(r, from: .clientToServer, seq: 1001, "NOOP\r\n", seconds: 1)
        #expect(c.stream(.serverToClient) == "220 hi\r\n250 ok\r\n[8 missing]")
        #expect(c.events.contains(.gap(.serverToClient, 8, frame: 7)))
    }

    @Test func heldBytesAreBoundedAndTheHoleIsDeclaredAGap() {
        let (r, c) = make(limits: ReassemblyLimits(maxHeldBytesPerDirection: 65_536))
        var w = Wire()
        handshake(r, &w)
        let block = String(repeating: "x", count: 40_000)
        w.send(r, from: .clientToServer, seq: 1101, block)  // 100 bytes missing before it
        w.send(r, from: .clientToServer, seq: 1101 + 40_000, block)  // would exceed 64 KiB held
        #expect(c.events.contains(.gap(.clientToServer, 100, frame: 4)))
        #expect(c.stream(.clientToServer).count == "[100 missing]".count + 80_000)
    }

    @Test func snaplenCutPayloadIsAGapInItsOwnFrame() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .clientToServer, seq: 1001, "EHLO", missing: 10)
        w.send(r, from: .clientToServer, seq: 1015, "QUIT\r\n")
        #expect(c.stream(.clientToServer) == "EHLO[10 missing]QUIT\r\n")
        #expect(c.events.contains(.gap(.clientToServer, 10, frame: 4)))
    }

    @Test func resetClosesAtOnce() {
        let (r, c) = make()
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .serverToClient, seq: 5001, "220 hi\r\n")
        w.send(r, from: .clientToServer, seq: 1001, flags: [.rst, .ack])
        #expect(c.events.suffix(2) == [.reset(.clientToServer, frame: 5), .closed(.reset(by: .clientToServer))])
        #expect(r.openConnections == 0)
        // A late segment of the closed connection does not open a new one.
        w.send(r, from: .serverToClient, seq: 5009, flags: [.ack])
        #expect(r.statistics.connections == 1)
        #expect(r.statistics.strays == 1)
    }

    @Test func midstreamPickupUsesTheServerPortForRoles() {
        let (r, c) = make()
        var w = Wire()
        w.send(r, from: .serverToClient, seq: 777, "250 ok\r\n")
        w.send(r, from: .clientToServer, seq: 99, "QUIT\r\n")
        #expect(c.stream(.serverToClient) == "250 ok\r\n")
        #expect(c.stream(.clientToServer) == "QUIT\r\n")
        r.finish()
        #expect(c.events.last == .closed(.captureEnd))
    }

    @Test func idleConnectionsCloseByCaptureTime() {
        let (r, c) = make(limits: ReassemblyLimits(idleTimeout: 30))
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .serverToClient, seq: 5001, "220 hi\r\n")
        // Another connection 31 s later makes time advance.
        w = Wire(frame: w.frame, time: w.time + 31)
        let other = Endpoint(address: .v4(0x0A00_0003), port: 40001)
        let bytes: [UInt8] = []
        bytes.withUnsafeBytes { payload in
            r.process(TCPSegment(source: other, destination: w.server, sequenceNumber: 1, acknowledgementNumber: 0,
                                 flags: [.syn], window: 0, payload: payload, frameNumber: 9,
                                 timestamp: CaptureTimestamp(seconds: w.time, nanoseconds: 0)))
        }
        #expect(c.events.contains(.closed(.idleTimeout)))
        #expect(r.statistics.closedIdle == 1)
        #expect(r.openConnections == 1)
    }

    /// Sweeps skip the table while no connection can be idle yet; a segment stamped back in
    /// time (a clock that stepped back) must still be found idle in time.
    @Test func aConnectionStampedBackInTimeStillClosesWhenIdle() {
        let (r, c) = make(limits: ReassemblyLimits(idleTimeout: 30))
        let server = Endpoint(address: .v4(0x0A00_0001), port: 25)
        func open(_ client: UInt32, at seconds: Int64, frame: UInt64) {
            let bytes: [UInt8] = []
            bytes.withUnsafeBytes { payload in
                r.process(TCPSegment(source: Endpoint(address: .v4(client), port: 40000), destination: server,
                                     sequenceNumber: 1, acknowledgementNumber: 0, flags: [.syn], window: 0,
                                     payload: payload, frameNumber: frame,
                                     timestamp: CaptureTimestamp(seconds: 1_000 + seconds, nanoseconds: 0)))
            }
        }
        open(0x0A00_0010, at: 0, frame: 1)
        open(0x0A00_0011, at: 40, frame: 2)  // the first is idle (cutoff 10 s): closed
        #expect(r.statistics.closedIdle == 1)
        open(0x0A00_0012, at: 20, frame: 3)  // stamped 20 s back, older than the second
        open(0x0A00_0013, at: 55, frame: 4)  // cutoff 25 s: the third is idle, the second not
        #expect(r.statistics.closedIdle == 2)
        #expect(r.openConnections == 2)
        #expect(c.events.filter { $0 == .closed(.idleTimeout) }.count == 2)
    }

    @Test func aFullTableEvictsTheLeastRecentlyActive() {
        let (r, c) = make(limits: ReassemblyLimits(maxConnections: 2))
        for i in 0..<3 {
            let client = Endpoint(address: .v4(0x0A00_0010 + UInt32(i)), port: 40000)
            let bytes: [UInt8] = []
            bytes.withUnsafeBytes { payload in
                r.process(TCPSegment(source: client, destination: Wire().server, sequenceNumber: 1,
                                     acknowledgementNumber: 0, flags: [.syn], window: 0, payload: payload,
                                     frameNumber: UInt64(i + 1),
                                     timestamp: CaptureTimestamp(seconds: 100 + Int64(i), nanoseconds: 0)))
            }
        }
        #expect(r.statistics.evicted == 1)
        #expect(r.openConnections == 2)
        #expect(c.events.contains(.closed(.evicted)))
    }

    @Test func ignoredConnectionsGetNoBytesButStillClose() {
        let (r, c) = make()
        c.ignoreAfterOpen = true
        var w = Wire()
        handshake(r, &w)
        w.send(r, from: .clientToServer, seq: 1001, "EHLO a\r\n", flags: [.ack, .fin])
        w.send(r, from: .serverToClient, seq: 5001, flags: [.ack, .fin])
        #expect(c.events == [.opened(1), .closed(.finished)])
    }
}

/// Holds each connection it is told about weakly: whether the reassembler still keeps it.
final class ConnectionWatcher: TCPStreamConsumer {
    struct Watched { weak var connection: TCPConnection? }
    var watched: [Watched] = []
    var closes: [ConnectionCloseReason] = []

    func handle(_ event: StreamEvent, on connection: TCPConnection) -> StreamDisposition {
        switch event {
        case .opened: watched.append(Watched(connection: connection))
        case .closed(let reason, _, _): closes.append(reason)
        default: break
        }
        return .keepDelivering
    }
}

struct TCPConnectionLifetimeTests {
    /// The reassembler works on a connection without retaining it per segment and keeps what
    /// a segment closes alive until the next segment: a RST closes the very connection being
    /// updated, and nothing closed stays in memory after the next segment or the capture's end.
    @Test func closedConnectionsAreReleasedByTheNextSegmentAndAtTheEnd() {
        let watcher = ConnectionWatcher()
        let r = TCPReassembler(consumer: watcher, serverPorts: [25], limits: ReassemblyLimits())
        var a = Wire()
        a.send(r, from: .clientToServer, seq: 1000, flags: [.syn])
        a.send(r, from: .serverToClient, seq: 5000, flags: [.syn, .ack])
        a.send(r, from: .clientToServer, seq: 1001, "EHLO x\r\n")
        a.send(r, from: .clientToServer, seq: 1009, flags: [.rst, .ack])
        #expect(watcher.closes == [.reset(by: .clientToServer)])
        var b = Wire(clientOverride: Endpoint(address: .v4(0x0A00_0003), port: 40001))
        b.send(r, from: .clientToServer, seq: 7000, flags: [.syn])
        #expect(watcher.watched.count == 2)
        #expect(watcher.watched[0].connection == nil)  // released by the next segment
        #expect(watcher.watched[1].connection?.client.port == 40001)  // open, in the table
        r.finish()
        #expect(watcher.closes == [.reset(by: .clientToServer), .captureEnd])
        #expect(watcher.watched[1].connection == nil)
    }
}
