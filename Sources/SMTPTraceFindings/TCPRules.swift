import SMTPTraceCapture
import SMTPTraceSMTP
import SMTPTraceTCP

/// Findings from the TCP layer's evidence: `tcp.half_open`, `tcp.reset`, `tcp.gap`,
/// `tcp.midstream`. They read a connection summary (and, for a session, how it ended), never
/// packets.
enum TCPRules {
    /// At most this many `tcp.gap` findings per connection; the rest are summed into the last.
    static let maxGapFindings = 8

    /// `close` is the SMTP session's ending when there is a session (a RST after QUIT/221 is
    /// no finding), nil for a connection on an SMTP port that carried no SMTP line.
    static func evaluate(_ s: TCPConnectionSummary, session: Int?, close: SessionClose?,
                         resynchronisations: [Resynchronisation] = [], liveCapture: Bool = false) -> [Finding] {
        var findings: [Finding] = []
        if s.midstream {
            findings.append(Finding(
                kind: .midstream, session: session, party: .network, frame: s.firstFrame, timestamp: s.firstTimestamp,
                message: "the connection was already open when the capture started (no SYN seen): its beginning is missing"))
        }
        for (index, gap) in s.gaps.prefix(maxGapFindings).enumerated() {
            var missing = gap.missingBytes
            var more = 0
            if index == maxGapFindings - 1 && s.gaps.count > maxGapFindings {
                more = s.gaps.count - maxGapFindings
                missing += s.gaps.dropFirst(maxGapFindings).reduce(0) { $0 + $1.missingBytes }
            }
            let side = name(gap.side)
            var evidence: [(key: String, value: EvidenceValue)] = [("direction", .string(side)), ("missing_bytes", .int(missing))]
            var resumed = ""
            if session != nil {
                let r = resynchronisations.first { $0.side == gap.side && $0.gapFrame == gap.frame }
                if let r, r.inMessage {
                    resumed = "; the hole fell inside a message, whose decoding went on"
                } else if let r, let frame = r.resumedFrame {
                    resumed = "; decoding resumed at frame \(frame)" + (r.skippedLines > 0 ? " after skipping \(r.skippedLines) unrecognisable lines" : "")
                    evidence += [("resumed_frame", .int(Int(frame))), ("skipped_lines", .int(r.skippedLines))]
                } else if r != nil {
                    resumed = "; no recognisable line came after it"
                }
            }
            findings.append(Finding(
                kind: .gap, session: session, party: .network, frame: gap.frame, timestamp: gap.timestamp,
                message: "\(missing) bytes from the \(side) were never captured (hole noticed at frame \(gap.frame))"
                    + (more > 0 ? " (and in \(more) more holes)" : "") + resumed,
                evidence: evidence))
        }
        if let reset = s.reset, close != .quit {
            let by = name(reset.side)
            findings.append(Finding(
                kind: .reset, session: session, party: party(reset.side), frame: reset.frame, timestamp: reset.timestamp,
                message: "the \(by) reset the connection (RST) before the session ended with QUIT/221",
                evidence: [("reset_by", .string(by)), ("payload_bytes", .int(reset.payloadBytes))]))
        }
        // Live, the stop of the capture proves nothing: only the idle timeout does.
        if s.isHalfOpen, !(liveCapture && s.closeReason == .captureEnd), let fin = s.fins.first {
            let closer = name(fin.side), other = name(fin.side.reversed)
            let after = s.bytesAfterPeerFIN[fin.side.reversed]
            let open = max(0, s.lastTimestamp.seconds(since: fin.timestamp))
            let until: String
            switch s.closeReason {
            case .idleTimeout: until = "the idle timeout"
            case .evicted: until = "it was evicted from the connection table"
            default: until = "the end of the capture"
            }
            findings.append(Finding(
                kind: .halfOpen, session: session, party: party(fin.side.reversed), frame: fin.frame, timestamp: fin.timestamp,
                message: "the \(closer) closed its side (FIN, frame \(fin.frame)) but the \(other) neither closed nor reset; "
                    + "it sent \(after) more bytes and the connection stayed half-open \(formatSeconds(open)) until \(until)",
                evidence: [
                    ("fin_frame", .int(Int(fin.frame))), ("fin_by", .string(closer)),
                    ("bytes_after_fin", .int(Int(after))), ("open_seconds", .double((open * 1e6).rounded() / 1e6)),
                    ("until", .string(untilLabel(s.closeReason))),
                ]))
        }
        return findings
    }

    static func name(_ side: Direction) -> String { side == .clientToServer ? "client" : "server" }
    static func party(_ side: Direction) -> Party { side == .clientToServer ? .client : .server }

    static func untilLabel(_ reason: ConnectionCloseReason) -> String {
        switch reason {
        case .idleTimeout: "idle_timeout"
        case .evicted: "evicted"
        default: "capture_end"
        }
    }

    static func formatSeconds(_ seconds: Double) -> String {
        seconds < 10 ? String(format3(seconds)) + " s" : "\(Int(seconds)) s"
    }

    static func format3(_ v: Double) -> String {
        let ms = Int((v * 1000).rounded())
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}
