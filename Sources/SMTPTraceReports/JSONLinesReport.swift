import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTracePackets
import SMTPTraceSMTP
import SMTPTraceTCP

/// The `--json` output: one object per line, `session` records, `finding` records and a
/// closing `summary`, with the shapes of the README's schema. Wire text is escaped by
/// `JSONWriter`; AUTH credentials never reach a record in the first place. Records are written
/// straight into the writer's bytes, with no value tree in between.
public enum JSONLinesReport {
    /// A session's record and, one per line after it, its findings.
    public static func writeSession(_ s: SMTPSessionRecord, findings: [Finding], to out: JSONWriter) {
        sessionRecord(s, findings: findings, to: out)
        out.newline()
        for f in findings {
            findingRecord(f, to: out)
            out.newline()
        }
    }

    /// One finding per line.
    public static func writeFindings(_ findings: [Finding], to out: JSONWriter) {
        for f in findings {
            findingRecord(f, to: out)
            out.newline()
        }
    }

    /// The closing summary line.
    public static func writeSummary(_ r: AnalysisResult, inputs: [String], to out: JSONWriter) {
        summaryRecord(r, inputs: inputs, to: out)
        out.newline()
    }

    static func sessionRecord(_ s: SMTPSessionRecord, findings: [Finding], to out: JSONWriter) {
        s.text.octets.withUnsafeBufferPointer { text in sessionRecord(s, text: text, findings: findings, to: out) }
    }

    /// `text`: the record's text octets, which its `TextRef`s name.
    static func sessionRecord(_ s: SMTPSessionRecord, text: UnsafeBufferPointer<UInt8>, findings: [Finding], to out: JSONWriter) {
        out.beginObject()
        out.key("type"); out.constant("session")
        out.key("id"); out.int(s.id)
        out.key("client"); endpoint(s.client, to: out)
        out.key("server"); endpoint(s.server, to: out)
        out.key("start"); out.timestamp(s.start)
        out.key("end"); out.timestamp(s.end)
        out.key("duration"); out.microseconds(s.duration)
        out.key("first_frame"); out.int(s.firstFrame)
        out.key("last_frame"); out.int(s.lastFrame)
        out.key("detected_by"); out.string(s.detectedBy.rawValue)
        out.key("tunnel"); out.string(s.tunnel)
        out.key("midstream"); out.bool(s.midstream)
        out.key("greeting"); out.int(s.greeting)
        out.key("helo")
        if let verb = s.heloVerb {
            out.beginObject()
            out.key("verb"); out.string(verb, in: text)
            out.key("argument"); out.string(s.heloArgument, in: text)
            out.endObject()
        } else {
            out.null()
        }
        out.key("extensions"); out.strings(s.extensions, in: text)
        out.key("tls"); out.bool(s.tls)
        out.key("tls_decrypted"); out.bool(s.tlsDecrypted)
        out.key("auth"); out.string(s.authMechanism, in: text)
        out.key("transactions")
        out.beginArray()
        // Read in place: indexing would copy (and retain) each transaction's lists.
        s.transactions.withUnsafeBufferPointer { transactions in
            for i in transactions.indices { transaction(transactions[i], text: text, to: out) }
        }
        out.endArray()
        out.key("messages"); out.int(s.messageCount)
        out.key("message_bytes"); out.int(s.messageBytes)
        out.key("last_reply"); out.int(s.lastReplyCode)
        out.key("replies")
        out.beginObject()
        // Codes in ascending order with their counts, without a dictionary or an array per
        // session (sorted in a buffer on the stack).
        let replyList = s.replies, commandList = s.commands
        withUnsafeTemporaryAllocation(of: Int.self, capacity: replyList.count) { buffer in
            var codes = buffer
            replyList.withUnsafeBufferPointer { replies in
                for i in replies.indices { codes[i] = replies[i].code }
            }
            codes.sort()
            var next = 0
            while next < codes.count {
                var end = next + 1
                while end < codes.count && codes[end] == codes[next] { end += 1 }
                out.intKey(codes[next]); out.int(end - next)
                next = end
            }
        }
        out.endObject()
        out.key("close"); out.string(s.close.rawValue)
        out.key("bytes"); clientServer(s.bytes, to: out)
        out.key("gap_bytes"); clientServer(s.gapBytes, to: out)
        out.key("tcp")
        if let tcp = s.tcp { tcpEvidence(tcp.summary, to: out) } else { out.null() }
        out.key("findings")
        out.beginArray()
        var written: [FindingKind] = []
        for f in findings where !written.contains(f.kind) {
            written.append(f.kind)
            out.string(f.kind.id)
        }
        out.endArray()
        // Elements read in place through buffers. The lists were taken out of the record
        // above: closures that read `s` itself made a copy of all of it.
        replyList.withUnsafeBufferPointer { replies in
            out.key("commands")
            out.beginArray()
            commandList.withUnsafeBufferPointer { commands in
                for command in commands.indices {
                    // Unchecked buffer indexing: an index is used only if it is in range.
                    let reply = commands[command].replyIndex.flatMap { replies.indices.contains($0) ? $0 : nil }
                    out.beginObject()
                    out.key("frame"); out.int(commands[command].frame)
                    out.key("time"); out.timestamp(commands[command].timestamp)
                    out.key("verb"); out.string(commands[command].verb, in: text)
                    out.key("argument"); out.string(commands[command].argument, in: text)
                    out.key("reply"); out.int(reply.map { replies[$0].code })
                    out.key("reply_frame"); out.int(reply.map { replies[$0].frame })
                    out.endObject()
                }
            }
            out.endArray()
            out.key("reply_sequence")
            out.beginArray()
            for i in replies.indices {
                out.beginObject()
                out.key("frame"); out.int(replies[i].frame)
                out.key("time"); out.timestamp(replies[i].timestamp)
                out.key("code"); out.int(replies[i].code)
                out.key("enhanced"); out.string(replies[i].enhancedCode, in: text)
                out.key("text"); out.string(replies[i].text, in: text)
                out.key("lines"); out.int(replies[i].lineCount)
                out.key("packets"); out.int(replies[i].packetCount)
                out.key("answers"); out.constant(answerLabel(replies[i].target))
                out.endObject()
            }
        }
        out.endArray()
        out.endObject()
    }

    static func side(_ d: Direction) -> StaticString { d == .clientToServer ? "client" : "server" }

    static func clientServer(_ counts: DirectionCounts, to out: JSONWriter) {
        out.beginObject()
        out.key("client"); out.int(counts.clientToServer)
        out.key("server"); out.int(counts.serverToClient)
        out.endObject()
    }

    /// The TCP layer's evidence of a session: handshake, FINs, reset, gaps, counters.
    static func tcpEvidence(_ t: TCPConnectionSummary, to out: JSONWriter) {
        out.beginObject()
        out.key("handshake"); out.bool(t.handshakeCompleted)
        out.key("midstream"); out.bool(t.midstream)
        out.key("fins")
        out.beginArray()
        for fin in t.fins {
            tcpEvent(sideKey: "by", fin.side, frame: fin.frame, to: out)
            out.key("time"); out.timestamp(fin.timestamp)
            out.endObject()
        }
        out.endArray()
        out.key("reset")
        if let reset = t.reset {
            tcpEvent(sideKey: "by", reset.side, frame: reset.frame, to: out)
            out.key("payload_bytes"); out.int(reset.payloadBytes)
            out.endObject()
        } else {
            out.null()
        }
        out.key("gaps")
        out.beginArray()
        for gap in t.gaps {
            tcpEvent(sideKey: "side", gap.side, frame: gap.frame, to: out)
            out.key("missing_bytes"); out.int(gap.missingBytes)
            out.endObject()
        }
        out.endArray()
        out.key("bytes_after_fin"); clientServer(t.bytesAfterPeerFIN, to: out)
        out.key("retransmitted_segments"); out.int(t.counters.retransmittedSegments)
        out.key("out_of_order_segments"); out.int(t.counters.outOfOrderSegments)
        out.key("conflicting_segments"); out.int(t.counters.conflictingSegments)
        out.key("ignored_resets"); out.int(t.ignoredResets)
        out.endObject()
    }

    /// Opens a FIN, reset or gap object with the side it came from and its frame; the caller
    /// adds its own member and closes it.
    static func tcpEvent(sideKey: StaticString, _ d: Direction, frame: UInt64, to out: JSONWriter) {
        out.beginObject()
        out.key(sideKey); out.constant(side(d))
        out.key("frame"); out.int(frame)
    }

    static func answerLabel(_ target: ReplyTarget) -> StaticString {
        switch target {
        case .greeting: "greeting"
        case .command: "command"
        case .endOfData: "end_of_data"
        case .authExchange: "auth"
        case .lostCommand: "lost_command"
        case .duringData: "during_data"
        case .unsolicited: "unsolicited"
        }
    }

    static func endpoint(_ e: Endpoint, to out: JSONWriter) {
        out.beginObject()
        out.key("ip"); out.address(e.address)
        out.key("port"); out.int(e.port)
        out.endObject()
    }

    /// Declared to release nothing it did not retain itself (in the sense explained at
    /// `JSONWriter.appendEscaped`, which holds for every writer call it makes): the session
    /// record's transactions are then written where they lie, not copied (and each of their
    /// lists retained and released) first. A writer call that released what its
    /// caller holds would make this declaration false too.
    @_effects(releasenone)
    static func transaction(_ t: TransactionRecord, text: UnsafeBufferPointer<UInt8>, to out: JSONWriter) {
        out.beginObject()
        out.key("mail_from"); out.string(t.mailFrom, in: text)
        out.key("mail_frame"); out.int(t.mailFrame)
        out.key("mail_reply"); out.int(t.mailReply)
        out.key("mail_parameters"); out.strings(t.mailParameters, in: text)
        out.key("rcpt_to"); out.strings(t.rcptTo, in: text)
        out.key("rcpt_replies")
        out.beginArray()
        for reply in t.rcptReplies { out.int(reply) }
        out.endArray()
        out.key("size"); out.int(t.size)
        out.key("complete"); out.bool(t.contentComplete)
        out.key("reply"); out.int(t.reply)
        out.key("reply_frame"); out.int(t.replyFrame)
        out.key("date"); out.string(t.headers.date, in: text)
        out.key("from"); out.string(t.headers.from, in: text)
        out.key("to"); out.string(t.headers.to, in: text)
        out.key("subject"); out.string(t.headers.subject, in: text)
        out.key("subject_raw"); out.string(t.headers.subjectRaw, in: text)
        out.key("message_id"); out.string(t.headers.messageID, in: text)
        out.endObject()
    }

    static func findingRecord(_ f: Finding, to out: JSONWriter) {
        out.beginObject()
        out.key("type"); out.constant("finding")
        out.key("id"); out.string(f.kind.id)
        out.key("severity"); out.string(f.severity.description)
        out.key("session"); out.int(f.session)
        out.key("party"); out.string(f.party.rawValue)
        out.key("frame"); out.int(f.frame)
        out.key("time"); out.timestamp(f.timestamp)
        out.key("message"); out.string(f.message)
        out.key("rfc"); out.string(f.kind.reference)
        out.key("line"); out.string(f.line.map { $0.limited(to: 512) })
        for (key, value) in f.evidence {
            out.dataKey(key)
            switch value {
            case .int(let i): out.int(i)
            case .string(let s): out.string(s)
            case .bool(let b): out.bool(b)
            case .double(let d): out.double(d)
            }
        }
        out.endObject()
    }

    static func summaryRecord(_ r: AnalysisResult, inputs: [String], to out: JSONWriter) {
        out.beginObject()
        out.key("type"); out.string("summary")
        out.key("inputs"); out.strings(inputs)
        out.key("packets"); out.int(r.packets.frames)
        out.key("bytes"); out.int(r.packets.bytes)
        out.key("first")
        if let first = r.packets.firstTimestamp { out.timestamp(first) } else { out.null() }
        out.key("last")
        if let last = r.packets.lastTimestamp { out.timestamp(last) } else { out.null() }
        out.key("link_types"); out.strings(r.packets.linkTypes.sorted { $0.rawValue < $1.rawValue }.map(\.name))
        out.key("tcp_segments"); out.int(r.packets.tcpSegments)
        out.key("skipped")
        out.beginObject()
        for reason in SkipReason.allCases {
            if let count = r.packets.skipped[reason] { out.dataKey(reason.label); out.int(count) }
        }
        out.endObject()
        out.key("tcp_connections"); out.int(r.tcp.connections)
        out.key("smtp_port_connections"); out.int(r.connectionsOnSMTPPorts)
        out.key("sessions"); out.int(r.totals.sessions)
        out.key("messages"); out.int(r.totals.messages)
        out.key("closes")
        out.beginObject()
        for close in SessionClose.allCases {
            if let n = r.totals.closes[close], n > 0 { out.dataKey(close.rawValue); out.int(n) }
        }
        out.endObject()
        out.key("findings")
        out.beginObject()
        for kind in FindingKind.allCases {
            if let count = r.findingCounts[kind] { out.dataKey(kind.id); out.int(count) }
        }
        out.endObject()
        out.key("evicted"); out.int(r.tcp.evicted)
        out.key("retransmitted_segments"); out.int(r.tcp.reassembly.retransmittedSegments)
        out.key("conflicting_segments"); out.int(r.tcp.reassembly.conflictingSegments)
        out.key("ignored_resets"); out.int(r.tcp.ignoredResets)
        out.key("out_of_order_segments"); out.int(r.tcp.reassembly.outOfOrderSegments)
        out.key("gaps"); out.int(r.tcp.reassembly.gaps)
        out.key("gap_bytes"); out.int(r.tcp.reassembly.gapBytes)
        out.key("drops"); out.int(r.droppedPackets)
        out.key("warnings"); out.strings(r.warnings.map(\.description))
        out.endObject()
    }

    /// The whole report for a finished analysis: sessions (each followed by its findings),
    /// then findings not tied to a session, then the summary.
    public static func render(_ r: AnalysisResult, inputs: [String]) -> String {
        let out = JSONWriter()
        for session in r.sessions {
            writeSession(session, findings: r.findings.filter { $0.session == session.id }, to: out)
        }
        writeFindings(r.findings.filter { $0.session == nil }, to: out)
        writeSummary(r, inputs: inputs, to: out)
        return out.text
    }
}

extension JSONWriter {
    /// A piece of a session record's text, read where the record keeps it (`text`, the
    /// record's text octets): no `String` made.
    @inline(__always)
    func string(_ ref: TextRef, in text: UnsafeBufferPointer<UInt8>) {
        string(utf8: SessionText.octets(of: ref, in: text))
    }

    @inline(__always)
    func string(_ ref: TextRef?, in text: UnsafeBufferPointer<UInt8>) {
        if let ref { string(ref, in: text) } else { null() }
    }

    func strings(_ refs: [TextRef], in text: UnsafeBufferPointer<UInt8>) {
        beginArray()
        for ref in refs { string(ref, in: text) }
        endArray()
    }
}
