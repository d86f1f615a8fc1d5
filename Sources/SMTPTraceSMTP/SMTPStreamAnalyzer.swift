import SMTPTraceCapture
import SMTPTracePackets
import SMTPTraceTCP

/// Settings of SMTP recognition.
public struct SMTPSettings: Sendable {
    /// Ports whose connections are SMTP from the first byte (the server side's port).
    public var ports: Set<UInt16>
    /// Ports that carry SMTP inside TLS from the start (465): followed at the TCP level only.
    public var implicitTLSPorts: Set<UInt16>
    /// Recognise SMTP on any other port from the dialogue (a 220 greeting answered by
    /// EHLO/HELO, or a client that opens with EHLO/HELO).
    public var detectOnAnyPort: Bool
    public var limits: SMTPConversation.Limits
    /// A live capture: its stop is no evidence that a connection was left half-open (only the
    /// idle timeout is), so connections open at the stop end as `capture_end`.
    public var liveCapture = false

    public static let defaultPorts: Set<UInt16> = [25, 465, 587, 2525]

    public init(ports: Set<UInt16> = SMTPSettings.defaultPorts, implicitTLSPorts: Set<UInt16> = [465],
                detectOnAnyPort: Bool = true, limits: SMTPConversation.Limits = .init()) {
        self.ports = ports
        self.implicitTLSPorts = implicitTLSPorts
        self.detectOnAnyPort = detectOnAnyPort
        self.limits = limits
    }
}

/// Receives every connection's stream events from the TCP layer, recognises the SMTP ones
/// and runs an `SMTPConversation` for each; hands each finished `SMTPSessionRecord` to
/// `sessionEnded` as its connection closes.
public final class SMTPStreamAnalyzer: TCPStreamConsumer {
    /// A connection's standing with the analyzer.
    enum Slot {
        /// On a port not known as SMTP: the first bytes of each side are kept until the
        /// dialogue shows whether it is SMTP.
        case probing(ProtocolProbe)
        /// On a known port, before its first SMTP line: not yet counted as a session.
        case candidate(SMTPConversation)
        /// A recognised SMTP session.
        case session(SMTPConversation)
        case free
    }

    public let settings: SMTPSettings
    /// Called once per session, when its connection closes (or the capture ends), with the
    /// record handed over (consumed: a record holds a dozen lists and its text, and a copy
    /// retains each).
    public var sessionEnded: (consuming SMTPSessionRecord) -> Void
    /// Called for a connection on an SMTP port that closed without one SMTP line decoded (its
    /// TCP evidence may still matter: a reset, a gap, a half-open close).
    public var connectionEndedWithoutSession: ((TCPConnectionSummary) -> Void)?
    /// Called as a connection becomes a session (its first SMTP line), with the session's id
    /// and its connection's first frame.
    public var sessionStarted: ((_ id: Int, _ firstFrame: UInt64) -> Void)?
    /// Connections on SMTP ports, and connections seen at all.
    public private(set) var connectionsOnSMTPPorts = 0
    public private(set) var sessionsStarted = 0
    public private(set) var openSessions = 0
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []
    /// `settings.ports` and `settings.implicitTLSPorts` together, looked up per connection.
    private let smtpPorts: Set<UInt16>
    /// Conversations whose connection closed, kept for the sessions that start next
    /// (`SMTPConversation.reuse`): nothing else holds them (their slot was freed).
    private var spareConversations: [SMTPConversation] = []
    private static let maximumSpareConversations = 32

    public init(settings: SMTPSettings = SMTPSettings(), sessionEnded: @escaping (consuming SMTPSessionRecord) -> Void) {
        self.settings = settings
        self.sessionEnded = sessionEnded
        smtpPorts = settings.ports.union(settings.implicitTLSPorts)
    }

    public func handle(_ event: StreamEvent, on connection: TCPConnection) -> StreamDisposition {
        // Most events are data for a session already recognised: straight to its conversation.
        if case .data(let direction, let chunk) = event, toSession(chunk, from: direction, on: connection) {
            return .keepDelivering
        }
        switch event {
        case .opened:
            return opened(connection)
        case .closed(let reason, let timestamp, let summary):
            closed(connection, reason: reason, timestamp: timestamp, summary: summary)
            return .ignore
        default:
            break
        }
        let index = connection.consumerSlot
        guard index >= 0 else { return .ignore }
        // A session: its slot need not be read (a retain and a release per event).
        if withSession(of: connection, { Self.hand(event, to: $0) }) { return .keepDelivering }
        switch slots[index] {
        case .free:
            return .ignore
        case .probing(var probe):
            slots[index] = .free  // released while the probe is worked on
            let verdict = probe.take(event)
            switch verdict {
            case .undecided:
                slots[index] = .probing(probe)
                return .keepDelivering
            case .notSMTP:
                release(connection)
                return .ignore
            case .smtp(let clientSide, let skip, let tunnel):
                let roles = RoleMap(clientIsTCPClient: clientSide == .clientToServer)
                let conversation = makeConversation(connection, roles: roles, detection: .dialogue)
                conversation.setTunnel(tunnel?.rawValue)
                slots[index] = .candidate(conversation)
                var toSkip = skip
                for replayed in probe.buffered {
                    var chunk = replayed.chunk
                    let side = replayed.direction.rawValue
                    let skipped = min(toSkip[side], replayed.bytes.count)
                    toSkip[side] -= skipped
                    guard skipped < replayed.bytes.count else { continue }
                    replayed.bytes.withUnsafeBytes { bytes in
                        chunk.bytes = UnsafeRawBufferPointer(rebasing: bytes[skipped...])
                        deliver(.data(replayed.direction, chunk), to: index, connection: connection)
                    }
                }
                if !probe.isDataEvent(event) { deliver(event, to: index, connection: connection) }
                return .keepDelivering
            }
        case .candidate, .session:
            deliver(event, to: index, connection: connection)
            return .keepDelivering
        }
    }

    public func receive(_ chunk: StreamChunk, from direction: Direction, on connection: TCPConnection) -> StreamDisposition {
        toSession(chunk, from: direction, on: connection) ? .keepDelivering : receiveOffSession(chunk, from: direction, on: connection)
    }

    /// Bytes for a connection that is not a session yet, out of line: inlined, the chunk's
    /// fields were loaded on entry for this path whichever path ran, straight after the
    /// caller stored them one by one — loads the processor cannot serve from those stores
    /// (store forwarding), a wait of 1.4% of the time on the 1 GiB benchmark.
    @inline(never)
    private func receiveOffSession(_ chunk: StreamChunk, from direction: Direction, on connection: TCPConnection) -> StreamDisposition {
        handle(.data(direction, chunk), on: connection)
    }

    /// Hands in-order bytes to the connection's session when it is one already; false when
    /// the connection is still being probed or is a candidate (the general path decides).
    ///
    /// A recognised session's conversation is the connection's `consumerState` (set as the
    /// connection becomes a session, cleared as its slot is freed), read unretained: `slots`
    /// owns it, and reading it from there cost a retain and a release per packet, two atomic
    /// operations on a line that is usually cold, and a load of the slot, another. A
    /// conversation never ends while it receives bytes: sessions end on the TCP layer's close
    /// events only.
    @inline(__always)
    private func toSession(_ chunk: StreamChunk, from direction: Direction, on connection: TCPConnection) -> Bool {
        withSession(of: connection) { $0.receive(chunk, from: $0.roles.smtpSide(of: direction)) }
    }

    /// Runs `body` on the conversation of the connection's session, read unretained through
    /// `consumerState` (see `toSession`); false when the connection is not a session.
    @inline(__always)
    private func withSession(of connection: TCPConnection, _ body: (SMTPConversation) -> Void) -> Bool {
        guard let state = connection.consumerState else { return false }
        Unmanaged<SMTPConversation>.fromOpaque(state)._withUnsafeGuaranteedRef(body)
        return true
    }

    private func opened(_ connection: TCPConnection) -> StreamDisposition {
        let serverPort = connection.server.port
        let clientPort = connection.client.port
        let onPort = smtpPorts.contains(serverPort)
        // A connection whose roles were guessed may have its server on the "client" side.
        let reversedOnPort = connection.roleEvidence == .firstSender && smtpPorts.contains(clientPort)
        if onPort || reversedOnPort {
            connectionsOnSMTPPorts += 1
            let roles = RoleMap(clientIsTCPClient: !reversedOnPort || onPort)
            let conversation = makeConversation(connection, roles: roles, detection: .port)
            allocate(connection, .candidate(conversation))
            return .keepDelivering
        }
        guard settings.detectOnAnyPort else { return .ignore }
        allocate(connection, .probing(ProtocolProbe()))
        return .keepDelivering
    }

    private func makeConversation(_ connection: TCPConnection, roles: RoleMap, detection: SMTPSessionRecord.Detection) -> SMTPConversation {
        var record = SMTPSessionRecord(
            id: 0, connectionID: connection.id,
            client: roles.clientIsTCPClient ? connection.client : connection.server,
            server: roles.clientIsTCPClient ? connection.server : connection.client,
            start: connection.firstTimestamp, firstFrame: connection.firstFrame,
            detectedBy: detection, midstream: connection.startedMidstream)
        record.implicitTLS = settings.implicitTLSPorts.contains(record.server.port) && detection == .port
        let conversation: SMTPConversation
        if let spare = spareConversations.popLast() {
            spare.reuse(record: consume record)
            conversation = spare
        } else {
            conversation = SMTPConversation(record: consume record, limits: settings.limits)
        }
        conversation.liveCapture = settings.liveCapture
        conversation.roles = roles
        return conversation
    }

    /// Hands an event to the connection's conversation; a candidate whose first SMTP line
    /// this decoded becomes a session. A session's own events come through `withSession`; its
    /// slot is read here for the chunks a probe replays after the first of them made the
    /// candidate a session (they must not be dropped).
    private func deliver(_ event: StreamEvent, to index: Int, connection: TCPConnection) {
        let conversation: SMTPConversation
        switch slots[index] {
        case .session(let c):
            Self.hand(event, to: c)
            return
        case .candidate(let c):
            conversation = c
        case .probing, .free:
            return
        }
        Self.hand(event, to: conversation)
        if conversation.hasDecodedLine {
            openSessions += 1
            slots[index] = .session(conversation)
            connection.consumerState = UnsafeRawPointer(Unmanaged.passUnretained(conversation).toOpaque())
            number(conversation)
        }
    }

    private static func hand(_ event: StreamEvent, to conversation: SMTPConversation) {
        let roles = conversation.roles
        switch event {
        case .data(let direction, let chunk):
            conversation.receive(chunk, from: roles.smtpSide(of: direction))
        case .gap(let direction, let missing, let frame, let timestamp):
            conversation.gap(missing, from: roles.smtpSide(of: direction), frame: frame, timestamp: timestamp)
        case .finished(let direction, let frame, let timestamp):
            conversation.finished(roles.smtpSide(of: direction), frame: frame, timestamp: timestamp)
        case .reset, .opened, .closed:
            break
        }
    }

    private func closed(_ connection: TCPConnection, reason: ConnectionCloseReason, timestamp: CaptureTimestamp,
                        summary: TCPConnectionSummary) {
        let index = connection.consumerSlot
        guard index >= 0 else { return }
        var finished: SMTPConversation? = nil
        switch slots[index] {
        case .candidate(let conversation):
            // Give a last unterminated line its chance to make this a session.
            conversation.close(reason, timestamp: timestamp, tcp: summary)
            if conversation.hasDecodedLine {
                number(conversation)
                sessionEnded(conversation.takeRecord())
            } else {
                connectionEndedWithoutSession?(summary)
            }
            finished = conversation
        case .session(let conversation):
            openSessions -= 1
            conversation.close(reason, timestamp: timestamp, tcp: summary)
            sessionEnded(conversation.takeRecord())
            finished = conversation
        case .probing, .free:
            break
        }
        release(connection)
        if let finished, spareConversations.count < Self.maximumSpareConversations { spareConversations.append(finished) }
    }

    /// A connection became a session: it takes the next number.
    private func number(_ conversation: SMTPConversation) {
        sessionsStarted += 1
        conversation.assignID(sessionsStarted)
        sessionStarted?(sessionsStarted, conversation.record.firstFrame)
    }

    private func allocate(_ connection: TCPConnection, _ slot: Slot) {
        if let index = freeSlots.popLast() {
            slots[index] = slot
            connection.consumerSlot = index
        } else {
            slots.append(slot)
            connection.consumerSlot = slots.count - 1
        }
    }

    private func release(_ connection: TCPConnection) {
        let index = connection.consumerSlot
        guard index >= 0 else { return }
        slots[index] = .free
        freeSlots.append(index)
        connection.consumerSlot = -1
        connection.consumerState = nil
    }
}

/// Maps TCP directions (from the connection's guessed or known roles) to SMTP roles.
struct RoleMap {
    var clientIsTCPClient: Bool


    func smtpSide(of direction: Direction) -> Direction {
        clientIsTCPClient ? direction : direction.reversed
    }
}
