import Foundation

/// The progress of a long offline read, on standard error when it is a terminal: bytes read
/// of the total, rate, sessions so far. Redrawn at most four times a second.
final class ProgressLine {
    let total: Int64?
    let enabled: Bool
    let started = Date()
    var lastDraw = Date.distantPast
    var drawn = false

    init(total: Int64?, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(bytesRead: Int64?, frames: UInt64, sessions: Int) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.25 else { return }
        lastDraw = now
        let elapsed = max(0.001, now.timeIntervalSince(started))
        var text = "reading"
        if let bytesRead {
            text += " " + megabytes(bytesRead)
            if let total, total > 0 { text += " of " + megabytes(total) + " (\(Int(Double(bytesRead) * 100 / Double(total)))%)" }
            text += ", " + megabytes(Int64(Double(bytesRead) / elapsed)) + "/s"
        } else {
            text += " \(frames) packets"
        }
        text += ", \(sessions) sessions"
        Terminal.writeError("\r\u{1B}[K" + text)
        drawn = true
    }

    func clear() {
        if drawn { Terminal.writeError("\r\u{1B}[K") }
    }

    func megabytes(_ n: Int64) -> String {
        n >= 1_000_000_000 ? String(format: "%.2f GB", Double(n) / 1e9) : String(format: "%.1f MB", Double(n) / 1e6)
    }
}
