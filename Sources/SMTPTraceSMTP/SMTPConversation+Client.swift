import SMTPTraceCapture
import SMTPTraceTCP

/// The client side of the dialogue: commands, message content, held lines and the
/// end-of-data ambiguity.
extension SMTPConversation {
    /// The header fields the record keeps.
    enum ReportedHeader {
        case date, from, to, subject, messageID
    }

    /// Their names in lower case.
    static let reportedHeaders: [(name: StaticString, field: ReportedHeader)] = [
        ("date", .date), ("from", .from), ("to", .to), ("subject", .subject), ("message-id", .messageID),
    ]

    /// The reported header field this name is (ASCII letters compared without case, as every
    /// keyword is), without making a String of any field's name.
    static func reportedHeader(named name: Slice<UnsafeBufferPointer<UInt8>>) -> ReportedHeader? {
        let name = UnsafeBufferPointer(rebasing: name)
        for (wanted, field) in reportedHeaders where isASCIIWord(name, wanted) { return field }
        return nil
    }

    func clientLine(_ info: FramedLine, bytes: UnsafeBufferPointer<UInt8>) {
        clientLineSinceLastReply = true
        if partialReply != nil { clientLineDuringPartialReply = true }
        switch clientPhase {
        case .commands, .bdatChunk:
            command(info, bytes: bytes)
        case .awaitingDataReply(let data, var held, var heldBytes):
            held.append(HeldLine(info: info, bytes: Array(bytes)))
            heldBytes += bytes.count + 32
            if heldBytes > limits.maxHeldLineBytes {
                // Far more than any command group: this is content.
                replayHeld(held, asContentOf: data)
            } else {
                clientPhase = .awaitingDataReply(dataCommand: data, held: held, heldBytes: heldBytes)
            }
        case .content(let data, let inHeaders):
            contentLine(info, bytes: bytes, dataCommand: data, inHeaders: inHeaders)
        case .afterAmbiguousEnd(let data, let ambiguity, var held, var heldBytes):
            if heldBytes < limits.maxHeldLineBytes {
                held.append(HeldLine(info: info, bytes: Array(bytes)))
                heldBytes += bytes.count + 32
            }
            clientPhase = .afterAmbiguousEnd(dataCommand: data, ambiguity: ambiguity, held: held, heldBytes: heldBytes)
            contentLine(info, bytes: bytes, dataCommand: data, inHeaders: false)
        case .authResponse(let auth):
            // A credential: never recorded, not even its length in the dialogue.
            clientPhase = .commands
            if record.authResponses.count < 16 {
                record.authResponses.append(FrameMark(frame: info.frame, timestamp: info.timestamp))
            }
            if info.terminator == .lf {
                observe(.bareLF, side: .clientToServer, context: .authResponse, info: info, line: nil)
            }
            pending.append(.authExchange(auth))
        }
    }

    func replayHeld(_ held: [HeldLine], asContentOf data: Int) {
        clientPhase = .content(dataCommand: data, inHeaders: true)
        markContentStarted()
        for line in held { line.bytes.withUnsafeBufferPointer { clientLine(line.info, bytes: $0) } }
    }

    func replayHeldAsCommands(_ held: [HeldLine]) {
        clientPhase = .commands
        for line in held { line.bytes.withUnsafeBufferPointer { clientLine(line.info, bytes: $0) } }
    }

    func markContentStarted() {
        if let t = currentTransaction { record.transactions[t].contentSent = true }
        clientFramer.keepLimit = limits.headerKeep
        headerBytes = 0
        currentHeader = nil
        previousContentTerminator = .crlf
    }

    // MARK: - Commands

    func command(_ info: FramedLine, bytes: UnsafeBufferPointer<UInt8>) {
        let command = CommandLineParts(bytes)
        if resyncClient {
            // After a gap, wait for a line that is clearly a command.
            guard command.kind != .other else {
                record.undecodedLines += 1
                noteResync(side: .clientToServer, skipped: true, frame: info.frame)
                return
            }
            resyncClient = false
            noteResync(side: .clientToServer, skipped: false, frame: info.frame)
        }
        checkCommandLine(info, bytes: bytes, verb: command.kind)
        if startTLSAnswered && firstCommandAfterStartTLSReply == nil { firstCommandAfterStartTLSReply = command.kind }
        // The verb (upper-cased) and the argument copied into the record's text, one copy for an
        // ASCII line (the addresses and parameters below are parts of it). Past the commands
        // kept, only MAIL's and a RCPT's in a transaction, which the transaction keeps (as many
        // as it has): a later HELO or AUTH replaces the one before it (`lateCommands`), so a
        // flood of them does not grow the text.
        let index = record.commands.count
        let kept = index < limits.maxCommandsKept
        let argumentOctets = UnsafeBufferPointer(rebasing: bytes[command.argument])
        var verb = TextRef(offset: 0, count: 0), argument = verb
        if kept || command.kind == .mail || (command.kind == .rcpt && currentTransaction != nil) {
            if let line = record.text.append(ascii: UnsafeBufferPointer(rebasing: bytes[..<command.argument.upperBound])) {
                // An ASCII line (nearly all): one copy, the parts named in it.
                verb = line.part(0, command.verbLength)
                argument = line.part(command.argument.lowerBound, command.argument.upperBound)
            } else {
                verb = record.text.append(wire: UnsafeBufferPointer(rebasing: bytes[..<command.verbLength]))
                argument = record.text.append(wire: argumentOctets)
            }
            record.text.upperCaseASCII(verb)
        }
        if kept {
            record.commands.append(CommandRecord(
                verb: verb, kind: command.kind, argument: argument, frame: info.frame,
                timestamp: info.timestamp, length: info.length, replyIndex: nil,
                sentBeforePreviousReply: !pending.isEmpty,
                pipeliningAdvertised: pipeliningAdvertised))
        } else {
            record.commandsNotKept += 1
        }
        pending.append(.command(index))
        switch command.kind {
        case .helo, .ehlo:
            if kept {
                record.heloVerb = verb
                record.heloArgument = argument
            } else {
                lateCommands.helo = (command.kind, Array(argumentOctets))
            }
        case .mail:
            let (mailFrom, parameters) = pathAndParameters(after: "FROM:", in: argument)
            let size = parameters.first(where: { record.text.hasPrefixIgnoringASCIICase($0, "SIZE=") })
                .flatMap { UInt64(record.text[$0].dropFirst(5)) }
            // Made in the append: a transaction built in a variable first was copied into the list.
            record.transactions.append(TransactionRecord(
                mailFrom: mailFrom, mailFrame: info.frame,
                mailParameters: parameters, declaredSize: size))
            currentTransaction = record.transactions.count - 1
            commandTransaction[index] = currentTransaction
        case .rcpt:
            if let t = currentTransaction {
                commandTransaction[index] = t
                rcptSlot[index] = record.transactions[t].rcptTo.count
                record.transactions[t].rcptTo.append(path(after: "TO:", in: argument))
                record.transactions[t].rcptReplies.append(nil)
            }
        case .data:
            if let t = currentTransaction {
                commandTransaction[index] = t
                record.transactions[t].dataFrame = info.frame
            }
            // Held until the reply says what follows; a capture with no reply at all (one
            // side only) takes them as content at the end, or when the hold overflows.
            clientPhase = .awaitingDataReply(dataCommand: index, held: [], heldBytes: 0)
        case .bdat:
            // A malformed argument opens no chunk: no bytes are opaque after it.
            if let bdat = BDATArgument(argumentOctets) {
                let size = bdat.size, last = bdat.last
                if let t = currentTransaction {
                    commandTransaction[index] = t
                    if record.transactions[t].dataFrame == nil {
                        record.transactions[t].dataFrame = info.frame
                        // The first chunk starts with the header fields.
                        bdatInHeaders = true
                        bdatPartialLine.removeAll()
                        headerBytes = 0
                        currentHeader = nil
                    }
                    record.transactions[t].contentSent = true
                    record.transactions[t].size += size
                    if last {
                        record.transactions[t].contentComplete = true
                        record.transactions[t].endFrame = info.frame
                        record.transactions[t].endTimestamp = info.timestamp
                    }
                }
                if size > 0 {
                    if let t = currentTransaction, record.transactions[t].contentFrame == nil {
                        record.transactions[t].contentFrame = info.frame
                        record.transactions[t].contentTimestamp = info.timestamp
                    }
                    clientFramer.mode = .raw(remaining: size)
                    clientPhase = .bdatChunk(command: index, last: last)
                } else if last {
                    endOfBDATMessage()
                }
            }
        case .auth:
            if kept {
                record.authMechanism = keptMechanism(record.text[argument])
            } else {
                lateCommands.authArgument = Array(argumentOctets)
            }
        case .rset:
            currentTransaction = nil
        case .starttls:
            startTLSPending = true
        case .quit:
            quitSent = true
        default:
            break
        }
    }

    /// Line-level checks of a command line (AUTH lines may be longer: RFC 4954 §4).
    func checkCommandLine(_ info: FramedLine, bytes: UnsafeBufferPointer<UInt8>, verb: SMTPVerb) {
        let side = Direction.clientToServer
        if info.terminator == .lf { observe(.bareLF, side: side, context: .command, info: info, line: bytes) }
        if info.hasBareCR { observe(.bareCR, side: side, context: .command, info: info, line: bytes) }
        if info.length + 2 > 512 && verb != .auth {
            observe(.lineTooLong, side: side, context: .command, info: info, line: bytes,
                    fields: [.init("length", .int(info.length + 2)), .init("limit", .int(512))])
        }
        if quitSent {
            observe(.afterQuit, side: side, context: .command, info: info, line: bytes)
        }
        if startTLSPending {
            observe(.starttlsInjection, side: side, context: .command, info: info, line: bytes,
                    fields: [.init("cause", .string("pipelined_after_starttls"))])
        }
        if takeCleartextAfterTLS(&clientFramer) {
            observe(.starttlsInjection, side: side, context: .command, info: info, line: bytes,
                    fields: [.init("cause", .string("cleartext_instead_of_tls"))])
        }
    }

    /// Whether the framer found cleartext where a TLS record was due after STARTTLS (plain
    /// SMTP on the implicit-TLS port is no such case); clears the framer's flag.
    func takeCleartextAfterTLS(_ framer: inout LineFramer) -> Bool {
        guard framer.cleartextAfterTLSSniff else { return false }
        framer.cleartextAfterTLSSniff = false
        return !(record.implicitTLS && !startTLSAnswered)
    }

    func bdatChunkComplete() {
        var last = false
        if case .bdatChunk(_, let isLast) = clientPhase {
            clientPhase = .commands
            last = isLast
        }
        if duringData != nil { finishDuringData() }
        if last { endOfBDATMessage() }
    }

    /// `BDAT … LAST` was sent whole: the transaction is over for the client.
    func endOfBDATMessage() {
        if bdatInHeaders {
            if !bdatPartialLine.isEmpty { bdatPartialLine.withUnsafeBufferPointer { bdatHeaderLine($0) } }
            commitHeader()
            bdatInHeaders = false
        }
        currentTransaction = nil
    }

    /// Chunk bytes while the header fields of a BDAT message are read: split into lines (no
    /// dot-stuffing in BDAT) and handed to the header parser, up to the blank line.
    func bdatHeaderBytes(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        while bdatInHeaders, start < bytes.count {
            if let newline = bytes[start...].firstIndex(of: 0x0A) {
                if bdatPartialLine.count < limits.headerKeep { bdatPartialLine += bytes[start..<newline].prefix(limits.headerKeep - bdatPartialLine.count) }
                if bdatPartialLine.last == 0x0D { bdatPartialLine.removeLast() }
                bdatPartialLine.withUnsafeBufferPointer { bdatHeaderLine($0) }
                bdatPartialLine.removeAll(keepingCapacity: true)
                start = newline + 1
            } else {
                if bdatPartialLine.count < limits.headerKeep { bdatPartialLine += bytes[start...].prefix(limits.headerKeep - bdatPartialLine.count) }
                return
            }
        }
    }

    func bdatHeaderLine(_ line: UnsafeBufferPointer<UInt8>) {
        headerBytes += line.count
        if line.isEmpty || headerBytes > limits.maxHeaderBytes {
            commitHeader()
            bdatInHeaders = false
            return
        }
        headerField(line)
    }

    // MARK: - Message content

    func contentLine(_ info: FramedLine, bytes: UnsafeBufferPointer<UInt8>, dataCommand: Int, inHeaders: Bool) {
        if let t = currentTransaction, record.transactions[t].contentFrame == nil {
            record.transactions[t].contentFrame = info.frame
            record.transactions[t].contentTimestamp = info.timestamp
        }
        let isDot = info.length == 1 && bytes.first == 0x2E
        let previous = previousContentTerminator
        previousContentTerminator = info.terminator
        if isDot && info.terminator == .crlf && previous == .crlf {
            endOfMessage(info, dataCommand: dataCommand)
            return
        }
        if info.terminator == .none {
            // The stream ended inside the message.
            addContentSize(info.length - (bytes.first == 0x2E ? 1 : 0))
            return
        }
        if let sequence = ambiguousEnd(isDot: isDot, terminator: info.terminator, previous: previous, hasCRDotCR: info.hasCRDotCR) {
            noteAmbiguousEnd(sequence, info: info, dataCommand: dataCommand)
        } else {
            if info.terminator == .lf { observe(.bareLF, side: .clientToServer, context: .content, info: info, line: nil) }
            if info.hasBareCR { observe(.bareCR, side: .clientToServer, context: .content, info: info, line: nil) }
        }
        if info.length + 2 > 1000 {
            observe(.lineTooLong, side: .clientToServer, context: .content, info: info, line: UnsafeBufferPointer(rebasing: bytes.prefix(80)),
                    fields: [.init("length", .int(info.length + 2)), .init("limit", .int(1000))])
        }
        let stuffed = bytes.first == 0x2E ? 1 : 0
        addContentSize(info.length - stuffed + 2)
        guard inHeaders else { return }
        headerLine(info, bytes: bytes, dataCommand: dataCommand)
    }

    func addContentSize(_ n: Int) {
        if let t = currentTransaction { record.transactions[t].size += UInt64(max(0, n)) }
    }

    /// `<CRLF>.<CRLF>`: the message ends (for the strict reading, too, if it was ambiguous).
    func endOfMessage(_ info: FramedLine, dataCommand: Int) {
        commitHeader()
        if case .afterAmbiguousEnd(_, let ambiguity, let held, _) = clientPhase {
            // No reply came between: the server read on, the strict way.
            record.observations[ambiguity.observation]["server_reading"] = .string("strict")
            record.observations[ambiguity.observation]["strict_end_frame"] = .int(Int(info.frame))
            if let t = currentTransaction {
                record.observations[ambiguity.observation]["strict_message_bytes"] = .int(Int(record.transactions[t].size))
            }
            recordLenientCommands(Array(held.dropLast()), in: ambiguity.observation)
        }
        if let t = currentTransaction {
            record.transactions[t].contentComplete = true
            record.transactions[t].endFrame = info.frame
            record.transactions[t].endTimestamp = info.timestamp
        }
        finishDuringData()
        pending.append(.endOfData(dataCommand))
        clientPhase = .commands
        clientFramer.keepLimit = limits.commandKeep
        if clientFramer.mode == .body { clientFramer.mode = .lines }
        // The transaction is over for the client; what follows belongs to the next MAIL.
        currentTransaction = nil
    }

    /// The end-of-data sequences that a lenient receiver accepts and a strict one does not
    /// (CVE-2023-51764/51765/51766), named as the catalogue names them.
    func ambiguousEnd(isDot: Bool, terminator: LineTerminator, previous: LineTerminator, hasCRDotCR: Bool) -> String? {
        if isDot && terminator == .lf { return previous == .lf ? "<LF>.<LF>" : "<CR><LF>.<LF>" }
        if isDot && terminator == .crlf && previous == .lf { return "<LF>.<CR><LF>" }
        if hasCRDotCR { return "<CR>.<CR>" }
        return nil
    }

    func noteAmbiguousEnd(_ sequence: String, info: FramedLine, dataCommand: Int) {
        guard case .content = clientPhase else {
            // A second ambiguity while one is pending: counted on the first.
            if case .afterAmbiguousEnd(_, let a, _, _) = clientPhase { record.observations[a.observation].count += 1 }
            return
        }
        let size = currentTransaction.map { record.transactions[$0].size } ?? 0
        guard let index = observe(.smuggling, side: .clientToServer, context: .content, info: info, line: nil,
                                  fields: [.init("sequence", .string(sequence)), .init("lenient_message_bytes", .int(Int(size)))],
                                  fold: false)
        else { return }
        commitHeader()
        clientPhase = .afterAmbiguousEnd(
            dataCommand: dataCommand, ambiguity: AmbiguousEnd(observation: index, lenientSize: size, frame: info.frame),
            held: [], heldBytes: 0)
        clientFramer.keepLimit = limits.commandKeep  // the lines after it may be commands
        if clientFramer.mode == .body { clientFramer.mode = .lines }
    }

    /// What a lenient receiver would have taken as commands after the ambiguous end.
    func recordLenientCommands(_ held: [HeldLine], in observation: Int) {
        var verbs: [String] = []
        for line in held.prefix(32) {
            let kind = line.bytes.withUnsafeBufferPointer { CommandLineParts($0).kind }
            if kind != .other { verbs.append(kind.name) }
        }
        record.observations[observation]["lenient_commands_after"] = .strings(verbs)
        record.observations[observation]["lenient_lines_after"] = .int(held.count)
    }

    /// The server answered while the strict reading was still inside the message: it took the
    /// lenient reading. The message ended at the ambiguous sequence and the held lines were
    /// commands.
    func adoptLenientReading(dataCommand: Int, ambiguity: AmbiguousEnd, held: [HeldLine]) {
        record.observations[ambiguity.observation]["server_reading"] = .string("lenient")
        recordLenientCommands(held, in: ambiguity.observation)
        if let t = currentTransaction {
            record.observations[ambiguity.observation]["strict_message_bytes"] = .int(Int(record.transactions[t].size))
            record.transactions[t].size = ambiguity.lenientSize
            record.transactions[t].contentComplete = true
        }
        pending.append(.endOfData(dataCommand))
        clientFramer.keepLimit = limits.commandKeep
        if clientFramer.mode == .body { clientFramer.mode = .lines }
        replayHeldAsCommands(held)
    }

    // MARK: - Header fields

    func headerLine(_ info: FramedLine, bytes: UnsafeBufferPointer<UInt8>, dataCommand: Int) {
        if info.length == 0 {
            commitHeader()
            clientPhase = .content(dataCommand: dataCommand, inHeaders: false)
            clientFramer.keepLimit = 2  // the body is counted, not kept
            clientFramer.mode = .body
            return
        }
        headerBytes += info.length
        if headerBytes > limits.maxHeaderBytes {
            commitHeader()
            clientPhase = .content(dataCommand: dataCommand, inHeaders: false)
            clientFramer.keepLimit = 2
            clientFramer.mode = .body
            return
        }
        headerField(bytes)
    }

    /// One line of the header section: a new field, or the folded continuation of one.
    func headerField(_ bytes: UnsafeBufferPointer<UInt8>) {
        if let first = bytes.first, first == 0x20 || first == 0x09 {
            // A folded continuation of the previous field (RFC 5322 §2.2.3).
            if currentHeader != nil, headerValue.count < 998 {
                headerValue.append(0x20)
                SessionText.appendRepairing(UnsafeBufferPointer(rebasing: bytes[spaceTrimmedRange(bytes)]), to: &headerValue)
            }
            return
        }
        commitHeader()
        guard let colon = bytes.firstIndex(of: 0x3A), let field = Self.reportedHeader(named: bytes[..<colon]) else { return }
        currentHeader = field
        headerValue.removeAll(keepingCapacity: true)
        SessionText.appendRepairing(UnsafeBufferPointer(rebasing: bytes[spaceTrimmedRange(bytes, from: colon + 1)]), to: &headerValue)
    }

    func commitHeader() {
        guard let field = currentHeader.take(), let t = currentTransaction else { return }
        // Only the five fields the record keeps are cut and decoded, each the first time it
        // appears; the headers are changed in place (a copy of them per field adds up).
        switch field {
        case .date:
            if record.transactions[t].headers.date == nil { record.transactions[t].headers.date = keepHeaderValue() }
        case .from:
            if record.transactions[t].headers.from == nil { record.transactions[t].headers.from = keepHeaderValue(decoded: true) }
        case .to:
            if record.transactions[t].headers.to == nil { record.transactions[t].headers.to = keepHeaderValue(decoded: true) }
        case .subject:
            if record.transactions[t].headers.subject == nil {
                let raw = keepHeaderValue()
                record.transactions[t].headers.subjectRaw = raw
                let mayBeEncoded = record.text.withOctets(raw) { EncodedWords.mayContainWord($0) }
                record.transactions[t].headers.subject = mayBeEncoded ? record.text.append(EncodedWords.decode(record.text[raw])) : raw
            }
        case .messageID:
            if record.transactions[t].headers.messageID == nil { record.transactions[t].headers.messageID = keepHeaderValue() }
        }
    }

    /// The header value read, at most 998 characters, copied into the record's text (with
    /// RFC 2047 encoded words decoded when `decoded`). Nearly every value is short enough by
    /// its octet count and has no "=?": its octets go in as they are, no `String` made.
    func keepHeaderValue(decoded: Bool = false) -> TextRef {
        // Moved out while it is read (and back after): read in place while the record's text
        // grows, the buffer was retained and released around it, two atomic operations on a
        // line that is usually cold.
        var value: [UInt8] = []
        swap(&value, &headerValue)
        defer { swap(&value, &headerValue) }
        return value.withUnsafeBufferPointer { value in
            if value.count <= 998 && !(decoded && EncodedWords.mayContainWord(value)) { return record.text.append(valid: value) }
            let limited = String(decoding: value, as: UTF8.self).limited(to: 998)
            return record.text.append(decoded ? EncodedWords.decode(limited) : limited)
        }
    }

    // MARK: - Helpers

    /// AUTH's mechanism as the record keeps it: upper-cased (as Unicode text, as it always
    /// was), in the record's text.
    func keptMechanism(_ argument: String) -> TextRef {
        record.text.append(argument.uppercased())
    }

    /// Counts a line skipped after a gap, or notes where decoding resumed.
    func noteResync(side: Direction, skipped: Bool, frame: UInt64) {
        guard let i = record.resynchronisations.lastIndex(where: { $0.side == side && $0.resumedFrame == nil && !$0.inMessage })
        else { return }
        if skipped {
            record.resynchronisations[i].skippedLines += 1
        } else {
            record.resynchronisations[i].resumedFrame = frame
        }
    }

    /// The path of `MAIL FROM:<a@b> SIZE=1` or `RCPT TO:<a@b>`: `a@b` without brackets, a part
    /// of the argument's text.
    func path(after prefix: StaticString, in argument: TextRef) -> TextRef {
        let path = record.text.withOctets(argument) { Self.pathBounds(after: prefix, in: $0).path }
        return argument.part(path.lowerBound, path.upperBound)
    }

    /// Where the path lies in an argument's octets (without its brackets) and where what
    /// follows it starts. On octets: `<`, `>` and spaces are ASCII, so cutting there keeps
    /// UTF-8 whole.
    static func pathBounds(after prefix: StaticString, in octets: UnsafeBufferPointer<UInt8>) -> (path: Range<Int>, rest: Int) {
        var start = skipPrefix(prefix, in: octets)
        while start < octets.count, octets[start] == 0x20 { start += 1 }
        if start < octets.count, octets[start] == UInt8(ascii: "<"),
            let close = octets[start...].firstIndex(of: UInt8(ascii: ">"))
        {
            return (start + 1..<close, close + 1)
        }
        let end = octets[start...].firstIndex(of: 0x20) ?? octets.count
        return (start..<end, end)
    }

    /// Where the text after `prefix` (ASCII, compared without case) starts: 0 without it.
    static func skipPrefix(_ prefix: StaticString, in octets: UnsafeBufferPointer<UInt8>) -> Int {
        hasASCIIPrefix(octets, prefix) ? prefix.utf8CodeUnitCount : 0
    }

    /// The path (as `path(after:in:)`) and the ESMTP parameters after it (`SIZE=1000`,
    /// `BODY=8BITMIME`, `SMTPUTF8`…, at most 16), parts of the argument's text, in one walk:
    /// the words are cut at ASCII spaces only.
    func pathAndParameters(after prefix: StaticString, in argument: TextRef) -> (path: TextRef, parameters: [TextRef]) {
        record.text.withOctets(argument) { octets in
            let (path, rest) = Self.pathBounds(after: prefix, in: octets)
            var i = rest
            var words: [TextRef] = []
            while words.count < 16 {
                let word = nextSpaceDelimitedWord(octets, from: &i)
                guard !word.isEmpty else { break }
                words.append(argument.part(word.lowerBound, word.upperBound))
            }
            return (argument.part(path.lowerBound, path.upperBound), words)
        }
    }
}
