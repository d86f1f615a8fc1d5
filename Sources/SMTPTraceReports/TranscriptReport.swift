import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTraceSMTP
import SMTPTraceTCP

/// A session as a ladder, the way mail-server knowledge-base articles show network traces:
/// `C:` and `S:` lines with the time since the session began and the frame, message content
/// summarised (size, headers) not dumped, TCP events where they happened, and each finding
/// under the line it concerns with its message and RFC.
public struct TranscriptReport {
    public var width: Int
    public var style: TextStyle

    public init(width: Int = 100, style: TextStyle = .plain) {
        self.width = max(60, width)
        self.style = style
    }

    /// One entry of the ladder, ordered by frame (then by kind, so that a reply follows the
    /// command it shares a frame with).
    struct Entry {
        var frame: UInt64
        var order: Int
        var timestamp: CaptureTimestamp
        var arrow: String
        var text: String
    }

    public func render(_ s: SMTPSessionRecord, findings: [Finding]) -> String {
        var entries: [Entry] = []
        let c = "C:", sv = "S:"
        if let tcp = s.tcp?.summary {
            for e in tcp.events {
                let who = e.side == .clientToServer ? "C→S" : "S→C"
                var text = e.kind.rawValue
                switch e.kind {
                case .gap: text = "[\(e.bytes) bytes not captured]"
                case .retransmission: text = "retransmission (\(e.bytes) bytes)"
                case .outOfOrder: text = "out of order (\(e.bytes) bytes), held until the hole filled"
                case .rst where e.bytes > 0: text = "RST carrying \(e.bytes) bytes"
                default: break
                }
                entries.append(Entry(frame: e.frame, order: e.kind == .gap ? 0 : 3, timestamp: e.timestamp, arrow: who, text: text))
            }
            if tcp.eventsNotKept > 0, let last = tcp.events.last {
                entries.append(Entry(frame: last.frame, order: 4, timestamp: last.timestamp, arrow: "   ",
                                     text: "(\(tcp.eventsNotKept) more TCP events not listed)"))
            }
        }
        for command in s.commands {
            entries.append(Entry(frame: command.frame, order: 1, timestamp: command.timestamp, arrow: c,
                                 text: Escaping.terminal(s.commandLine(command), limit: 200)))
        }
        for auth in s.authResponses {
            entries.append(Entry(frame: auth.frame, order: 1, timestamp: auth.timestamp, arrow: c, text: "[AUTH response, not shown]"))
        }
        for reply in s.replies {
            var text = "\(reply.code) " + Escaping.terminal(s.text[reply.text], limit: 160)
            if reply.lineCount > 1 { text += style.dim("  (\(reply.lineCount) lines)") }
            entries.append(Entry(frame: reply.frame, order: 2, timestamp: reply.timestamp, arrow: sv, text: text))
        }
        for t in s.transactions {
            if let frame = t.contentFrame, let time = t.contentTimestamp {
                var parts = ["message"]
                if let subject = s.text[t.headers.subject] { parts.append("Subject: " + Escaping.terminal(subject, limit: 80)) }
                if let id = s.text[t.headers.messageID] { parts.append("Message-ID: " + Escaping.terminal(id, limit: 80)) }
                if let from = s.text[t.headers.from] { parts.append("From: " + Escaping.terminal(from, limit: 60)) }
                entries.append(Entry(frame: frame, order: 1, timestamp: time, arrow: c, text: "[" + parts.joined(separator: " · ") + "]"))
            }
            if let frame = t.endFrame, let time = t.endTimestamp {
                entries.append(Entry(frame: frame, order: 1, timestamp: time, arrow: c,
                                     text: ".  [end of data: \(byteCount(t.size)) (\(grouped(t.size)) octets)]"))
            } else if t.contentSent, t.contentFrame != nil, t.dataFrame.flatMap({ f in s.commands.first { $0.frame == f }?.kind }) != .bdat {
                entries.append(Entry(frame: s.lastFrame, order: 5, timestamp: s.end, arrow: c,
                                     text: "[message never ended: \(grouped(t.size)) octets sent]"))
            }
        }
        entries.sort { ($0.frame, $0.order) < ($1.frame, $1.order) }

        // Findings under the entry of their frame (the last one with that frame), else
        // before the first later entry.
        var byFrame: [UInt64: [Finding]] = [:]
        for f in findings { byFrame[f.frame, default: []].append(f) }
        var placed: Set<UInt64> = []
        let lastIndexOfFrame = Dictionary(entries.enumerated().map { ($0.element.frame, $0.offset) }, uniquingKeysWith: max)

        var out = header(s)
        let base = s.start
        func findingLines(_ list: [Finding]) {
            for f in list.sorted(by: { $0.severity > $1.severity }) {
                let head = style.severity(f.severity, "▲ \(f.severity.description) \(f.kind.id)")
                var text = Escaping.terminal(f.message, limit: 500)
                if !f.kind.reference.isEmpty { text += " (\(f.kind.reference))" }
                out += wrap(head + ": " + text, indent: 25, firstIndent: 23) + "\n"
            }
        }
        for (index, e) in entries.enumerated() {
            // Findings whose frame has no entry of its own come before the first later entry.
            let earlier = byFrame.keys.filter { !placed.contains($0) && lastIndexOfFrame[$0] == nil && $0 < e.frame }.sorted()
            for frame in earlier {
                findingLines(byFrame[frame]!)
                placed.insert(frame)
            }
            let time = "+" + TimeFormatting.format3(max(0, e.timestamp.seconds(since: base)))
            let frame = "#\(e.frame)"
            // Long lines wrap under their text rather than lose their end.
            let lead = "  " + time.leftPadded(10) + "  " + frame.padding(7) + e.arrow + " "
            out += hang(e.text, after: lead) + "\n"
            if lastIndexOfFrame[e.frame] == index, let list = byFrame[e.frame], !placed.contains(e.frame) {
                findingLines(list)
                placed.insert(e.frame)
            }
        }
        for frame in byFrame.keys.filter({ !placed.contains($0) }).sorted() { findingLines(byFrame[frame]!) }
        out += "  " + "ended: \(s.close.rawValue)" + (s.tls ? ", TLS" + (s.tlsDecrypted ? " (decrypted in the capture)" : "") : "") + "\n"
        return out
    }

    func header(_ s: SMTPSessionRecord) -> String {
        var line = style.bold("Session #\(s.id)") + "  \(s.client) → \(s.server)  "
            + TimeFormatting.display(s.start) + " UTC, " + TimeFormatting.duration(s.duration)
        if s.midstream { line += ", picked up mid-stream" }
        if let tunnel = s.tunnel { line += ", behind \(tunnel)" }
        return line + "\n"
    }

    func fit(_ line: String) -> String {
        line.count <= width ? line : String(line.prefix(width - 1)) + "…"
    }

    /// `lead` then `text`, folded at spaces; continuation lines start under the text.
    func hang(_ text: String, after lead: String) -> String {
        let room = max(20, width - lead.count - 2)
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !current.isEmpty && visibleCount(current) + 1 + visibleCount(String(word)) > room {
                lines.append(current)
                current = String(word)
            } else {
                current += (current.isEmpty ? "" : " ") + word
            }
        }
        lines.append(current)
        let pad = String(repeating: " ", count: lead.count + 2)
        return lines.enumerated().map { i, line in
            let text = i == 0 ? lead + line : pad + line
            return visibleCount(text) > width ? String(text.prefix(width - 1)) + "…" : text
        }.joined(separator: "\n")
    }

    func wrap(_ text: String, indent: Int, firstIndent: Int) -> String {
        var lines: [String] = []
        var current = String(repeating: " ", count: firstIndent)
        var currentIndent = firstIndent
        for word in text.split(separator: " ") {
            if current.count > currentIndent && visibleCount(current) + 1 + visibleCount(String(word)) > width {
                lines.append(current)
                currentIndent = indent
                current = String(repeating: " ", count: indent) + word
            } else {
                current += (current.count > currentIndent ? " " : "") + word
            }
        }
        if current.count > currentIndent { lines.append(current) }
        return lines.joined(separator: "\n")
    }

    /// Characters a terminal shows (ANSI SGR sequences take none).
    func visibleCount(_ s: String) -> Int {
        var n = 0
        var inEscape = false
        for scalar in s.unicodeScalars {
            if inEscape {
                if scalar == "m" { inEscape = false }
            } else if scalar == "\u{1B}" {
                inEscape = true
            } else {
                n += 1
            }
        }
        return n
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
