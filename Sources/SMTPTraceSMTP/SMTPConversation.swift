import DequeModule
import SMTPTraceCapture
import SMTPTracePackets
import SMTPTraceTCP

/// The SMTP dialogue of one connection: frames both byte streams into lines, pairs each
/// reply with what it answers, follows the client through commands, message content, BDAT
/// chunks, AUTH exchanges and STARTTLS, notes every protocol irregularity as an
/// `SMTPObservation`, and fills an `SMTPSessionRecord`.
///
/// It sees bytes and stream events only, never packets, and prints nothing. The client side
/// is in `SMTPConversation+Client.swift`, the server side in `SMTPConversation+Server.swift`.
public final class SMTPConversation {
    /// What the client's byte stream carries next.
    enum ClientPhase {
        /// Command lines.
        case commands
        /// DATA was sent and its reply has not come. The lines that follow are held, because
        /// only that reply says whether they are message content (354) or more commands.
        case awaitingDataReply(dataCommand: Int, held: [HeldLine], heldBytes: Int)
        /// Message content after 354, up to the `.` line; `inHeaders` until the blank line.
        case content(dataCommand: Int, inHeaders: Bool)
        /// An end-of-data sequence only a lenient receiver accepts was seen. A strict receiver
        /// reads on as content; the lines after it are also held, because a server reply now
        /// would show that the server took the lenient reading and they were commands.
        case afterAmbiguousEnd(dataCommand: Int, ambiguity: AmbiguousEnd, held: [HeldLine], heldBytes: Int)
        /// A BDAT chunk is being counted off by the framer.
        case bdatChunk(command: Int, last: Bool)
        /// The server answered 334: the next line is an AUTH response (never recorded).
        case authResponse(authCommand: Int)
    }

    /// The lenient reading's end of a message, kept while the strict reading goes on.
    struct AmbiguousEnd {
        var observation: Int
        var lenientSize: UInt64
        var frame: UInt64
    }

    /// A client line kept while DATA's reply (or the server's reading) is awaited.
    struct HeldLine {
        var info: FramedLine
        var bytes: [UInt8]
    }

    /// A multi-line reply being assembled.
    struct PartialReply {
        var code: Int
        /// The first line's text, in the record's text.
        var text: TextRef
        /// The RFC 3463 code at the start of the first line's text.
        var enhancedCode: TextRef?
        var frame: UInt64
        var timestamp: CaptureTimestamp
        var lines: Int
        var packets: Int
        var lastFrame: UInt64
        var inconsistent: Bool
    }

    /// Limits that keep one session's memory bounded.
    public struct Limits: Sendable {
        public var commandKeep = 1024
        public var headerKeep = 1000
        public var maxCommandsKept = 10_000
        public var maxHeldLineBytes = 256 * 1024
        public var maxHeaderBytes = 64 * 1024
        public var maxObservations = 64
        public init() {}
    }

    // Every stored property below is reset by `reuse(record:)` (but `limits`, the analyzer's
    // for every session).
    /// Which TCP direction is this session's client's (set by `SMTPStreamAnalyzer`, which
    /// hands bytes in by TCP direction). First, on the cache line every segment reads first.
    var roles = RoleMap(clientIsTCPClient: true)
    public internal(set) var record: SMTPSessionRecord
    let limits: Limits
    var clientFramer: LineFramer
    var serverFramer: LineFramer
    var clientPhase: ClientPhase = .commands
    var pending: Deque<ReplyTarget> = []
    var partialReply: PartialReply? = nil
    /// The partial reply's lines after its first, trimmed, the empty ones left out (at most
    /// 64): an EHLO reply's extensions, as ranges of `replyLineOctets` (repaired as the record's
    /// text is). Kept here, not in `PartialReply`, so that a reply costs no list of its own; an
    /// accepted EHLO swaps them into `acceptedExtensions`, copied into the record's text when
    /// the record is finished (both buffers are reused from reply to reply).
    var replyLines: [Range<Int>] = []
    var replyLineOctets: [UInt8] = []
    /// Whether the two may hold something (a reply's lines, or a list swapped in from
    /// `acceptedExtensions`): asked as each reply starts instead of the list's count, which
    /// lives in its buffer on the heap, a cache miss on most replies.
    var replyLinesMayBeKept = false
    /// The last accepted EHLO reply's extension lines (its `replyLines`, swapped in), copied
    /// into the record's text as `record.extensions` when the record is finished.
    var acceptedExtensions = AcceptedExtensions()

    struct AcceptedExtensions {
        var lines: [Range<Int>] = []
        var octets: [UInt8] = []
    }
    /// A client line was decoded since the partial reply's first line.
    var clientLineDuringPartialReply = false
    var greetingSeen = false
    var quitSent = false
    var quitAcknowledged = false
    var clientFinished = false
    var serverFinished = false
    var resyncClient = false
    var resyncServer = false
    /// Client bytes were lost since the last reply: a reply with nothing pending answers them.
    var clientGapUnanswered = false
    /// A client line was decoded after the last reply.
    var clientLineSinceLastReply = false
    /// The terminator of the previous content line (for end-of-data ambiguity).
    var previousContentTerminator: LineTerminator = .crlf
    var headerBytes = 0
    /// The reported header field being read (folded lines may follow) and its value so far:
    /// valid UTF-8 (each line's part checked as it comes), copied into the record's text when
    /// the field ends. The buffer is reused from field to field.
    var currentHeader: ReportedHeader? = nil
    var headerValue: [UInt8] = []
    /// The last HELO/EHLO and AUTH sent past the commands kept (`Limits.maxCommandsKept`), as
    /// sent: copied into the record's text when it is finished, so that each replaces the one
    /// before it instead of adding to the text.
    var lateCommands = LateCommands()

    struct LateCommands {
        var helo: (kind: SMTPVerb, argument: [UInt8])? = nil
        var authArgument: [UInt8]? = nil
    }
    var currentTransaction: Int? = nil
    /// The last accepted EHLO listed PIPELINING.
    var pipeliningAdvertised = false
    /// The transaction each MAIL, RCPT, DATA and BDAT command belongs to (command index →
    /// transaction index), so that a late reply lands in its own transaction even when the
    /// client has pipelined the next one.
    var commandTransaction = CommandIndexMap()
    /// The RCPT commands' places in their transaction's recipient list.
    var rcptSlot = CommandIndexMap()
    /// Reading the header fields at the start of a BDAT message.
    var bdatInHeaders = false
    var bdatPartialLine: [UInt8] = []
    /// The reply-during-data observation of the message in transit, and the client's octet
    /// count when its first reply came.
    var duringData: (observation: Int, clientBytesAtReply: UInt64)? = nil
    /// STARTTLS was sent and not answered yet.
    var startTLSPending = false
    /// The verb of the first command after STARTTLS was answered 220.
    var firstCommandAfterStartTLSReply: SMTPVerb? = nil
    var startTLSAnswered = false
    /// A live capture's stop is not the end of the connection (see `SMTPSettings.liveCapture`).
    var liveCapture = false
    /// Index of the folded observation per kind, side and context.
    var observationIndex: [String: Int] = [:]

    public init(record: consuming SMTPSessionRecord, limits: Limits = Limits()) {
        self.record = consume record
        self.limits = limits
        self.clientFramer = LineFramer(keepLimit: limits.commandKeep)
        self.serverFramer = LineFramer(keepLimit: limits.commandKeep)
        prepareRecord()
    }

    /// Makes this conversation, finished and its record taken, the start of another
    /// session's: every stored property as `init` and its declaration leave it, with the
    /// buffers emptied but kept (`SMTPStreamAnalyzer` keeps a few finished conversations for
    /// the sessions that start next: making and freeing one and its buffers cost about 3,000
    /// instructions and a dozen allocations per session). A property added to this class must
    /// be reset here too.
    func reuse(record: consuming SMTPSessionRecord) {
        self.record = consume record
        clientFramer.reset(keepLimit: limits.commandKeep)
        serverFramer.reset(keepLimit: limits.commandKeep)
        prepareRecord()
        clientPhase = .commands
        pending = []  // its size is the session's (unanswered commands): not kept
        partialReply = nil
        Self.empty(&replyLines)
        Self.empty(&replyLineOctets)
        replyLinesMayBeKept = false
        Self.empty(&acceptedExtensions.lines)
        Self.empty(&acceptedExtensions.octets)
        clientLineDuringPartialReply = false
        greetingSeen = false
        quitSent = false
        quitAcknowledged = false
        clientFinished = false
        serverFinished = false
        resyncClient = false
        resyncServer = false
        clientGapUnanswered = false
        clientLineSinceLastReply = false
        previousContentTerminator = .crlf
        headerBytes = 0
        currentHeader = nil
        Self.empty(&headerValue)
        lateCommands = LateCommands()
        currentTransaction = nil
        pipeliningAdvertised = false
        commandTransaction.removeAll()
        rcptSlot.removeAll()
        bdatInHeaders = false
        Self.empty(&bdatPartialLine)
        duringData = nil
        startTLSPending = false
        firstCommandAfterStartTLSReply = nil
        startTLSAnswered = false
        liveCapture = false
        roles = RoleMap(clientIsTCPClient: true)
        observationIndex.removeAll(keepingCapacity: true)
    }

    /// Empties a buffer for the next session, keeping its storage unless it grew past what a
    /// usual session needs (a pooled conversation should not hold one session's peak).
    private static func empty<Element>(_ buffer: inout [Element]) {
        if buffer.capacity > 4096 { buffer = [] } else { buffer.removeAll(keepingCapacity: true) }
    }

    /// What a new record needs before its first byte: room for a plain session's commands and
    /// replies, and the framers of an implicit-TLS port set to sniff.
    private func prepareRecord() {
        // A plain session has about eight commands and ten replies: room for them at once
        // instead of four reallocations each.
        record.commands.reserveCapacity(8)
        record.replies.reserveCapacity(10)
        if record.implicitTLS {
            // Port 465: TLS from the first byte, unless the first byte says otherwise (some
            // servers speak plain SMTP there).
            clientFramer.mode = .sniffTLS
            serverFramer.mode = .sniffTLS
        }
    }

    // MARK: - Stream events

    /// Bytes of one side, in order.
    public func receive(_ chunk: StreamChunk, from side: Direction) {
        note(frame: chunk.frame, timestamp: chunk.timestamp)
        var position = 0
        if side == .clientToServer {
            record.bytes.clientToServer += UInt64(chunk.bytes.count)
            while let output = clientFramer.next(from: chunk, position: &position) {
                takeSkippedBody()
                switch output {
                case .line(let info): deliverLine(info, from: .clientToServer, chunk: chunk)
                case .raw(let range, let complete, _, _):
                    if bdatInHeaders { bdatHeaderBytes(UnsafeRawBufferPointer(rebasing: chunk.bytes[range])) }
                    if complete { bdatChunkComplete() }
                }
            }
            // Body lines counted past the last line handed out stay in the framer until the
            // next line, gap, end or server bytes (`takeSkippedBody`): not added to the
            // transaction for every segment of a message.
        } else {
            takeSkippedBody()
            record.bytes.serverToClient += UInt64(chunk.bytes.count)
            while let output = serverFramer.next(from: chunk, position: &position) {
                if case .line(let info) = output { deliverLine(info, from: .serverToClient, chunk: chunk) }
            }
        }
    }

    /// Bytes of one side that were never captured.
    public func gap(_ missing: Int, from side: Direction, frame: UInt64, timestamp: CaptureTimestamp) {
        takeSkippedBody()
        note(frame: frame, timestamp: timestamp)
        record.gapBytes[side] += UInt64(missing)
        if side == .clientToServer {
            clientGapUnanswered = true
            // A reply that found nothing pending, with no client line since: it answered a
            // command in the lost bytes (the server had them; the capture did not).
            if let last = record.replies.indices.last, !clientLineSinceLastReply,
                record.replies[last].target == .unsolicited || isBDATInTransit(record.replies[last].target)
            {
                record.replies[last].target = .lostCommand
                clientGapUnanswered = false
            }
            clientFramer.resynchronise(afterMissing: missing)
            switch clientPhase {
            case .content, .bdatChunk, .afterAmbiguousEnd:
                // Still inside the message: decoding goes on counting it.
                record.resynchronisations.append(.init(side: side, gapFrame: frame, resumedFrame: nil, skippedLines: 0, inMessage: true))
            default:
                resyncClient = true
                record.resynchronisations.append(.init(side: side, gapFrame: frame, resumedFrame: nil, skippedLines: 0, inMessage: false))
            }
        } else {
            serverFramer.resynchronise(afterMissing: missing)
            partialReply = nil
            resyncServer = true
            record.resynchronisations.append(.init(side: side, gapFrame: frame, resumedFrame: nil, skippedLines: 0, inMessage: false))
        }
    }

    /// One side's FIN was reached: a last unterminated line is still a line.
    public func finished(_ side: Direction, frame: UInt64, timestamp: CaptureTimestamp) {
        takeSkippedBody()
        note(frame: frame, timestamp: timestamp)
        if side == .clientToServer {
            clientFinished = true
            if let info = clientFramer.finish() { deliverLine(info, from: .clientToServer) }
        } else {
            serverFinished = true
            if let info = serverFramer.finish() { deliverLine(info, from: .serverToClient) }
        }
    }

    /// The connection is gone: the record is finished, with the TCP evidence in SMTP roles
    /// (`takeRecord` then hands it over).
    func close(_ reason: ConnectionCloseReason, timestamp: CaptureTimestamp, tcp: TCPConnectionSummary) {
        if tcp.lastFrame > record.lastFrame { record.lastFrame = tcp.lastFrame }
        record.tcp = SessionTCPEvidence(tcp, clientIsTCPClient: roles.clientIsTCPClient)
        finishRecord(reason, timestamp: timestamp)
    }

    /// The finished record, moved out of a conversation that is done with (or reused): not a
    /// copy sharing every list and its text with one the conversation later lets go of.
    func takeRecord() -> SMTPSessionRecord {
        var taken = SMTPSessionRecord(
            id: record.id, connectionID: record.connectionID, client: record.client, server: record.server,
            start: record.start, firstFrame: record.firstFrame, detectedBy: record.detectedBy, midstream: record.midstream)
        swap(&taken, &record)
        return taken
    }

    /// The connection is gone; returns the finished record.
    public func close(_ reason: ConnectionCloseReason, timestamp: CaptureTimestamp) -> SMTPSessionRecord {
        finishRecord(reason, timestamp: timestamp)
        return record
    }

    private func finishRecord(_ reason: ConnectionCloseReason, timestamp: CaptureTimestamp) {
        takeSkippedBody()
        if let info = clientFramer.finish() { deliverLine(info, from: .clientToServer) }
        if let info = serverFramer.finish() { deliverLine(info, from: .serverToClient) }
        if let partial = partialReply.take() {
            // A multi-line reply never terminated.
            var unterminated = partial
            unterminated.inconsistent = true
            completeReply(unterminated)
        }
        // No verdict ever came: what followed DATA is taken as its content (and a DATA
        // among those lines holds the rest in turn).
        while case .awaitingDataReply(let data, let held, _) = clientPhase {
            replayHeld(held, asContentOf: data)
        }
        switch clientPhase {
        case .afterAmbiguousEnd(_, let ambiguity, let held, _):
            // No reply showed the server's reading: the strict one stands, both are reported.
            record.observations[ambiguity.observation]["server_reading"] = .string("unknown")
            recordLenientCommands(held, in: ambiguity.observation)
        default:
            break
        }
        finishDuringData()
        commitHeader()
        // None accepted, or none listed: an empty list, as the record starts with.
        record.extensions = acceptedExtensions.octets.withUnsafeBufferPointer { octets in
            acceptedExtensions.lines.map { record.text.append(valid: UnsafeBufferPointer(rebasing: octets[$0])) }
        }
        if let helo = lateCommands.helo.take() {
            record.heloVerb = record.text.append(helo.kind.name)
            record.heloArgument = helo.argument.withUnsafeBufferPointer { record.text.append(wire: $0) }
        }
        if let auth = lateCommands.authArgument.take() {
            record.authMechanism = keptMechanism(String(decoding: auth, as: UTF8.self))
        }
        if clientFramer.sawTLS || serverFramer.sawTLS { record.tls = true }
        if record.implicitTLS && !record.tls { record.implicitTLS = false }
        detectDecryptedTLS()
        if record.end < timestamp { record.end = timestamp }
        if quitAcknowledged {
            record.close = .quit
        } else {
            let oneSideClosed = clientFinished != serverFinished
            switch reason {
            case .finished: record.close = .fin
            case .reset: record.close = .rst
            case .idleTimeout, .evicted: record.close = oneSideClosed ? .halfOpen : .timeout
            case .captureEnd, .superseded: record.close = oneSideClosed && !liveCapture ? .halfOpen : .captureEnd
            }
        }
    }

    /// A framed line handed to its side's decoder, read where the framer says it is: in
    /// `chunk` (no copy, no retain of a buffer per line) or, cut by an earlier chunk's end (or
    /// returned by `finish`, with no chunk), in the framer's carried line.
    func deliverLine(_ info: FramedLine, from side: Direction, chunk: StreamChunk? = nil) {
        if side == .clientToServer {
            if let chunk, let bytes = clientFramer.keptOctets(in: chunk) { return clientLine(info, bytes: bytes) }
            let carried = clientFramer.carriedLine
            carried.withUnsafeBufferPointer { clientLine(info, bytes: $0) }
        } else {
            if let chunk, let bytes = serverFramer.keptOctets(in: chunk) { return serverLine(info, bytes: bytes) }
            let carried = serverFramer.carriedLine
            carried.withUnsafeBufferPointer { serverLine(info, bytes: $0) }
        }
    }

    func note(frame: UInt64, timestamp: CaptureTimestamp) {
        if frame > record.lastFrame { record.lastFrame = frame }
        if record.end < timestamp { record.end = timestamp }
    }

    // MARK: - Observations

    /// Records an observation, folding repeats of the same kind, side and context (unless
    /// `fold` is false) and keeping at most `limits.maxObservations`.
    @discardableResult
    func observe(_ kind: SMTPObservation.Kind, side: Direction, context: SMTPObservation.Context, info: FramedLine,
                 line: UnsafeBufferPointer<UInt8>?, fields: [SMTPObservation.Field] = [], fold: Bool = true) -> Int? {
        observe(kind, side: side, context: context, frame: info.frame, timestamp: info.timestamp,
                line: line.map { String(decoding: $0.prefix(512), as: UTF8.self) }, fields: fields, fold: fold)
    }

    @discardableResult
    func observe(_ kind: SMTPObservation.Kind, side: Direction, context: SMTPObservation.Context, frame: UInt64,
                 timestamp: CaptureTimestamp, line: String?, fields: [SMTPObservation.Field] = [],
                 fold: Bool = true) -> Int? {
        var key = "\(kind.rawValue)/\(side.rawValue)/\(context.rawValue)"
        if let cause = fields.first(where: { $0.key == "cause" }), case .string(let c) = cause.value { key += "/" + c }
        if fold, let index = observationIndex[key] {
            record.observations[index].count += 1
            return index
        }
        guard record.observations.count < limits.maxObservations else { return nil }
        record.observations.append(SMTPObservation(
            kind: kind, side: side, context: context, frame: frame, timestamp: timestamp, line: line, fields: fields))
        let index = record.observations.count - 1
        if fold { observationIndex[key] = index }
        return index
    }

    /// Both sides went on in cleartext after STARTTLS's 220, the client starting afresh with
    /// EHLO/HELO as RFC 3207 §4.2 requires inside TLS: the TLS layer was taken off the capture
    /// (a decrypted capture), nobody injected anything. The
    /// session counts as TLS; the cleartext-after-STARTTLS observations are withdrawn.
    func detectDecryptedTLS() {
        let causes = record.observations.compactMap { o -> String? in
            guard o.kind == .starttlsInjection, case .string(let c)? = o["cause"] else { return nil }
            return c
        }
        guard causes.contains("cleartext_instead_of_tls"), causes.contains("server_cleartext_after_220"),
            firstCommandAfterStartTLSReply == .ehlo || firstCommandAfterStartTLSReply == .helo
        else { return }
        record.observations.removeAll { o in
            guard o.kind == .starttlsInjection, case .string(let c)? = o["cause"] else { return false }
            return c == "cleartext_instead_of_tls" || c == "server_cleartext_after_220"
        }
        record.tls = true
        record.tlsDecrypted = true
    }

    /// A reply that came while a BDAT chunk was in transit (a gap may have swallowed the rest).
    func isBDATInTransit(_ target: ReplyTarget) -> Bool {
        guard case .duringData(let i) = target, i < record.commands.count else { return false }
        return record.commands[i].kind == .bdat
    }

    /// Adds the body lines the framer counted without returning them to the message.
    func takeSkippedBody() {
        let skipped = clientFramer.takeSkippedBody()
        guard skipped.lines > 0 else { return }
        previousContentTerminator = .crlf
        if let t = currentTransaction { record.transactions[t].size += skipped.octets }
    }

    /// Ends the reply-during-data account of a message: how much the client sent after it.
    func finishDuringData() {
        guard let d = duringData else { return }
        record.observations[d.observation]["client_bytes_after"] = .int(Int(record.bytes.clientToServer - d.clientBytesAtReply))
        duringData = nil
    }
}

extension SMTPConversation {
    /// Whether any SMTP command, reply or message line has been decoded: what makes a
    /// connection on an SMTP port an SMTP session.
    public var hasDecodedLine: Bool {
        !record.commands.isEmpty || !record.replies.isEmpty || record.commandsNotKept > 0
    }

    func setTunnel(_ tunnel: String?) {
        record.tunnel = tunnel
    }

    func assignID(_ id: Int) {
        record.id = id
    }
}

extension String {
    /// At most `limit` characters: the text itself when it is short enough by its octet count
    /// alone, which is the common case and needs no walk over its characters.
    public func limited(to limit: Int) -> String {
        utf8.count <= limit ? self : String(prefix(limit))
    }
}
