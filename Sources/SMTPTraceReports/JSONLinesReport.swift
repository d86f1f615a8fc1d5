import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTracePackets
import SMTPTraceSMTP
import SMTPTraceTCP

/// The `--json` output: one object per line, `session` records, `finding` records and a
/// closing `summary`, with the shapes of the README's schema. Wire text is escaped by
/// `Escaping.json`; AUTH credentials never reach a record in the first place.
public enum JSONLinesReport {
    public static func sessionRecord(_ s: SMTPSessionRecord, findings: [Finding]) -> JSONValue {
        let helo: JSONValue = s.heloVerb.map {
            .object([("verb", .string($0)), ("argument", .optional(s.heloArgument))])
        } ?? .null
        var replyCounts: [(String, JSONValue)] = []
        for (code, count) in s.replyCounts.sorted(by: { $0.key < $1.key }) {
            replyCounts.append((String(code), .int(Int64(count))))
        }
        let commands: [JSONValue] = s.commands.map { c in
            let reply = c.replyIndex.map { s.replies[$0] }
            return .object([
                ("frame", .uint(c.frame)),
                ("time", .string(TimeFormatting.rfc3339(c.timestamp))),
                ("verb", .string(c.verb)),
                ("argument", .string(c.argument)),
                ("reply", .optional(reply?.code)),
                ("reply_frame", reply.map { .uint($0.frame) } ?? .null),
            ])
        }
        let replies: [JSONValue] = s.replies.map { r in
            .object([
                ("frame", .uint(r.frame)),
                ("time", .string(TimeFormatting.rfc3339(r.timestamp))),
                ("code", .int(Int64(r.code))),
                ("enhanced", .optional(r.enhancedCode)),
                ("text", .string(r.text)),
                ("lines", .int(Int64(r.lineCount))),
                ("packets", .int(Int64(r.packetCount))),
                ("answers", .string(answerLabel(r.target))),
            ])
        }
        var findingIDs: [String] = []
        for f in findings where !findingIDs.contains(f.kind.id) { findingIDs.append(f.kind.id) }
        return .object([
            ("type", .string("session")),
            ("id", .int(Int64(s.id))),
            ("client", endpoint(s.client)),
            ("server", endpoint(s.server)),
            ("start", .string(TimeFormatting.rfc3339(s.start))),
            ("end", .string(TimeFormatting.rfc3339(s.end))),
            ("duration", .double((s.duration * 1e6).rounded() / 1e6)),
            ("first_frame", .uint(s.firstFrame)),
            ("last_frame", .uint(s.lastFrame)),
            ("detected_by", .string(s.detectedBy.rawValue)),
            ("tunnel", .optional(s.tunnel)),
            ("midstream", .bool(s.midstream)),
            ("greeting", .optional(s.greeting)),
            ("helo", helo),
            ("extensions", .array(s.extensions.map { .string($0) })),
            ("tls", .bool(s.tls)),
            ("tls_decrypted", .bool(s.tlsDecrypted)),
            ("auth", .optional(s.authMechanism)),
            ("transactions", .array(s.transactions.map(transaction))),
            ("messages", .int(Int64(s.messageCount))),
            ("message_bytes", .uint(s.messageBytes)),
            ("last_reply", .optional(s.lastReplyCode)),
            ("replies", .object(replyCounts)),
            ("close", .string(s.close.rawValue)),
            ("bytes", .object([("client", .uint(s.clientBytes)), ("server", .uint(s.serverBytes))])),
            ("gap_bytes", .object([("client", .uint(s.clientGapBytes)), ("server", .uint(s.serverGapBytes))])),
            ("tcp", s.tcp.map { tcpEvidence($0.summary) } ?? .null),
            ("findings", .array(findingIDs.map { .string($0) })),
            ("commands", .array(commands)),
            ("reply_sequence", .array(replies)),
        ])
    }

    static func side(_ d: Direction) -> JSONValue { .string(d == .clientToServer ? "client" : "server") }

    /// The TCP layer's evidence of a session: handshake, FINs, reset, gaps, counters.
    static func tcpEvidence(_ t: TCPConnectionSummary) -> JSONValue {
        .object([
            ("handshake", .bool(t.handshakeCompleted)),
            ("midstream", .bool(t.midstream)),
            ("fins", .array(t.fins.map { .object([("by", side($0.side)), ("frame", .uint($0.frame)), ("time", .string(TimeFormatting.rfc3339($0.timestamp)))]) })),
            ("reset", t.reset.map { .object([("by", side($0.side)), ("frame", .uint($0.frame)), ("payload_bytes", .int(Int64($0.payloadBytes)))]) } ?? .null),
            ("gaps", .array(t.gaps.map { .object([("side", side($0.side)), ("frame", .uint($0.frame)), ("missing_bytes", .int(Int64($0.missingBytes)))]) })),
            ("bytes_after_fin", .object([("client", .uint(t.bytesAfterPeerFIN[0])), ("server", .uint(t.bytesAfterPeerFIN[1]))])),
            ("retransmitted_segments", .int(Int64(t.counters.retransmittedSegments))),
            ("out_of_order_segments", .int(Int64(t.counters.outOfOrderSegments))),
            ("conflicting_segments", .int(Int64(t.counters.conflictingSegments))),
            ("ignored_resets", .int(Int64(t.ignoredResets))),
        ])
    }

    static func answerLabel(_ target: ReplyTarget) -> String {
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

    static func endpoint(_ e: Endpoint) -> JSONValue {
        .object([("ip", .string(e.address.description)), ("port", .int(Int64(e.port)))])
    }

    static func transaction(_ t: TransactionRecord) -> JSONValue {
        .object([
            ("mail_from", .string(t.mailFrom)),
            ("mail_frame", .uint(t.mailFrame)),
            ("mail_reply", .optional(t.mailReply)),
            ("mail_parameters", .array(t.mailParameters.map { .string($0) })),
            ("rcpt_to", .array(t.rcptTo.map { .string($0) })),
            ("rcpt_replies", .array(t.rcptReplies.map { .optional($0) })),
            ("size", .uint(t.size)),
            ("complete", .bool(t.contentComplete)),
            ("reply", .optional(t.reply)),
            ("reply_frame", t.replyFrame.map { .uint($0) } ?? .null),
            ("date", .optional(t.headers.date)),
            ("from", .optional(t.headers.from)),
            ("to", .optional(t.headers.to)),
            ("subject", .optional(t.headers.subject)),
            ("subject_raw", .optional(t.headers.subjectRaw)),
            ("message_id", .optional(t.headers.messageID)),
        ])
    }

    public static func findingRecord(_ f: Finding) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("type", .string("finding")),
            ("id", .string(f.kind.id)),
            ("severity", .string(f.severity.description)),
            ("session", .optional(f.session)),
            ("party", .string(f.party.rawValue)),
            ("frame", .uint(f.frame)),
            ("time", .string(TimeFormatting.rfc3339(f.timestamp))),
            ("message", .string(f.message)),
            ("rfc", .string(f.kind.reference)),
            ("line", .optional(f.line.map { String($0.prefix(512)) })),
        ]
        for (key, value) in f.evidence {
            switch value {
            case .int(let i): fields.append((key, .int(Int64(i))))
            case .string(let s): fields.append((key, .string(s)))
            case .bool(let b): fields.append((key, .bool(b)))
            case .double(let d): fields.append((key, .double(d)))
            }
        }
        return .object(fields)
    }

    public static func summaryRecord(_ r: AnalysisResult, inputs: [String]) -> JSONValue {
        var findings: [(String, JSONValue)] = []
        for kind in FindingKind.allCases {
            if let count = r.findingCounts[kind] { findings.append((kind.id, .int(Int64(count)))) }
        }
        var skipped: [(String, JSONValue)] = []
        for reason in SkipReason.allCases {
            if let count = r.packets.skipped[reason] { skipped.append((reason.label, .uint(count))) }
        }
        let closes: [(String, JSONValue)] = SessionClose.allCases.compactMap { close in
            let n = r.totals.closes[close] ?? 0
            return n > 0 ? (close.rawValue, .int(Int64(n))) : nil
        }
        return .object([
            ("type", .string("summary")),
            ("inputs", .array(inputs.map { .string($0) })),
            ("packets", .uint(r.packets.frames)),
            ("bytes", .uint(r.packets.bytes)),
            ("first", r.packets.firstTimestamp.map { .string(TimeFormatting.rfc3339($0)) } ?? .null),
            ("last", r.packets.lastTimestamp.map { .string(TimeFormatting.rfc3339($0)) } ?? .null),
            ("link_types", .array(r.packets.linkTypes.sorted { $0.rawValue < $1.rawValue }.map { .string($0.name) })),
            ("tcp_segments", .uint(r.packets.tcpSegments)),
            ("skipped", .object(skipped)),
            ("tcp_connections", .uint(r.tcp.connections)),
            ("smtp_port_connections", .int(Int64(r.connectionsOnSMTPPorts))),
            ("sessions", .int(Int64(r.totals.sessions))),
            ("messages", .int(Int64(r.totals.messages))),
            ("closes", .object(closes)),
            ("findings", .object(findings)),
            ("evicted", .uint(r.tcp.evicted)),
            ("retransmitted_segments", .int(Int64(r.tcp.reassembly.retransmittedSegments))),
            ("conflicting_segments", .int(Int64(r.tcp.reassembly.conflictingSegments))),
            ("ignored_resets", .uint(r.tcp.ignoredResets)),
            ("out_of_order_segments", .int(Int64(r.tcp.reassembly.outOfOrderSegments))),
            ("gaps", .int(Int64(r.tcp.reassembly.gaps))),
            ("gap_bytes", .int(Int64(r.tcp.reassembly.gapBytes))),
            ("drops", r.droppedPackets.map { .uint($0) } ?? .null),
            ("warnings", .array(r.warnings.map { .string($0.description) })),
        ])
    }

    /// The whole report for a finished analysis: sessions (each followed by its findings),
    /// then findings not tied to a session, then the summary.
    public static func render(_ r: AnalysisResult, inputs: [String]) -> String {
        var out = ""
        for session in r.sessions {
            let findings = r.findings.filter { $0.session == session.id }
            sessionRecord(session, findings: findings).write(to: &out)
            out += "\n"
            for f in findings {
                findingRecord(f).write(to: &out)
                out += "\n"
            }
        }
        for f in r.findings where f.session == nil {
            findingRecord(f).write(to: &out)
            out += "\n"
        }
        summaryRecord(r, inputs: inputs).write(to: &out)
        out += "\n"
        return out
    }
}
