import SMTPTraceCapture
import SMTPTraceSMTP
import SMTPTraceTCP

/// The rules that turn a finished session record into `smtp.*` findings. They read the
/// record (commands, replies, transactions, observations), never bytes or packets.
enum SMTPRules {
    /// At most this many findings of one id per session.
    static let perIDLimit = 8

    static func evaluate(_ s: SMTPSessionRecord) -> [Finding] {
        var findings: [Finding] = []
        // Most rules find nothing in most sessions: only what they found is appended.
        func add(_ found: [Finding]) { if !found.isEmpty { findings += found } }
        add(observations(s))
        add(hello(s))
        add(missingHelo(s))
        add(sequence(s))
        add(replies(s))
        add(earlyTalker(s))
        add(pipelining(s))
        add(sizeExceeded(s))
        add(authCleartext(s))
        return findings
    }

    // MARK: - Helpers

    static func reply(_ s: SMTPSessionRecord, of command: CommandRecord) -> ReplyRecord? {
        command.replyIndex.map { s.replies[$0] }
    }

    /// The code of the reply a command got, without copying the reply's record.
    static func replyCode(_ s: SMTPSessionRecord, of command: CommandRecord) -> Int? {
        command.replyIndex.map { s.replies[$0].code }
    }

    static func party(_ side: Direction) -> Party { side == .clientToServer ? .client : .server }
    static func name(_ side: Direction) -> String { side == .clientToServer ? "client" : "server" }

    static func replyText(_ r: ReplyRecord, _ text: SessionText) -> String {
        r.text.isEmpty ? String(r.code) : "\(r.code) \(text[r.text])"
    }

    /// Whether a successful STARTTLS came before this frame (what follows is normally unseen;
    /// a capture that shows it was decrypted).
    static func afterTLS(_ s: SMTPSessionRecord, frame: UInt64) -> Bool {
        // (`tlsDecrypted` sessions show it; it was inside TLS all the same.) By index, as the
        // other loops over commands here: iterating hands out each command as a copy.
        for i in s.commands.indices where s.commands[i].kind == .starttls && s.commands[i].frame < frame {
            if replyCode(s, of: s.commands[i]) == 220 { return true }
        }
        return false
    }

    // MARK: - Line-level observations

    static func observations(_ s: SMTPSessionRecord) -> [Finding] {
        var findings: [Finding] = []
        for o in s.observations {
            var evidence: [(key: String, value: EvidenceValue)] = []
            for field in o.fields {
                switch field.value {
                case .int(let i): evidence.append((field.key, .int(i)))
                case .string(let t): evidence.append((field.key, .string(t)))
                case .bool(let b): evidence.append((field.key, .bool(b)))
                case .strings(let list): evidence.append((field.key, .string(list.joined(separator: ","))))
                }
            }
            if o.count > 1 { evidence.append(("occurrences", .int(o.count))) }
            let side = name(o.side)
            let times = o.count > 1 ? " (\(o.count) times; the first shown)" : ""
            let kind: FindingKind
            let message: String
            var severity: Severity? = nil
            switch o.kind {
            case .replyDuringData:
                kind = .replyDuringData
                let codes: String
                if case .strings(let list)? = o["reply_codes"] { codes = list.joined(separator: " then ") } else { codes = "?" }
                let bdat = o["bdat"] == .bool(true)
                var text = "the server replied \(codes) while the client's \(bdat ? "BDAT chunk" : "message") was still being sent"
                if case .int(let f)? = o["command_frame"] { text += " (\(bdat ? "BDAT" : "DATA") in frame \(f))" }
                if case .int(let n)? = o["client_bytes_after"] { text += "; the client sent \(n) more bytes after the first reply" }
                message = text
            case .lineTooLong:
                kind = .lineTooLong
                var length = 0, limit = 0
                if case .int(let l)? = o["length"] { length = l }
                if case .int(let m)? = o["limit"] { limit = m }
                let what = o.context == .content ? "text line" : (o.context == .reply ? "reply line" : "command line")
                message = "\(side) \(what) of \(length) octets, over the \(limit)-octet limit\(times)"
            case .bareLF:
                kind = .bareLF
                message = "\(side) \(contextName(o.context)) line ended by a bare LF instead of CRLF\(times)"
            case .bareCR:
                kind = .bareCR
                message = "\(side) \(contextName(o.context)) line holds a bare CR\(times)"
            case .smuggling:
                kind = .smuggling
                message = smugglingMessage(o)
            case .starttlsInjection:
                kind = .starttlsInjection
                let cause: String
                if case .string(let c)? = o["cause"] { cause = c } else { cause = "" }
                switch cause {
                case "pipelined_after_starttls":
                    message = "the client sent commands after STARTTLS before its reply: a server that buffers them would run them inside TLS\(times)"
                case "server_cleartext_after_220":
                    message = "the server sent cleartext after its 220 to STARTTLS instead of a TLS handshake (or the capture was decrypted)"
                default:
                    message = "the client went on in cleartext after STARTTLS was answered 220, with no TLS handshake (or the capture was decrypted)"
                }
            case .afterQuit:
                kind = .afterQuit
                message = o.side == .clientToServer
                    ? "the client sent commands after QUIT\(times)" : "the server sent replies after its 221\(times)"
            case .badReply:
                kind = .badReply
                if case .string("codes_differ")? = o["cause"] {
                    message = "a multi-line reply whose lines disagree on the code (or that was never terminated)"
                } else {
                    message = "a reply line that does not start with a three-digit code\(times)"
                }
                severity = nil
            }
            findings.append(Finding(
                kind: kind, severity: severity, session: s.id, party: party(o.side), frame: o.frame, timestamp: o.timestamp,
                message: message, line: o.line, evidence: evidence))
        }
        return findings
    }

    static func contextName(_ c: SMTPObservation.Context) -> String {
        switch c {
        case .command: "command"
        case .content: "message"
        case .reply: "reply"
        case .authResponse: "AUTH response"
        }
    }

    static func smugglingMessage(_ o: SMTPObservation) -> String {
        var sequence = "?", reading = "unknown"
        if case .string(let s)? = o["sequence"] { sequence = s }
        if case .string(let r)? = o["server_reading"] { reading = r }
        var lenientBytes = 0, strictBytes: Int? = nil
        if case .int(let b)? = o["lenient_message_bytes"] { lenientBytes = b }
        if case .int(let b)? = o["strict_message_bytes"] { strictBytes = b }
        var commands: [String] = []
        if case .strings(let c)? = o["lenient_commands_after"] { commands = c }
        var text = "ambiguous end of data \(sequence): a lenient receiver ends the message here (\(lenientBytes) bytes)"
        text += commands.isEmpty
            ? " and reads what follows as commands"
            : " and runs the \(commands.count) commands that follow inside the body (\(commands.prefix(6).joined(separator: ", ")))"
        text += "; a strict receiver (only <CRLF>.<CRLF>) reads on as message content"
        if let strictBytes { text += " (\(strictBytes) bytes)" }
        switch reading {
        case "lenient": text += "; this server took the lenient reading"
        case "strict": text += "; this server took the strict reading"
        default: text += "; no reply shows which reading this server took"
        }
        return text
    }

    // MARK: - HELO/EHLO

    static func hello(_ s: SMTPSessionRecord) -> [Finding] {
        var findings: [Finding] = []
        var syntaxCount = 0, rejectedCount = 0
        // For smtp.no_greeting_accepted: the greetings that got a reply, in one pass.
        var attempts = 0, anyAccepted = false, anyDefective = false, lastAttempt: Int?
        for i in s.commands.indices where s.commands[i].kind == .helo || s.commands[i].kind == .ehlo {
            let c = s.commands[i]
            let defect = s.text.withOctets(c.argument) { HeloDefect.of($0[...]) }
            if let defect, syntaxCount < perIDLimit {
                syntaxCount += 1
                findings.append(Finding(
                    kind: .heloSyntax, session: s.id, party: .client, frame: c.frame, timestamp: c.timestamp,
                    message: "\(s.text[c.verb]) argument \(defectDescription(defect)): RFC 5321 wants a domain or an address literal",
                    line: s.commandLine(c),
                    evidence: [("cause", .string(defect.rawValue)), ("argument", .string(s.text[c.argument]))]))
            }
            guard let code = replyCode(s, of: c) else { continue }
            attempts += 1
            lastAttempt = i
            if defect != nil { anyDefective = true }
            if (200..<300).contains(code) { anyAccepted = true }
            guard code >= 500, let r = reply(s, of: c) else { continue }
            let unknownEHLO = c.kind == .ehlo && (r.code == 500 || r.code == 502)
            if !unknownEHLO && rejectedCount < perIDLimit {
                rejectedCount += 1
                var evidence: [(key: String, value: EvidenceValue)] = [
                    ("reply_code", .int(r.code)), ("command_frame", .int(Int(c.frame))), ("argument", .string(s.text[c.argument])),
                ]
                if let e = r.enhancedCode { evidence.append(("enhanced_code", .string(s.text[e]))) }
                if let defect { evidence.insert(("cause", .string(defect.rawValue)), at: 0) }
                let why = defect.map { " because its argument \(defectDescription($0))" }
                    ?? (r.code == 501 ? " although its argument is a valid domain" : " by policy")
                findings.append(Finding(
                    kind: .heloRejected, session: s.id, party: defect != nil || r.code == 501 ? .client : .server,
                    frame: r.frame, timestamp: r.timestamp,
                    message: "\(s.text[c.verb]) (frame \(c.frame)) refused with \(r.code)\(why)",
                    line: replyText(r, s.text), evidence: evidence))
            }
            if c.kind == .ehlo && (500...502).contains(r.code) {
                findings.append(fallback(s, ehlo: i, refusal: r))
            }
        }
        // No greeting accepted at all, though one was tried.
        if !anyAccepted, let lastAttempt, let last = reply(s, of: s.commands[lastAttempt]),
            !afterTLS(s, frame: s.commands[lastAttempt].frame)
        {
            findings.append(Finding(
                kind: .noGreetingAccepted, session: s.id, party: anyDefective ? .client : .server,
                frame: last.frame, timestamp: last.timestamp,
                message: "no HELO/EHLO was accepted (\(attempts) tried, the last refused with \(last.code)): no mail could move in this session",
                line: replyText(last, s.text),
                evidence: [("attempts", .int(attempts)), ("reply_code", .int(last.code))]))
        }
        return findings
    }

    static func defectDescription(_ d: HeloDefect) -> String {
        switch d {
        case .missing: "is missing"
        case .trailingDot: "ends with a dot"
        case .trailingSpace: "ends with a space"
        case .bareIP: "is an IP address without brackets"
        case .invalid: "is not a valid domain"
        }
    }

    /// EHLO refused (500/501/502): did the client fall back to HELO, with or without RSET, and
    /// did it work? Info when it worked, warning otherwise.
    static func fallback(_ s: SMTPSessionRecord, ehlo i: Int, refusal: ReplyRecord) -> Finding {
        var j = i + 1
        var rset: (CommandRecord, ReplyRecord?)? = nil
        while j < s.commands.count, s.commands[j].kind == .rset {
            rset = (s.commands[j], reply(s, of: s.commands[j]))
            j += 1
        }
        let helo = j < s.commands.count && s.commands[j].kind == .helo ? s.commands[j] : nil
        let heloReply = helo.flatMap { reply(s, of: $0) }
        let outcome: String
        if helo == nil {
            outcome = "no_fallback"
        } else if let code = heloReply?.code, (200..<300).contains(code) {
            outcome = "accepted"
        } else {
            outcome = heloReply == nil ? "unanswered" : "refused"
        }
        var evidence: [(key: String, value: EvidenceValue)] = [
            ("ehlo_frame", .int(Int(s.commands[i].frame))), ("ehlo_reply", .int(refusal.code)),
            ("rset", .bool(rset != nil)), ("outcome", .string(outcome)),
        ]
        if let rsetReply = rset?.1 { evidence.append(("rset_reply", .int(rsetReply.code))) }
        if let helo { evidence.append(("helo_frame", .int(Int(helo.frame)))) }
        if let heloReply { evidence.append(("helo_reply", .int(heloReply.code))) }
        var message = "EHLO refused with \(refusal.code)"
        if let helo {
            message += rset.map { r in ", RSET" + (r.1.map { " (\($0.code)\($0.code == 503 ? ", tolerated per RFC 1869" : ""))" } ?? "") } ?? ""
            message += ", then HELO (frame \(helo.frame))"
            switch outcome {
            case "accepted": message += " accepted with \(heloReply!.code): the client fell back to HELO"
            case "refused": message += " refused too with \(heloReply!.code): the fallback failed"
            default: message += " got no reply"
            }
        } else {
            message += ", and the client never fell back to HELO"
        }
        return Finding(
            kind: .ehloFallback, severity: outcome == "accepted" ? .info : .warning, session: s.id,
            party: refusal.code == 501 ? .client : .server, frame: refusal.frame, timestamp: refusal.timestamp,
            message: message, line: replyText(refusal, s.text), evidence: evidence)
    }

    // MARK: - Order of commands

    static func isTransactionVerb(_ verb: SMTPVerb) -> Bool {
        switch verb {
        case .mail, .rcpt, .data, .bdat: true
        default: false
        }
    }

    /// MAIL (or RCPT/DATA/BDAT) before any accepted HELO/EHLO.
    static func missingHelo(_ s: SMTPSessionRecord) -> [Finding] {
        guard !s.midstream else { return [] }
        var accepted = false
        for i in s.commands.indices {
            let kind = s.commands[i].kind
            if kind == .helo || kind == .ehlo {
                // Unanswered (a capture of one side) counts as accepted: nothing shows otherwise.
                if replyCode(s, of: s.commands[i]).map({ (200..<300).contains($0) }) ?? true { accepted = true }
                // Nothing after an accepted greeting can be missing one.
                if accepted { return [] }
                continue
            }
            guard isTransactionVerb(kind) else { continue }
            let c = s.commands[i]
            if afterTLS(s, frame: c.frame) { return [] }
            var evidence: [(key: String, value: EvidenceValue)] = [("command", .string(s.text[c.verb]))]
            let verdict: String
            if let code = replyCode(s, of: c) {
                let took = code < 400
                evidence += [("reply_code", .int(code)), ("accepted_by_server", .bool(took))]
                verdict = took ? "; the server accepted it anyway (\(code)), a lax server" : "; the server refused it (\(code))"
            } else {
                verdict = "; it got no reply"
            }
            let tried = s.commands.indices.contains { (s.commands[$0].kind == .helo || s.commands[$0].kind == .ehlo) && s.commands[$0].frame < c.frame }
            return [Finding(
                kind: .missingHelo, session: s.id, party: .client, frame: c.frame, timestamp: c.timestamp,
                message: "\(s.text[c.verb]) sent before any \(tried ? "accepted " : "")HELO/EHLO\(verdict)",
                line: s.commandLine(c), evidence: evidence)]
        }
        return []
    }

    /// RCPT before MAIL, DATA before any RCPT, MAIL inside an open transaction (client order).
    static func sequence(_ s: SMTPSessionRecord) -> [Finding] {
        var findings: [Finding] = []
        var mailOpen = false, mailAccepted = false, rcptSent = false, rcptAccepted = false
        func reset() { mailOpen = false; mailAccepted = false; rcptSent = false; rcptAccepted = false }
        for i in s.commands.indices {
            let kind = s.commands[i].kind
            let code = replyCode(s, of: s.commands[i])
            var problem: String? = nil
            switch kind {
            case .helo, .ehlo, .rset:
                reset()
            case .mail:
                if mailOpen && mailAccepted { problem = "MAIL while a mail transaction was already open" }
                reset()
                mailOpen = true
                mailAccepted = (code ?? 250) < 400
            case .rcpt:
                if !mailOpen { problem = "RCPT before MAIL" }
                rcptSent = true
                if let code, code < 400 { rcptAccepted = true }
            case .data, .bdat:
                let name = kind.name
                if !mailOpen {
                    problem = "\(name) before MAIL"
                } else if !rcptSent {
                    problem = "\(name) before any RCPT"
                } else if !rcptAccepted && !s.commands[i].sentBeforePreviousReply {
                    problem = "\(name) after every RCPT was refused"
                }
                // A malformed BDAT (rejected without a chunk) ends nothing.
                let last = kind == .data ? code == 354 : s.bdatArgument(ofCommand: i)?.last == true
                if last { reset() }
            default:
                break
            }
            guard let problem, findings.count < perIDLimit else { continue }
            let c = s.commands[i]
            var evidence: [(key: String, value: EvidenceValue)] = [("command", .string(s.text[c.verb]))]
            var verdict = ""
            if let code {
                let took = code < 400
                evidence += [("reply_code", .int(code)), ("accepted_by_server", .bool(took))]
                verdict = took ? "; the server accepted it (\(code)), a lax server" : "; the server refused it (\(code))"
            }
            findings.append(Finding(
                kind: .sequenceError, session: s.id, party: .client, frame: c.frame, timestamp: c.timestamp,
                message: problem + verdict, line: s.commandLine(c), evidence: evidence))
        }
        return findings
    }

    // MARK: - Replies

    static func replies(_ s: SMTPSessionRecord) -> [Finding] {
        var findings: [Finding] = []
        let firstCommandFrame = s.commands.first?.frame ?? UInt64.max
        var unsolicited = 0
        var firstQuitFrame = UInt64.max
        for i in s.commands.indices where s.commands[i].kind == .quit { firstQuitFrame = min(firstQuitFrame, s.commands[i].frame) }
        for r in s.replies {
            if r.code == 421 && firstQuitFrame >= r.frame {
                findings.append(Finding(
                    kind: .serviceClosing, session: s.id, party: .server, frame: r.frame, timestamp: r.timestamp,
                    message: "the server announced it is closing the session (421) before any QUIT", line: replyText(r, s.text),
                    evidence: [("reply_code", .int(r.code))] + (r.enhancedCode.map { [("enhanced_code", EvidenceValue.string(s.text[$0]))] } ?? [])))
                continue
            }
            guard r.target == .unsolicited, unsolicited < perIDLimit else { continue }
            // Mid-stream, replies before the first captured command answer commands sent earlier.
            if s.midstream && r.frame < firstCommandFrame { continue }
            unsolicited += 1
            findings.append(Finding(
                kind: .unsolicitedReply, session: s.id, party: .server, frame: r.frame, timestamp: r.timestamp,
                message: "a \(r.code) reply with no command awaiting one", line: replyText(r, s.text),
                evidence: [("reply_code", .int(r.code))]))
        }
        // Commands never answered, when the connection ended (not merely the capture).
        switch s.close {
        case .fin, .rst, .quit, .halfOpen: break
        default: return findings
        }
        // A capture of the client's side only answers nothing; a server that closed first
        // cannot answer what came after its FIN (that is for tcp.half_open).
        guard s.bytes.serverToClient > 0 else { return findings }
        // Conflicting retransmissions: a reply may hide in the copy that lost.
        if let counters = s.tcp?.summary.counters, counters.conflictingSegments > 0 { return findings }
        let serverGaps = s.tcp?.summary.gaps.filter { $0.side == .serverToClient } ?? []
        let serverFIN = s.tcp?.summary.fins.first { $0.side == .serverToClient }?.frame ?? UInt64.max
        var unanswered = 0
        for i in s.commands.indices where s.commands[i].replyIndex == nil {
            guard unanswered < perIDLimit else { break }
            let c = s.commands[i]
            if c.frame > serverFIN { continue }
            if c.kind == .quit && s.close != .quit && s.replies.contains(where: { $0.code == 421 }) { continue }
            if serverGaps.contains(where: { $0.frame > c.frame }) { continue }  // its reply may be in the hole
            if c.kind == .starttls { continue }
            unanswered += 1
            findings.append(Finding(
                kind: .unansweredCommand, session: s.id, party: .server, frame: c.frame, timestamp: c.timestamp,
                message: "\(s.text[c.verb]) never got a reply before the connection ended (\(s.close.rawValue))",
                line: s.commandLine(c), evidence: [("command", .string(s.text[c.verb])), ("close", .string(s.close.rawValue))]))
        }
        return findings
    }

    // MARK: - Timing and extensions

    static func earlyTalker(_ s: SMTPSessionRecord) -> [Finding] {
        guard !s.midstream, s.tcp?.summary.handshakeCompleted ?? false,
            let greeting = s.replies.first(where: { $0.target == .greeting }),
            let first = s.commands.first, first.frame < greeting.frame
        else { return [] }
        return [Finding(
            kind: .earlyTalker, session: s.id, party: .client, frame: first.frame, timestamp: first.timestamp,
            message: "the client sent \(s.text[first.verb]) before the server's greeting (frame \(greeting.frame))",
            line: s.commandLine(first), evidence: [("greeting_frame", .int(Int(greeting.frame)))])]
    }

    static func pipelining(_ s: SMTPSessionRecord) -> [Finding] {
        // Without the server's side (or its start) there is nothing to wait for.
        guard s.bytes.serverToClient > 0, !s.midstream else { return [] }
        let greetingFrame = s.replies.first(where: { $0.target == .greeting })?.frame ?? 0
        var offending = 0, firstOffending: Int? = nil
        for i in s.commands.indices
        where s.commands[i].sentBeforePreviousReply && !s.commands[i].pipeliningAdvertised && s.commands[i].frame > greetingFrame {
            offending += 1
            if firstOffending == nil { firstOffending = i }
        }
        guard let firstOffending else { return [] }
        let first = s.commands[firstOffending]
        if afterTLS(s, frame: first.frame) && s.extensions.contains(where: { s.text.equalsIgnoringASCIICase($0, "PIPELINING") }) { return [] }
        return [Finding(
            kind: .pipeliningUnadvertised, session: s.id, party: .client, frame: first.frame, timestamp: first.timestamp,
            message: "the client sent \(s.text[first.verb]) without waiting for the previous reply, though the server had not advertised PIPELINING"
                + (offending > 1 ? " (\(offending) commands so)" : ""),
            line: s.commandLine(first), evidence: [("commands", .int(offending))])]
    }

    static func sizeExceeded(_ s: SMTPSessionRecord) -> [Finding] {
        var findings: [Finding] = []
        guard s.transactions.contains(where: { $0.contentComplete }) else { return [] }
        let advertised = advertisedSize(s.extensions, in: s.text)
        for t in s.transactions where t.contentComplete {
            let frame = t.dataFrame ?? t.mailFrame
            var timestamp: CaptureTimestamp { s.commands.first(where: { $0.frame == frame })?.timestamp ?? s.start }
            if let limit = advertised, t.size > limit {
                findings.append(Finding(
                    kind: .sizeExceeded, session: s.id, party: .client, frame: frame, timestamp: timestamp,
                    message: "message of \(t.size) octets, larger than the server's advertised SIZE \(limit)",
                    evidence: [("size", .int(Int(t.size))), ("limit", .int(Int(limit))), ("limit_source", .string("server"))]))
            } else if let declared = t.declaredSize, t.size > declared + max(declared / 20, 64) {
                // RFC 1870's declared size is the client's estimate; only an excess beyond 5%
                // (and 64 octets) is more than rounding, dot-stuffing or a final CRLF.
                findings.append(Finding(
                    kind: .sizeExceeded, session: s.id, party: .client, frame: frame, timestamp: timestamp,
                    message: "message of \(t.size) octets, larger than the SIZE=\(declared) the client declared in MAIL",
                    evidence: [("size", .int(Int(t.size))), ("limit", .int(Int(declared))), ("limit_source", .string("declared"))]))
            }
        }
        return findings
    }

    /// The limit of the first `SIZE n` extension (n > 0), if any.
    static func advertisedSize(_ extensions: [TextRef], in text: SessionText) -> UInt64? {
        // "SIZE", spaces, one word that is a number, nothing but spaces after it — read from
        // the octets (this runs for every session that sent a message).
        for ext in extensions {
            let limit = text.withOctets(ext) { hasASCIIPrefix($0, "SIZE ") ? sizeLimit(UnsafeBufferPointer(rebasing: $0[5...])) : nil }
            if let limit { return limit }
        }
        return nil
    }

    /// The number of a `SIZE` extension's octets after the keyword and its space: spaces, an
    /// optional '+', digits, spaces; nil when that is not all (or the number is 0 or overflows).
    private static func sizeLimit(_ octets: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var i = 0
        while i < octets.count && octets[i] == 0x20 { i += 1 }
        if i < octets.count && octets[i] == UInt8(ascii: "+") { i += 1 }
        var n: UInt64 = 0, digits = 0, overflow = false
        while i < octets.count, octets[i] >= 0x30, octets[i] <= 0x39 {
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(octets[i] - 0x30))
            overflow = overflow || o1 || o2
            n = sum
            digits += 1
            i += 1
        }
        while i < octets.count && octets[i] == 0x20 { i += 1 }
        return digits > 0 && !overflow && i == octets.count && n > 0 ? n : nil
    }

    static func authCleartext(_ s: SMTPSessionRecord) -> [Finding] {
        guard !s.implicitTLS, let index = s.commands.indices.first(where: { s.commands[$0].kind == .auth }) else { return [] }
        let auth = s.commands[index]
        guard !afterTLS(s, frame: auth.frame) else { return [] }
        let mechanism = s.text[auth.argument]
        return [Finding(
            kind: .authCleartext, session: s.id, party: .client, frame: auth.frame, timestamp: auth.timestamp,
            message: "AUTH \(mechanism) on a session without TLS: the credentials crossed the network in clear (they are not shown)",
            line: "AUTH \(mechanism)", evidence: [("mechanism", .string(mechanism))])]
    }
}
