import SMTPTraceCapture
import SMTPTracePackets

/// A TCP connection's state as seen from the packets of both directions.
public enum TCPConnectionState: Sendable, Equatable {
    /// A SYN (or SYN-ACK) was seen and the handshake is not complete.
    case handshake
    /// Data may flow both ways (handshake completed, or the connection was picked up mid-stream).
    case established
    /// One side's FIN was reached; the other side may still send.
    case halfClosed(finishedSide: Direction)
    /// Both FINs reached.
    case closed
    /// A RST was seen from `by`.
    case reset(by: Direction)
}

/// One tracked connection: endpoints with their roles, the connection state, and the two
/// half-streams being reassembled.
///
/// A class so that the table can update it in place; it is created and mutated only by
/// `TCPReassembler`, and read by consumers during their `handle` call.
public final class TCPConnection: ConnectionTableValue {
    // Stored properties in the order the per-packet path reads them: Swift lays a class out
    // in declaration order, and with hundreds of connections open each packet's connection is
    // out of the L1 cache, so every cache line its fields span is a miss. The key first (the
    // table's lookup compares it, the first read of the connection), then what one segment
    // touches (state, counts, both directions' sequence state), what only the summary reads
    // last.
    public let key: ConnectionKey
    public internal(set) var state: TCPConnectionState
    /// The consumer stopped wanting bytes for this connection.
    public internal(set) var ignored = false
    /// The directions whose FIN is among `events` (each logged once).
    var finLoggedSides = DirectionSet()
    public internal(set) var lastFrame: UInt64
    public internal(set) var lastTimestamp: CaptureTimestamp
    public internal(set) var packets: UInt64 = 0
    /// Packets per direction.
    var packetsBySide = DirectionCounts.zero
    /// Payload bytes seen on the wire (including retransmissions), both directions.
    public internal(set) var payloadBytes: UInt64 = 0
    /// Free for the consumer: an index into its own per-connection storage.
    public var consumerSlot: Int = -1
    /// Free for the consumer: where its own state for this connection starts in memory. The
    /// reassembler asks for its first cache lines as soon as a segment finds the connection, so
    /// that they arrive while the segment's TCP work runs, not when the consumer is called.
    public var consumerState: UnsafeRawPointer? = nil
    public let client: Endpoint
    var toServer: HalfStream
    var toClient: HalfStream
    /// 1, 2, 3… in the order connections were first seen.
    public let id: UInt64
    public let server: Endpoint
    /// How the client/server roles were decided.
    public let roleEvidence: RoleEvidence
    public internal(set) var firstFrame: UInt64
    public internal(set) var firstTimestamp: CaptureTimestamp
    /// The client's initial sequence number, when its SYN was seen.
    var clientISN: UInt32? = nil
    /// Evidence gathered for the summary at close.
    var fins: [TCPConnectionSummary.FIN] = []
    var resetSeen: TCPConnectionSummary.Reset? = nil
    var ignoredResets = 0
    var gaps: [TCPConnectionSummary.Gap] = []
    var bytesAfterPeerFIN = DirectionCounts.zero
    var events: [TCPConnectionSummary.Event] = []
    var eventsNotKept = 0

    static let maxEvents = 128

    /// Keeps an event for the summary; false when the list is full (the event is only counted).
    @discardableResult
    func log(_ kind: TCPConnectionSummary.Event.Kind, _ side: Direction, frame: UInt64, timestamp: CaptureTimestamp, bytes: Int = 0) -> Bool {
        if events.count < Self.maxEvents {
            events.append(.init(kind: kind, side: side, frame: frame, timestamp: timestamp, bytes: bytes))
            return true
        } else {
            eventsNotKept += 1
            return false
        }
    }
    var handshakeCompleted = false

    /// How a connection's client and server were told apart.
    public enum RoleEvidence: Sendable, Equatable {
        /// From the SYN (or SYN-ACK).
        case handshake
        /// No handshake seen: the side on a known server port is the server.
        case serverPort
        /// No handshake and no known port: the first sender is taken as the client.
        case firstSender
    }

    init(id: UInt64, key: ConnectionKey, client: Endpoint, server: Endpoint, roleEvidence: RoleEvidence,
         frame: UInt64, timestamp: CaptureTimestamp, recentLimit: Int, file: CaptureFileBytes? = nil) {
        self.id = id
        self.key = key
        self.client = client
        self.server = server
        self.roleEvidence = roleEvidence
        self.state = roleEvidence == .handshake ? .handshake : .established
        self.firstFrame = frame
        self.lastFrame = frame
        self.firstTimestamp = timestamp
        self.lastTimestamp = timestamp
        self.toServer = HalfStream(direction: .clientToServer, recentLimit: recentLimit, file: file)
        self.toClient = HalfStream(direction: .serverToClient, recentLimit: recentLimit, file: file)
        // Room for what most connections log (SYN, SYN-ACK and the two FINs) and keep (two
        // FINs) from the start: grown one at a time, the two lists were reallocated three times
        // per connection.
        events.reserveCapacity(4)
        fins.reserveCapacity(2)
    }

    // Per-packet reads of one direction's state, without copying the whole half-stream.
    @inline(__always) func isFinished(_ d: Direction) -> Bool { d == .clientToServer ? toServer.finished : toClient.finished }
    @inline(__always) func isStarted(_ d: Direction) -> Bool { d == .clientToServer ? toServer.started : toClient.started }
    @inline(__always) func nextSequence(_ d: Direction) -> UInt32 { d == .clientToServer ? toServer.nextSequence : toClient.nextSequence }
    @inline(__always) func counters(_ d: Direction) -> ReassemblyCounters { d == .clientToServer ? toServer.counters : toClient.counters }

    /// Whether the connection was already open when the capture started (no SYN seen).
    public var startedMidstream: Bool { clientISN == nil && roleEvidence != .handshake }

    /// The evidence for findings, as the connection closes.
    func summary(closeReason: ConnectionCloseReason) -> TCPConnectionSummary {
        TCPConnectionSummary(
            connectionID: id, client: client, server: server, firstFrame: firstFrame, lastFrame: lastFrame,
            firstTimestamp: firstTimestamp, lastTimestamp: lastTimestamp, midstream: startedMidstream,
            handshakeCompleted: handshakeCompleted, closeReason: closeReason, fins: fins, reset: resetSeen,
            ignoredResets: ignoredResets, gaps: gaps, bytesAfterPeerFIN: bytesAfterPeerFIN,
            counters: counters, events: events, eventsNotKept: eventsNotKept, packetsBySide: packetsBySide)
    }

    public var counters: ReassemblyCounters {
        var total = toServer.counters
        total.add(toClient.counters)
        return total
    }
}
