import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTracePackets
import SMTPTraceSMTP
import SMTPTraceTCP

/// The default terminal report: the SMTP sessions, one line each, then an overview of the
/// capture. It knows a width, not a terminal: the executable measures the terminal.
public struct TextReport {
    public var width: Int

    public init(width: Int = 100) {
        self.width = max(60, width)
    }

    public func render(_ r: AnalysisResult, inputs: [String]) -> String {
        var out = ""
        if r.sessions.isEmpty {
            out += "No SMTP sessions found.\n"
        } else {
            out += "SMTP sessions (\(r.sessions.count))\n"
            out += sessionTable(r.sessions).render(width: width)
        }
        if !r.findings.isEmpty {
            out += "\nFindings (\(r.findings.count))\n"
            out += findingList(r.findings)
        }
        out += "\n"
        out += overview(r, inputs: inputs)
        return out
    }

    /// Errors first, then warnings, then notes; within each, by session and frame.
    public func findingList(_ findings: [Finding]) -> String {
        let ordered = findings.sorted {
            ($1.severity, $0.session ?? Int.max, $0.frame) < ($0.severity, $1.session ?? Int.max, $1.frame)
        }
        var out = ""
        for f in ordered {
            let session = f.session.map { "#\($0)" } ?? "-"
            let head = "  \(f.severity.description.padding(8))\(f.kind.id.padding(24))\(session.padding(5))frame \(f.frame)"
            out += head + "\n"
            var message = Escaping.terminal(f.message, limit: 400)
            if !f.kind.reference.isEmpty { message += " (\(f.kind.reference))" }
            out += wrap(message, indent: 6) + "\n"
        }
        return out
    }

    /// Folds a line at spaces to the report's width.
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

    public func sessionTable(_ sessions: [SMTPSessionRecord]) -> TextTable {
        var table = TextTable(columns: [
            .init("#", right: true),
            .init("client", shrinkOrder: 2, minimumWidth: 9),
            .init("server", shrinkOrder: 2, minimumWidth: 9),
            .init("start (UTC)", shrinkOrder: 1, minimumWidth: 12),
            .init("time", right: true),
            .init("helo", shrinkOrder: 0, minimumWidth: 8),
            .init("mail from", shrinkOrder: 0, minimumWidth: 10),
            .init("rcpt", right: true),
            .init("msgs", right: true),
            .init("bytes", right: true),
            .init("last", right: true),
            .init("end"),
        ])
        // Within one UTC day the date is in the overview's time span; the table shows the time.
        let days = Set(sessions.map { $0.start.seconds / 86_400 })
        if days.count == 1 { table.columns[3].title = "start (UTC)" }
        for s in sessions {
            let first = s.transactions.first?.mailFrom
            let mailFrom = first.map { s.transactions.count > 1 ? "\($0) +\(s.transactions.count - 1)" : $0 } ?? "-"
            table.add([
                String(s.id),
                s.client.description,
                s.server.description,
                days.count == 1 ? String(TimeFormatting.display(s.start).dropFirst(11)) : TimeFormatting.display(s.start),
                TimeFormatting.duration(s.duration),
                s.heloArgument.map { Escaping.terminal($0, limit: 64) } ?? "-",
                first == nil ? "-" : Escaping.terminal(mailFrom, limit: 64),
                String(s.recipientCount),
                String(s.messageCount),
                byteCount(s.messageBytes),
                s.lastReplyCode.map(String.init) ?? "-",
                s.close.rawValue,
            ])
        }
        return table
    }

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
        let messages = r.sessions.reduce(0) { $0 + $1.messageCount }
        var smtp = "\(r.sessions.count) sessions, \(messages) messages"
        let closes = SessionClose.allCases.compactMap { c -> String? in
            let n = r.sessions.filter { $0.close == c }.count
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
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
