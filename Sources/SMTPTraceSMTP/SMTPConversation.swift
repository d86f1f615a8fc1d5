import DequeModule
import SMTPTraceCapture
import SMTPTracePackets
import SMTPTraceTCP

/// The SMTP dialogue of one connection: frames both byte streams into lines, pairs each
/// reply with what it answers, follows the client through commands, message content, BDAT
/// chunks, AUTH exchanges and STARTTLS, and fills an `SMTPSessionRecord`.
///
/// It sees bytes and stream events only, never packets, and prints nothing.
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
        /// A BDAT chunk is being counted off by the framer.
        case bdatChunk(command: Int, last: Bool)
        /// The server answered 334: the next line is an AUTH response (never recorded).
        case authResponse(authCommand: Int)
    }

    /// A client line kept while DATA's reply is awaited.
    struct HeldLine {
        var info: FramedLine
        var bytes: [UInt8]
    }

    /// A multi-line reply being assembled.
    struct PartialReply {
        var code: Int
        var text: String
        var frame: UInt64
        var timestamp: CaptureTimestamp
        var lines: Int
        var packets: Int
        var lastFrame: UInt64
        var inconsistent: Bool
        var extensions: [String]
    }

    /// Limits that keep one session's memory bounded.
    public struct Limits: Sendable {
        public var commandKeep = 1024
        public var headerKeep = 1000
        public var maxCommandsKept = 10_000
        public var maxHeldLineBytes = 256 * 1024
        public var maxHeaderBytes = 64 * 1024
        public init() {}
    }

    public private(set) var record: SMTPSessionRecord
    let limits: Limits
    var clientFramer: LineFramer
    var serverFramer: LineFramer
    var clientPhase: ClientPhase = .commands
    var pending: Deque<ReplyTarget> = []
    var partialReply: PartialReply? = nil
    var greetingSeen = false
    var quitAcknowledged = false
    var clientFinished = false
    var serverFinished = false
    var resyncClient = false
    /// Client bytes were lost since the last reply: a reply with nothing pending answers them.
    var clientGapUnanswered = false
    /// A client line was decoded after the last reply.
    var clientLineSinceLastReply = false
    var resyncServer = false
    var headerBytes = 0
    var currentHeader: (name: String, value: String)? = nil
    var currentTransaction: Int? = nil

    public init(record: SMTPSessionRecord, limits: Limits = Limits()) {
        self.record = record
        self.limits = limits
        self.clientFramer = LineFramer(keepLimit: limits.commandKeep)
        self.serverFramer = LineFramer(keepLimit: limits.commandKeep)
        if record.implicitTLS {
            clientFramer.mode = .opaque
            serverFramer.mode = .opaque
        }
    }

    // MARK: - Stream events

    /// Bytes of one side, in order.
    public func receive(_ chunk: StreamChunk, from side: Direction) {
        note(frame: chunk.frame, timestamp: chunk.timestamp)
        var position = 0
        if side == .clientToServer {
            record.clientBytes += UInt64(chunk.bytes.count)
            while let output = clientFramer.next(from: chunk, position: &position) {
                switch output {
                case .line(let info): clientLine(info, bytes: clientFramer.line)
                case .chunkComplete: bdatChunkComplete()
                }
            }
        } else {
            record.serverBytes += UInt64(chunk.bytes.count)
            while let output = serverFramer.next(from: chunk, position: &position) {
                if case .line(let info) = output { serverLine(info, bytes: serverFramer.line) }
            }
        }
    }

    /// Bytes of one side that were never captured.
    public func gap(_ missing: Int, from side: Direction, frame: UInt64, timestamp: CaptureTimestamp) {
        note(frame: frame, timestamp: timestamp)
        if side == .clientToServer {
            record.clientGapBytes += UInt64(missing)
            clientGapUnanswered = true
            // A reply that found nothing pending, with no client line since: it answered a
            // command in the lost bytes (the server had them; the capture did not).
            if let last = record.replies.indices.last, record.replies[last].target == .unsolicited,
                !clientLineSinceLastReply
            {
                record.replies[last].target = .lostCommand
                clientGapUnanswered = false
            }
            clientFramer.resynchronise(afterMissing: missing)
            switch clientPhase {
            case .content, .bdatChunk: break  // still inside the message: keep counting it
            default: resyncClient = true
            }
        } else {
            record.serverGapBytes += UInt64(missing)
            serverFramer.resynchronise(afterMissing: missing)
            partialReply = nil
            resyncServer = true
        }
    }

    /// One side's FIN was reached: a last unterminated line is still a line.
    public func finished(_ side: Direction, frame: UInt64, timestamp: CaptureTimestamp) {
        note(frame: frame, timestamp: timestamp)
        if side == .clientToServer {
            clientFinished = true
            if let info = clientFramer.finish() { clientLine(info, bytes: clientFramer.line) }
        } else {
            serverFinished = true
            if let info = serverFramer.finish() { serverLine(info, bytes: serverFramer.line) }
        }
    }

    /// The connection is gone; returns the finished record.
    func close(_ reason: ConnectionCloseReason, timestamp: CaptureTimestamp, tcp: TCPConnectionSummary,
               roles: RoleMap) -> SMTPSessionRecord {
        if tcp.lastFrame > record.lastFrame { record.lastFrame = tcp.lastFrame }
        record.tcp = SessionTCPEvidence(tcp, clientIsTCPClient: roles.clientIsTCPClient)
        return close(reason, timestamp: timestamp)
    }

    /// The connection is gone; returns the finished record.
    public func close(_ reason: ConnectionCloseReason, timestamp: CaptureTimestamp) -> SMTPSessionRecord {
        if let info = clientFramer.finish() { clientLine(info, bytes: clientFramer.line) }
        if let info = serverFramer.finish() { serverLine(info, bytes: serverFramer.line) }
        if case .awaitingDataReply(let data, let held, _) = clientPhase {
            // No verdict ever came: what followed DATA is taken as its content.
            replayHeld(held, asContentOf: data)
        }
        commitHeader()
        if clientFramer.sawTLS || serverFramer.sawTLS { record.tls = true }
        if record.end < timestamp { record.end = timestamp }
        if quitAcknowledged {
            record.close = .quit
        } else {
            let oneSideClosed = clientFinished != serverFinished
            switch reason {
            case .finished: record.close = .fin
            case .reset: record.close = .rst
            case .idleTimeout, .evicted: record.close = oneSideClosed ? .halfOpen : .timeout
            case .captureEnd, .superseded: record.close = oneSideClosed ? .halfOpen : .captureEnd
            }
        }
        return record
    }

    private func note(frame: UInt64, timestamp: CaptureTimestamp) {
        if frame > record.lastFrame { record.lastFrame = frame }
        if record.end < timestamp { record.end = timestamp }
    }

    // MARK: - Client side

    func clientLine(_ info: FramedLine, bytes: [UInt8]) {
        clientLineSinceLastReply = true
        switch clientPhase {
        case .commands:
            command(info, bytes: bytes)
        case .awaitingDataReply(let data, var held, var heldBytes):
            held.append(HeldLine(info: info, bytes: bytes))
            heldBytes += bytes.count + 32
            if heldBytes > limits.maxHeldLineBytes {
                // Far more than any command group: this is content.
                replayHeld(held, asContentOf: data)
            } else {
                clientPhase = .awaitingDataReply(dataCommand: data, held: held, heldBytes: heldBytes)
            }
        case .content(let data, let inHeaders):
            contentLine(info, bytes: bytes, dataCommand: data, inHeaders: inHeaders)
        case .bdatChunk:
            // The framer is counting raw bytes; a line cannot arrive here.
            command(info, bytes: bytes)
        case .authResponse(let auth):
            clientPhase = .commands
            pending.append(.authExchange(auth))
        }
    }

    func replayHeld(_ held: [HeldLine], asContentOf data: Int) {
        clientPhase = .content(dataCommand: data, inHeaders: true)
        markContentStarted()
        for line in held {
            switch clientPhase {
            case .content(let d, let inHeaders):
                contentLine(line.info, bytes: line.bytes, dataCommand: d, inHeaders: inHeaders)
            default:
                clientLine(line.info, bytes: line.bytes)
            }
        }
    }

    func replayHeldAsCommands(_ held: [HeldLine]) {
        clientPhase = .commands
        for line in held { clientLine(line.info, bytes: line.bytes) }
    }

    func markContentStarted() {
        if let t = currentTransaction { record.transactions[t].contentSent = true }
        clientFramer.keepLimit = limits.headerKeep
        headerBytes = 0
        currentHeader = nil
    }

    func command(_ info: FramedLine, bytes: [UInt8]) {
        let command = SMTPCommand.parse(bytes)
        if resyncClient {
            // After a gap, wait for a line that is clearly a command.
            guard command.isWellFormed, Self.knownVerbs.contains(command.verb) else {
                record.undecodedLines += 1
                return
            }
            resyncClient = false
        }
        let index = record.commands.count
        if index < limits.maxCommandsKept {
            record.commands.append(CommandRecord(
                verb: command.verb, argument: command.argument, frame: info.frame,
                timestamp: info.timestamp, length: info.length, replyIndex: nil))
        } else {
            record.commandsNotKept += 1
        }
        pending.append(.command(index))
        switch command.verb {
        case "HELO", "EHLO":
            record.heloVerb = command.verb
            record.heloArgument = command.argument
        case "MAIL":
            record.transactions.append(TransactionRecord(
                mailFrom: Self.path(after: "FROM:", in: command.argument), mailFrame: info.frame))
            currentTransaction = record.transactions.count - 1
        case "RCPT":
            if let t = currentTransaction {
                record.transactions[t].rcptTo.append(Self.path(after: "TO:", in: command.argument))
                record.transactions[t].rcptReplies.append(nil)
            }
        case "DATA":
            if record.serverBytes == 0 && greetingSeen == false && record.replies.isEmpty {
                // Nothing from the server at all (a one-sided capture): content follows.
                clientPhase = .content(dataCommand: index, inHeaders: true)
                markContentStarted()
            } else {
                clientPhase = .awaitingDataReply(dataCommand: index, held: [], heldBytes: 0)
            }
        case "BDAT":
            // RFC 3030: "BDAT" SP chunk-size [SP end-marker]. Anything else is a syntax error
            // that servers reject without reading a chunk (Postfix: 521/501), so no bytes are
            // opaque after it.
            let parts = command.argument.split(separator: " ", omittingEmptySubsequences: true)
            let wellFormed = parts.count == 1 || (parts.count == 2 && parts[1].uppercased() == "LAST")
            if wellFormed, let sizeText = parts.first, sizeText.allSatisfy(\.isASCIIDigit), sizeText.count <= 15,
                let size = UInt64(sizeText)
            {
                let last = parts.count == 2
                if let t = currentTransaction {
                    record.transactions[t].contentSent = true
                    record.transactions[t].size += size
                    if last { record.transactions[t].contentComplete = true }
                }
                if size > 0 {
                    clientFramer.mode = .raw(remaining: size)
                    clientPhase = .bdatChunk(command: index, last: last)
                }
            }
        case "AUTH":
            record.authMechanism = command.argument.uppercased()
        case "RSET":
            currentTransaction = nil
        default:
            break
        }
    }

    func bdatChunkComplete() {
        clientPhase = .commands
    }

    func contentLine(_ info: FramedLine, bytes: [UInt8], dataCommand: Int, inHeaders: Bool) {
        if info.length == 1 && bytes.first == 0x2E && info.terminator != .none {
            // <CRLF>.<CRLF>: the end of the message.
            commitHeader()
            if let t = currentTransaction { record.transactions[t].contentComplete = true }
            pending.append(.endOfData(dataCommand))
            clientPhase = .commands
            clientFramer.keepLimit = limits.commandKeep
            return
        }
        let stuffed = bytes.first == 0x2E ? 1 : 0
        if let t = currentTransaction {
            record.transactions[t].size += UInt64(info.length - stuffed + (info.terminator == .none ? 0 : 2))
        }
        guard inHeaders else { return }
        if info.length == 0 {
            commitHeader()
            clientPhase = .content(dataCommand: dataCommand, inHeaders: false)
            clientFramer.keepLimit = 2  // the body is counted, not kept
            return
        }
        headerBytes += info.length
        if headerBytes > limits.maxHeaderBytes {
            commitHeader()
            clientPhase = .content(dataCommand: dataCommand, inHeaders: false)
            clientFramer.keepLimit = 2
            return
        }
        if let first = bytes.first, first == 0x20 || first == 0x09 {
            // A folded continuation of the previous field.
            if var header = currentHeader, header.value.utf8.count < 998 {
                header.value += " " + String(decoding: bytes, as: UTF8.self).trimmingSpaces
                currentHeader = header
            }
            return
        }
        commitHeader()
        guard let colon = bytes.firstIndex(of: 0x3A) else { return }
        let name = String(decoding: bytes[..<colon], as: UTF8.self).lowercased()
        guard Self.reportedHeaders.contains(name) else { return }
        let value = String(decoding: bytes[(colon + 1)...], as: UTF8.self).trimmingSpaces
        currentHeader = (name, value)
    }

    func commitHeader() {
        guard let header = currentHeader, let t = currentTransaction else {
            currentHeader = nil
            return
        }
        currentHeader = nil
        var headers = record.transactions[t].headers
        let value = String(header.value.prefix(998))
        switch header.name {
        case "date": if headers.date == nil { headers.date = value }
        case "from": if headers.from == nil { headers.from = value }
        case "to": if headers.to == nil { headers.to = value }
        case "subject": if headers.subject == nil { headers.subject = value }
        case "message-id": if headers.messageID == nil { headers.messageID = value }
        default: break
        }
        record.transactions[t].headers = headers
    }

    // MARK: - Server side

    func serverLine(_ info: FramedLine, bytes: [UInt8]) {
        guard let line = SMTPReplyLine.parse(bytes) else {
            record.undecodedLines += 1
            return
        }
        // After a gap the partial reply was dropped; the next reply line starts afresh.
        resyncServer = false
        if var partial = partialReply, line.code != partial.code {
            // A line with another code cannot continue this reply: the multi-line reply was
            // never terminated. It ends here, marked bad, and the line starts the next reply.
            partial.inconsistent = true
            partialReply = nil
            completeReply(partial)
        }
        if var partial = partialReply {
            partial.lines += 1
            if info.frame != partial.lastFrame {
                partial.packets += 1
                partial.lastFrame = info.frame
            }
            if partial.extensions.count < 64 { partial.extensions.append(line.text) }
            partialReply = partial
        } else {
            partialReply = PartialReply(code: line.code, text: line.text, frame: info.frame,
                                        timestamp: info.timestamp, lines: 1, packets: 1, lastFrame: info.frame,
                                        inconsistent: false, extensions: [])
        }
        if line.isLast, let reply = partialReply {
            partialReply = nil
            completeReply(reply)
        }
    }

    func completeReply(_ partial: PartialReply) {
        let target: ReplyTarget
        let greetingCode = partial.code == 220 || partial.code == 554 || partial.code == 421
        var frontIsStartTLS = false
        if case .command(let i)? = pending.first, i < record.commands.count, record.commands[i].verb == "STARTTLS" {
            frontIsStartTLS = true
        }
        if !greetingSeen && greetingCode && !frontIsStartTLS {
            target = .greeting
        } else if let verb = Self.onlyAnswers[partial.code], let match = pendingCommand(verb, behindFront: true) {
            // Only DATA is answered by 354 (AUTH by 334, QUIT by 221): the replies to the
            // commands queued before it never came, and pairing resumes here.
            while let front = pending.popFirst(), front != .command(match) {}
            target = .command(match)
        } else if let front = pending.popFirst() {
            target = front
        } else if clientGapUnanswered {
            target = .lostCommand
        } else {
            target = .unsolicited
        }
        clientGapUnanswered = false
        clientLineSinceLastReply = false
        greetingSeen = true
        let replyIndex = record.replies.count
        record.replies.append(ReplyRecord(
            code: partial.code, enhancedCode: enhancedStatusCode(in: partial.text, replyCode: partial.code),
            text: String(partial.text.prefix(512)), lineCount: partial.lines, packetCount: partial.packets,
            frame: partial.frame,
            timestamp: partial.timestamp, target: target, inconsistentCodes: partial.inconsistent))
        let positive = (200..<400).contains(partial.code)
        switch target {
        case .greeting:
            record.greeting = partial.code
        case .unsolicited, .lostCommand:
            break
        case .endOfData:
            if let t = currentTransaction {
                record.transactions[t].reply = partial.code
                record.transactions[t].replyFrame = partial.frame
            }
        case .authExchange(let auth):
            if partial.code == 334 { clientPhase = .authResponse(authCommand: auth) }
        case .command(let i):
            guard i < record.commands.count else { break }
            record.commands[i].replyIndex = replyIndex
            switch record.commands[i].verb {
            case "EHLO":
                if positive {
                    record.extensions = partial.extensions.map { $0.trimmingSpaces }.filter { !$0.isEmpty }
                }
            case "MAIL":
                if let t = currentTransaction, record.transactions[t].mailFrame == record.commands[i].frame {
                    record.transactions[t].mailReply = partial.code
                }
            case "RCPT":
                if let t = currentTransaction,
                    let slot = record.transactions[t].rcptReplies.firstIndex(where: { $0 == nil })
                {
                    record.transactions[t].rcptReplies[slot] = partial.code
                }
            case "DATA":
                if case .awaitingDataReply(let data, let held, _) = clientPhase, data == i {
                    if partial.code == 354 {
                        replayHeld(held, asContentOf: data)
                    } else {
                        replayHeldAsCommands(held)
                    }
                }
            case "BDAT":
                if let t = currentTransaction, record.transactions[t].contentComplete,
                    record.transactions[t].reply == nil,
                    record.commands[i].argument.uppercased().hasSuffix("LAST")
                {
                    record.transactions[t].reply = partial.code
                    record.transactions[t].replyFrame = partial.frame
                }
            case "AUTH":
                if partial.code == 334 { clientPhase = .authResponse(authCommand: i) }
            case "STARTTLS":
                if partial.code == 220 {
                    clientFramer.mode = .sniffTLS
                    serverFramer.mode = .sniffTLS
                }
            case "QUIT":
                if partial.code == 221 { quitAcknowledged = true }
            default:
                break
            }
        }
    }

    // MARK: - Helpers

    /// Reply codes that answer one command only.
    static let onlyAnswers: [Int: String] = [354: "DATA", 334: "AUTH", 221: "QUIT"]

    /// The index of the first `verb` command waiting in `pending` behind another entry (nil
    /// when it is at the front already, or when the front is an AUTH exchange step).
    func pendingCommand(_ verb: String, behindFront: Bool) -> Int? {
        if case .authExchange? = pending.first { return nil }
        for (position, target) in pending.enumerated() {
            guard case .command(let i) = target, i < record.commands.count else { continue }
            if record.commands[i].verb == verb { return position == 0 && behindFront ? nil : i }
        }
        return nil
    }

    static let knownVerbs: Set<String> = [
        "HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "EXPN",
        "HELP", "STARTTLS", "AUTH", "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML", "XCLIENT",
        "XFORWARD",
    ]

    static let reportedHeaders: Set<String> = ["date", "from", "to", "subject", "message-id"]

    /// The path of `MAIL FROM:<a@b> SIZE=1` or `RCPT TO:<a@b>`: `<a@b>` without brackets.
    static func path(after prefix: String, in argument: String) -> String {
        var rest = Substring(argument)
        if rest.uppercased().hasPrefix(prefix) { rest = rest.dropFirst(prefix.count) }
        rest = rest.drop { $0 == " " }
        if rest.first == "<", let close = rest.firstIndex(of: ">") {
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        return String(rest.prefix { $0 != " " })
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
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
