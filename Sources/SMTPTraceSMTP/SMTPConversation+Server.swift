import SMTPTraceCapture
import SMTPTraceTCP

/// The server side of the dialogue: reply lines, multi-line replies, and pairing each reply
/// with what it answers.
extension SMTPConversation {
    /// Reply codes that answer one command only.
    static func onlyAnswers(_ code: Int) -> SMTPVerb? {
        switch code {
        case 354: .data
        case 334: .auth
        case 221: .quit
        default: nil
        }
    }

    func serverLine(_ info: FramedLine, bytes: UnsafeBufferPointer<UInt8>) {
        let side = Direction.serverToClient
        if takeCleartextAfterTLS(&serverFramer) {
            observe(.starttlsInjection, side: side, context: .reply, info: info, line: bytes,
                    fields: [.init("cause", .string("server_cleartext_after_220"))])
        }
        if info.terminator == .lf { observe(.bareLF, side: side, context: .reply, info: info, line: bytes) }
        if info.hasBareCR { observe(.bareCR, side: side, context: .reply, info: info, line: bytes) }
        if info.length + 2 > 512 {
            observe(.lineTooLong, side: side, context: .reply, info: info, line: bytes,
                    fields: [.init("length", .int(info.length + 2)), .init("limit", .int(512))])
        }
        if quitAcknowledged {
            observe(.afterQuit, side: side, context: .reply, info: info, line: bytes)
        }
        guard let line = SMTPReplyLine.parse(bytes) else {
            record.undecodedLines += 1
            if resyncServer { noteResync(side: side, skipped: true, frame: info.frame) }
            if !resyncServer && info.terminator != .none {
                observe(.badReply, side: side, context: .reply, info: info, line: bytes,
                        fields: [.init("cause", .string("malformed"))])
            }
            return
        }
        // After a gap the partial reply was dropped; the next reply line starts afresh.
        if resyncServer { noteResync(side: side, skipped: false, frame: info.frame) }
        resyncServer = false
        if clientLineDuringPartialReply, let code = partialReply?.code, line.code != code, var partial = partialReply.take() {
            // The multi-line reply was never terminated and the client has spoken since:
            // this line starts the answer to something new.
            partial.inconsistent = true
            completeReply(partial)
        }
        if partialReply != nil {
            // Changed in place, field by field.
            partialReply!.lines += 1
            if line.code != partialReply!.code { partialReply!.inconsistent = true }
            if info.frame != partialReply!.lastFrame {
                partialReply!.packets += 1
                partialReply!.lastFrame = info.frame
            }
            if partialReply!.lines <= 65 {
                if replyLines.capacity == 0 { replyLines.reserveCapacity(8) }  // an EHLO reply's usual count
                // Trimmed as octets, then repaired (spaces and tabs are whole characters in any
                // UTF-8, so this is the decoded text trimmed).
                let kept = spaceTrimmedRange(bytes, from: line.textStart)
                if !kept.isEmpty {
                    let start = replyLineOctets.count
                    SessionText.appendRepairing(UnsafeBufferPointer(rebasing: bytes[kept]), to: &replyLineOctets)
                    replyLines.append(start..<replyLineOctets.count)
                    replyLinesMayBeKept = true
                }
            }
        } else {
            clientLineDuringPartialReply = false
            if replyLinesMayBeKept {
                replyLines.removeAll(keepingCapacity: true)
                replyLineOctets.removeAll(keepingCapacity: true)
                replyLinesMayBeKept = false
            }
            let textOctets = UnsafeBufferPointer(rebasing: bytes[line.textStart...])
            let text = record.text.append(wire: textOctets)
            // The code is ASCII digits and dots: the same octets at the start of the text kept
            // (when it was kept: past the text's limit a piece is empty).
            let enhancedCode = enhancedStatusCodeLength(octets: textOctets, replyCode: line.code)
                .flatMap { $0 <= text.count ? text.part(0, $0) : nil }
            let reply = PartialReply(code: line.code, text: text, enhancedCode: enhancedCode, frame: info.frame,
                                     timestamp: info.timestamp, lines: 1, packets: 1, lastFrame: info.frame,
                                     inconsistent: false)
            // A one-line reply (most are) is complete at once and never stored: stored and
            // taken back, it was read in 16-octet loads straight after its fields were
            // written one by one, loads the processor cannot serve from those stores.
            guard !line.isLast else { return completeReply(reply) }
            partialReply = reply
        }
        if line.isLast, let reply = partialReply.take() {  // moved out, not copied
            completeReply(reply)
        }
    }

    /// The message's DATA command index while its content (or a BDAT chunk) is still in transit.
    var dataInTransit: Int? {
        switch clientPhase {
        case .content(let data, _): return data
        case .afterAmbiguousEnd: return nil  // handled as the lenient reading
        case .bdatChunk(let command, _):
            if case .raw = clientFramer.mode { return command }
            return nil
        default: return nil
        }
    }

    func completeReply(_ partial: PartialReply) {
        if case .afterAmbiguousEnd(let data, let ambiguity, let held, _) = clientPhase {
            adoptLenientReading(dataCommand: data, ambiguity: ambiguity, held: held)
        }
        let target: ReplyTarget
        let greetingCode = partial.code == 220 || partial.code == 554 || partial.code == 421
        var frontIsStartTLS = false
        if case .command(let i)? = pending.first, i < record.commands.count, record.commands[i].kind == .starttls {
            frontIsStartTLS = true
        }
        let inTransit = dataInTransit
        if !greetingSeen && greetingCode && !frontIsStartTLS {
            target = .greeting
        } else if let data = inTransit, pending.first != .command(data) {
            // Nothing of the client's is awaiting a reply but the message it is sending.
            target = .duringData(data)
        } else if let verb = Self.onlyAnswers(partial.code), let match = pendingCommand(verb, behindFront: true) {
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
            code: partial.code, enhancedCode: partial.enhancedCode,
            text: record.text.limited(partial.text, to: 512), lineCount: partial.lines, packetCount: partial.packets,
            frame: partial.frame, timestamp: partial.timestamp, target: target,
            inconsistentCodes: partial.inconsistent))
        if partial.inconsistent {
            observe(.badReply, side: .serverToClient, context: .reply, frame: partial.frame, timestamp: partial.timestamp,
                    line: record.text[partial.text].limited(to: 200),
                    fields: [.init("cause", .string("codes_differ")), .init("reply_code", .int(partial.code))])
        }
        if let data = inTransit { noteReplyDuringData(partial, dataCommand: data) }
        apply(partial, replyIndex: replyIndex, to: target)
    }

    /// A reply while the message (or a BDAT chunk) was still arriving: one observation per
    /// message, listing every such reply's code.
    func noteReplyDuringData(_ partial: PartialReply, dataCommand data: Int) {
        if let d = duringData {
            var codes: [String] = []
            if case .strings(let c)? = record.observations[d.observation]["reply_codes"] { codes = c }
            record.observations[d.observation]["reply_codes"] = .strings(codes + [String(partial.code)])
        } else if let index = observe(
            .replyDuringData, side: .serverToClient, context: .reply, frame: partial.frame,
            timestamp: partial.timestamp, line: String(partial.code) + " " + record.text[partial.text],
            fields: [
                .init("reply_code", .int(partial.code)), .init("reply_codes", .strings([String(partial.code)])),
                .init("command_frame", .int(data < record.commands.count ? Int(record.commands[data].frame) : 0)),
                .init("bdat", .bool(data < record.commands.count && record.commands[data].kind == .bdat)),
            ], fold: false)
        {
            duringData = (index, record.bytes.clientToServer)
        }
    }

    /// What a reply changes in the dialogue, by what it answers.
    func apply(_ partial: PartialReply, replyIndex: Int, to target: ReplyTarget) {
        let positive = (200..<400).contains(partial.code)
        switch target {
        case .greeting, .unsolicited, .lostCommand:
            if target == .greeting { record.greeting = partial.code }
        case .duringData(let data):
            if let t = commandTransaction[data], record.transactions[t].reply == nil {
                record.transactions[t].reply = partial.code
                record.transactions[t].replyFrame = partial.frame
            }
        case .endOfData(let data):
            if let t = commandTransaction[data] {
                record.transactions[t].reply = partial.code
                record.transactions[t].replyFrame = partial.frame
            }
        case .authExchange(let auth):
            if partial.code == 334 { clientPhase = .authResponse(authCommand: auth) }
        case .command(let i):
            guard i < record.commands.count else { break }
            record.commands[i].replyIndex = replyIndex
            switch record.commands[i].kind {
            case .ehlo:
                if positive {
                    // Kept aside as they are (the buffers swapped, not copied), and copied into
                    // the record's text when it is finished: a session that repeats EHLO keeps
                    // only the last accepted list, as the record does.
                    swap(&replyLines, &acceptedExtensions.lines)
                    swap(&replyLineOctets, &acceptedExtensions.octets)
                    replyLinesMayBeKept = true
                    pipeliningAdvertised = acceptedExtensions.octets.withUnsafeBufferPointer { octets in
                        acceptedExtensions.lines.contains { isASCIIWord(UnsafeBufferPointer(rebasing: octets[$0]), "PIPELINING") }
                    }
                }
            case .mail:
                if let t = commandTransaction[i] { record.transactions[t].mailReply = partial.code }
            case .rcpt:
                if let t = commandTransaction[i], let slot = rcptSlot[i] {
                    record.transactions[t].rcptReplies[slot] = partial.code
                }
            case .data:
                if let t = commandTransaction[i] { record.transactions[t].dataReply = partial.code }
                if case .awaitingDataReply(let data, let held, _) = clientPhase, data == i {
                    if partial.code == 354 {
                        replayHeld(held, asContentOf: data)
                    } else {
                        replayHeldAsCommands(held)
                    }
                }
            case .bdat:
                if let t = commandTransaction[i], record.transactions[t].reply == nil,
                    record.bdatArgument(ofCommand: i)?.last == true
                {
                    record.transactions[t].reply = partial.code
                    record.transactions[t].replyFrame = partial.frame
                }
            case .auth:
                if partial.code == 334 { clientPhase = .authResponse(authCommand: i) }
            case .starttls:
                startTLSPending = false
                if partial.code == 220 {
                    startTLSAnswered = true
                    clientFramer.mode = .sniffTLS
                    serverFramer.mode = .sniffTLS
                }
            case .quit:
                if partial.code == 221 { quitAcknowledged = true }
            default:
                break
            }
        }
    }

    /// The index of the first `verb` command waiting in `pending` behind another entry (nil
    /// when it is at the front already, or when the front is an AUTH exchange step).
    func pendingCommand(_ verb: SMTPVerb, behindFront: Bool) -> Int? {
        if case .authExchange? = pending.first { return nil }
        for (position, target) in pending.enumerated() {
            guard case .command(let i) = target, i < record.commands.count else { continue }
            if record.commands[i].kind == verb { return position == 0 && behindFront ? nil : i }
        }
        return nil
    }
}
