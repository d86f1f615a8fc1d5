import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTracePackets
import SMTPTraceSMTP
import SMTPTraceTCP

/// The default terminal report, what matters first: a one-line verdict, the findings (errors
/// first, one example each with its frame), the sessions with their flags, the reply codes
/// seen, the busiest clients and servers, and the capture overview. It is sized to a width and
/// styled by a `TextStyle`; it knows nothing of terminals.
public struct TextReport {
    public var width: Int
    public var style: TextStyle

    public init(width: Int = 100, style: TextStyle = .plain) {
        self.width = max(60, width)
        self.style = style
    }

    public func render(_ r: AnalysisResult, inputs: [String]) -> String {
        var sections: [String] = [headline(r, inputs: inputs)]
        if !r.findings.isEmpty { sections.append(findingsSection(r)) }
        if r.totals.sessions == 0 {
            sections.append("No SMTP sessions found.\n")
        } else if !r.sessions.isEmpty {
            var table = sessionsSection(r)
            if r.totals.sessionsNotKept > 0 {
                table += "  … and \(grouped(UInt64(r.totals.sessionsNotKept))) more sessions (--json lists them all)\n"
            }
            sections.append(table)
            let note = r.totals.sessionsNotKept > 0 ? " (of the \(r.sessions.count) sessions listed)" : ""
            sections.append(replyCodesSection(r).replacingFirstLine(with: "Reply codes" + note))
            sections.append(talkersSection(r).replacingFirstLine(with: "Top clients and servers" + note))
        }
        sections.append(overview(r, inputs: inputs))
        return sections.joined(separator: "\n")
    }

    // MARK: - Headline

    func headline(_ r: AnalysisResult, inputs: [String]) -> String {
        let counts = r.totals.severities
        var parts = ["\(r.totals.sessions) SMTP session\(r.totals.sessions == 1 ? "" : "s")"]
        if r.totals.findings.isEmpty {
            parts.append("no findings")
        } else {
            let bySeverity = Severity.allCases.reversed().compactMap { s -> String? in
                guard let n = counts[s], n > 0 else { return nil }
                return style.severity(s, "\(n) \(s.description)\(n == 1 || s == .info ? "" : "s")")
            }
            parts.append(bySeverity.joined(separator: ", "))
        }
        let name = inputs.count == 1 ? Escaping.terminal(inputs[0], limit: 60) : "\(inputs.count) files"
        let plainLength = "smtp-trace · ".count + name.count + 3 + parts.joined(separator: " · ").count
        if plainLength - invisibleLength(parts) <= width {
            return style.bold("smtp-trace") + " · " + name + " · " + parts.joined(separator: " · ") + "\n"
        }
        return fit(style.bold("smtp-trace") + " · " + name) + "\n  " + parts.joined(separator: " · ") + "\n"
    }

    /// Characters of ANSI sequences in the parts (they take no columns).
    func invisibleLength(_ parts: [String]) -> Int {
        parts.reduce(0) { total, part in
            var n = 0
            var inEscape = false
            for scalar in part.unicodeScalars {
                if inEscape {
                    n += 1
                    if scalar == "m" { inEscape = false }
                } else if scalar == "\u{1B}" {
                    inEscape = true
                    n += 1
                }
            }
            return total + n
        }
    }

    func severityCounts(_ findings: [Finding]) -> [Severity: Int] {
        var counts: [Severity: Int] = [:]
        for f in findings { counts[f.severity, default: 0] += 1 }
        return counts
    }

    // MARK: - Findings

    func findingsSection(_ r: AnalysisResult) -> String {
        struct Group {
            var kind: FindingKind
            var severity: Severity
            var findings: [Finding]
        }
        var groups: [String: Group] = [:]
        for f in r.findings {
            let key = "\(f.kind.id)/\(f.severity.rawValue)"
            groups[key, default: Group(kind: f.kind, severity: f.severity, findings: [])].findings.append(f)
        }
        func total(_ g: Group) -> Int { r.totals.findingGroups[FindingGroupKey(kind: g.kind, severity: g.severity)] ?? g.findings.count }
        let ordered = groups.values.sorted {
            ($1.severity, total($1), $0.kind.id) < ($0.severity, total($0), $1.kind.id)
        }
        // One line per id (severity, id, count, sessions), then its first example wrapped
        // below it: readable at 80 columns as at 200.
        let idWidth = max(2, ordered.map(\.kind.id.count).max() ?? 0)
        var out = "Findings\n"
        for g in ordered {
            let sessions = Array(Set(g.findings.compactMap(\.session))).sorted()
            var list = sessions.prefix(8).map { "#\($0)" }.joined(separator: " ")
            if sessions.count > 8 { list += " +\(sessions.count - 8)" }
            if sessions.isEmpty { list = "no session" }
            let head = style.severity(g.severity, g.severity.description.padding(8))
                + g.kind.id.padding(idWidth + 1) + "×\(total(g))".padding(5) + "sessions " + list
            out += "  " + head + "\n"
            let example = g.findings[0]
            var text = "frame \(example.frame)"
            if let session = example.session { text += ", session #\(session)" }
            text += ": " + Escaping.terminal(example.message, limit: 400)
            out += wrap(text, indent: 12) + "\n"
        }
        return out
    }

    /// Folds text at spaces to the width, every line indented.
    func wrap(_ text: String, indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        var current = pad
        for word in text.split(separator: " ") {
            if current.count > indent && current.count + 1 + word.count > width {
                lines.append(current)
                current = pad + word
            } else {
                current += (current.count > indent ? " " : "") + word
            }
        }
        if current.count > indent { lines.append(current) }
        return lines.joined(separator: "\n")
    }

    // MARK: - Sessions

    func sessionsSection(_ r: AnalysisResult) -> String {
        let days = Set(r.sessions.map { $0.start.seconds / 86_400 })
        var table = TextTable(columns: [
            .init("#", right: true),
            .init("client", shrinkOrder: 3, minimumWidth: 9),
            .init("server", shrinkOrder: 3, minimumWidth: 9),
            .init(days.count == 1 ? "start (UTC)" : "start (UTC)", shrinkOrder: 2, minimumWidth: 8),
            .init("time", right: true),
            .init("helo", shrinkOrder: 0, minimumWidth: 6),
            .init("mail from", shrinkOrder: 0, minimumWidth: 8),
            .init("rcpt", right: true),
            .init("msgs", right: true),
            .init("bytes", right: true),
            .init("last", right: true),
            .init("end"),
            .init("flags", shrinkOrder: 1, minimumWidth: 5),
        ])
        let bySession = Dictionary(grouping: r.findings.filter { $0.session != nil }, by: { $0.session! })
        var worst: [Severity?] = []
        for s in r.sessions {
            let first = s.text[s.transactions.first?.mailFrom]
            let mailFrom = first.map { s.transactions.count > 1 ? "\($0) +\(s.transactions.count - 1)" : $0 } ?? "-"
            let findings = bySession[s.id] ?? []
            worst.append(findings.map(\.severity).max())
            let start = TimeFormatting.display(s.start)
            table.add([
                String(s.id),
                s.client.description,
                s.server.description,
                days.count == 1 ? String(start.dropFirst(11)) : start,
                TimeFormatting.duration(s.duration),
                s.text[s.heloArgument].map { Escaping.terminal($0, limit: 64) } ?? "-",
                first == nil ? "-" : Escaping.terminal(mailFrom, limit: 64),
                String(s.recipientCount),
                String(s.messageCount),
                byteCount(s.messageBytes),
                s.lastReplyCode.map(String.init) ?? "-",
                s.close.rawValue,
                flags(s, findings: findings),
            ])
        }
        table.decorate = { row, column, text in
            guard column == 12 || column == 0, let severity = worst[row] else { return text }
            return self.style.severity(severity, text)
        }
        if table.naturalWidth() <= width { return "Sessions\n" + table.render(width: width) }
        // Too narrow for one row per session: two lines each.
        var out = "Sessions\n"
        for (row, s) in r.sessions.enumerated() {
            let cells = table.rows[row]
            let number = "#\(s.id)".padding(5)
            let head = "  " + number + "\(cells[1]) → \(cells[2])  \(cells[3]) +\(cells[4])  \(cells[11])  last \(cells[10])"
            var flagText = cells[12] == "-" ? "" : "  " + cells[12]
            if head.count + flagText.count > width { flagText = String(flagText.prefix(max(0, width - head.count))) }
            let styled = worst[row].map { style.severity($0, flagText) } ?? flagText
            out += (head.count > width ? fit(head) : head + styled) + "\n"
            var detail = [s.text[s.heloVerb].map { "\($0) \(cells[5])" } ?? "no HELO"]
            if cells[6] != "-" { detail.append("from \(cells[6])") }
            detail.append("\(cells[7]) rcpt · \(cells[8]) msg · \(cells[9])")
            out += fit("       " + detail.joined(separator: " · ")) + "\n"
        }
        return out
    }

    /// Cuts a line to the width with an ellipsis.
    func fit(_ line: String) -> String {
        line.count <= width ? line : String(line.prefix(width - 1)) + "…"
    }

    /// `2E 1W 1I` (findings by severity), then TLS, AUTH, mid-stream, gaps, tunnel.
    func flags(_ s: SMTPSessionRecord, findings: [Finding]) -> String {
        var parts: [String] = []
        let counts = severityCounts(findings)
        for (severity, letter) in [(Severity.error, "E"), (.warning, "W"), (.info, "I")] {
            if let n = counts[severity], n > 0 { parts.append("\(n)\(letter)") }
        }
        if s.tls { parts.append(s.tlsDecrypted ? "TLS(decrypted)" : "TLS") }
        if s.authMechanism != nil { parts.append("AUTH") }
        if s.midstream { parts.append("midstream") }
        if s.gapBytes != .zero { parts.append("gaps") }
        if let tunnel = s.tunnel { parts.append(tunnel) }
        return parts.isEmpty ? "-" : parts.joined(separator: " ")
    }

    // MARK: - Reply codes

    func replyCodesSection(_ r: AnalysisResult) -> String {
        struct Usage {
            var count = 0
            var enhanced: [String: Int] = [:]
            var servers: [String: Int] = [:]
            var commands: [String: Int] = [:]
        }
        var usage: [Int: Usage] = [:]
        for s in r.sessions {
            for (index, reply) in s.replies.enumerated() {
                var u = usage[reply.code, default: Usage()]
                u.count += 1
                if let e = reply.enhancedCode { u.enhanced[s.text[e], default: 0] += 1 }
                u.servers[s.server.address.description, default: 0] += 1
                u.commands[answered(reply, in: s), default: 0] += 1
                usage[reply.code] = u
                _ = index
            }
        }
        // Errors first (5xx, 4xx), then the rest by code.
        let codes = usage.keys.sorted { a, b in
            let ra = a >= 400 ? 0 : 1, rb = b >= 400 ? 0 : 1
            return ra != rb ? ra < rb : (ra == 0 ? a > b : a < b)
        }
        var table = TextTable(columns: [
            .init("code", right: true), .init("enhanced", shrinkOrder: 2, minimumWidth: 5), .init("count", right: true),
            .init("meaning", shrinkOrder: 0, minimumWidth: 10), .init("by server", shrinkOrder: 1, minimumWidth: 6),
            .init("by command", shrinkOrder: 1, minimumWidth: 6),
        ])
        for code in codes {
            let u = usage[code]!
            let enhanced = top(u.enhanced, 2, counts: false)
            var meaning = ReplyCodeMeaning.of(code)
            if let e = u.enhanced.max(by: { ($0.value, $1.key) < ($1.value, $0.key) })?.key, let m = ReplyCodeMeaning.enhanced(e), m != "other" { meaning += "; " + m }
            table.add([String(code), enhanced.isEmpty ? "-" : enhanced, String(u.count), meaning,
                       top(u.servers, 2, counts: true), top(u.commands, 3, counts: true)])
        }
        table.decorate = { row, column, text in
            guard column == 0 else { return text }
            let code = codes[row]
            return code >= 500 ? self.style.severity(.error, text) : code >= 400 ? self.style.severity(.warning, text) : text
        }
        return "Reply codes\n" + table.render(width: width)
    }

    func answered(_ reply: ReplyRecord, in s: SMTPSessionRecord) -> String {
        switch reply.target {
        case .greeting: "greeting"
        case .command(let i): i < s.commands.count ? s.text[s.commands[i].verb] : "?"
        case .endOfData: "end of data"
        case .authExchange: "AUTH step"
        case .duringData: "during data"
        case .lostCommand: "lost command"
        case .unsolicited: "unsolicited"
        }
    }

    func top(_ counts: [String: Int], _ n: Int, counts showCounts: Bool) -> String {
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var text = sorted.prefix(n).map { showCounts ? "\(Escaping.terminal($0.key, limit: 40)) \($0.value)" : $0.key }
            .joined(separator: ", ")
        if sorted.count > n { text += ", +\(sorted.count - n)" }
        return text
    }

    // MARK: - Talkers

    func talkersSection(_ r: AnalysisResult) -> String {
        struct Talker {
            var sessions = 0
            var messages = 0
            var findings = 0
        }
        let bySession = Dictionary(grouping: r.findings.filter { $0.session != nil }, by: { $0.session! })
        var clients: [String: Talker] = [:], servers: [String: Talker] = [:]
        for s in r.sessions {
            let n = bySession[s.id]?.count ?? 0
            clients[s.client.address.description, default: Talker()].sessions += 1
            clients[s.client.address.description]!.messages += s.messageCount
            clients[s.client.address.description]!.findings += n
            let server = s.server.description
            servers[server, default: Talker()].sessions += 1
            servers[server]!.messages += s.messageCount
            servers[server]!.findings += n
        }
        func table(_ title: String, _ map: [String: Talker]) -> String {
            var t = TextTable(columns: [
                .init(title, shrinkOrder: 0, minimumWidth: 12), .init("sessions", right: true), .init("messages", right: true),
                .init("findings", right: true),
            ])
            let sorted = map.sorted { ($1.value.sessions, $0.key) < ($0.value.sessions, $1.key) }
            for (name, talker) in sorted.prefix(5) {
                t.add([name, String(talker.sessions), String(talker.messages), String(talker.findings)])
            }
            var text = t.render(width: width)
            if sorted.count > 5 { text += "  … and \(sorted.count - 5) more\n" }
            return text
        }
        return "Top clients and servers\n" + table("client", clients) + table("server", servers)
    }

    // MARK: - Overview

    public func overview(_ r: AnalysisResult, inputs: [String]) -> String {
        var lines: [(String, String)] = []
        lines.append(("input", inputs.map { Escaping.terminal($0, limit: 120) }.joined(separator: ", ")))
        let linkTypes = r.packets.linkTypes.sorted { $0.rawValue < $1.rawValue }.map(\.name)
        lines.append(("packets", "\(grouped(r.packets.frames)) (\(byteCount(r.packets.bytes)))"
            + (r.packets.truncatedFrames > 0 ? ", \(grouped(r.packets.truncatedFrames)) cut by snaplen" : "")))
        if let first = r.packets.firstTimestamp, let last = r.packets.lastTimestamp {
            lines.append(("time span", "\(TimeFormatting.display(first)) – \(TimeFormatting.display(last)) UTC"
                + " (\(TimeFormatting.duration(last.seconds(since: first))))"))
        }
        lines.append(("link type", linkTypes.isEmpty ? "-" : linkTypes.joined(separator: ", ")))
        var tcp = "\(grouped(r.tcp.connections)) connections, \(r.connectionsOnSMTPPorts) on SMTP ports"
        if r.tcp.reassembly.retransmittedSegments > 0 { tcp += ", \(r.tcp.reassembly.retransmittedSegments) retransmitted" }
        if r.tcp.reassembly.outOfOrderSegments > 0 { tcp += ", \(r.tcp.reassembly.outOfOrderSegments) out of order" }
        if r.tcp.reassembly.gaps > 0 { tcp += ", \(r.tcp.reassembly.gaps) gaps (\(byteCount(UInt64(r.tcp.reassembly.gapBytes))) missing)" }
        if r.tcp.evicted > 0 { tcp += ", \(r.tcp.evicted) evicted" }
        lines.append(("TCP", tcp))
        var smtp = "\(r.totals.sessions) sessions, \(r.totals.messages) messages"
        let closes = SessionClose.allCases.compactMap { c -> String? in
            let n = r.totals.closes[c] ?? 0
            return n > 0 ? "\(n) \(c.rawValue)" : nil
        }
        if !closes.isEmpty { smtp += " (ended: " + closes.joined(separator: ", ") + ")" }
        lines.append(("SMTP", smtp))
        let skipped = SkipReason.allCases.compactMap { reason -> String? in
            guard let n = r.packets.skipped[reason] else { return nil }
            return "\(grouped(n)) \(reason.label)"
        }
        if !skipped.isEmpty { lines.append(("skipped", skipped.joined(separator: ", "))) }
        if let drops = r.droppedPackets { lines.append(("dropped", "\(grouped(drops)) by the kernel")) }
        var out = "Capture overview\n"
        for (label, value) in lines {
            out += "  " + label.padding(11) + value + "\n"
        }
        return out
    }
}

func grouped(_ n: UInt64) -> String {
    let digits = String(n)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return out
}

/// `512 B`, `1.5 KB`, `12.0 MB` (decimal units, as capinfos prints).
func byteCount(_ n: UInt64) -> String {
    if n < 1000 { return "\(n) B" }
    let units = ["KB", "MB", "GB", "TB"]
    var value = Double(n) / 1000
    var unit = 0
    while value >= 1000 && unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    return "\(Double(Int(value * 10)) / 10) \(units[unit])"
}

extension String {
    func replacingFirstLine(with line: String) -> String {
        guard let newline = firstIndex(of: "\n") else { return line }
        return line + self[newline...]
    }

    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
