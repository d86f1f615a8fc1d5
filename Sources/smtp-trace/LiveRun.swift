import Dispatch
import Foundation
import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTraceReports
import SMTPTraceSMTP
import SMTPTraceTCP

/// A stop request that a signal handler, a timer or a packet count may raise.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    /// Run once, on the first `set()`: wakes the capture thread.
    var onStop: (() -> Void)? = nil
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return stopped }
    func set() {
        lock.lock()
        let first = !stopped
        stopped = true
        let action = onStop
        lock.unlock()
        if first { action?() }
    }
}

/// `smtp-trace -i IFACE`: capture on one thread, analyse on this one, print each finding the
/// moment its session ends, refresh a one-line summary on a terminal, and on stop print the
/// same final report as offline.
struct LiveRun {
    let capture: CaptureOptions
    let analysis: AnalysisOptions
    let output: OutputOptions

    func run() throws -> Int32 {
        let interface = capture.interface!
        let ports = ((try? analysis.parsedPorts()) ?? SMTPSettings.defaultPorts).sorted()
        let filter = capture.filter ?? ports.map { "tcp port \($0)" }.joined(separator: " or ")
        let live: LiveCapture
        do {
            live = try LiveCapture(LiveCaptureOptions(
                interface: interface, snapshotLength: capture.snapshotLength, promiscuous: !capture.noPromisc, filter: filter))
        } catch {
            Terminal.error(error.description)
            return ExitStatus.unreadableInput
        }
        if let warning = live.warning { Terminal.warning(warning) }
        var writer: PcapDumpWriter? = nil
        if let path = capture.writeFile {
            do {
                writer = try PcapDumpWriter(path: path, linkType: live.linkType, snapshotLength: capture.snapshotLength)
            } catch {
                Terminal.error(error.description)
                return ExitStatus.unreadableInput
            }
        }

        var configuration = analysis.configuration()
        configuration.smtp.liveCapture = true
        configuration.retention = output.json ? Retention(maxSessions: 0, maxFindingsPerID: 0) : Retention(maxSessions: 1000, maxFindingsPerID: 50)
        let analyzer = CaptureAnalyzer(configuration: configuration)
        let style = TextStyle(colors: output.useColor())
        let width = output.width ?? Terminal.width() ?? 100
        let statusLine = Terminal.isTerminal(STDERR_FILENO) && !output.quiet
        let stream = output.json ? JSONStream(batchBytes: 0) : nil
        if let stream {
            analyzer.output = stream.output
        } else {
            let printLines: ([Finding]) -> Void = { findings in
                if statusLine { Terminal.writeError("\r\u{1B}[K") }
                for f in findings { Terminal.write(Self.line(f, style: style, width: width) + "\n") }
            }
            analyzer.output = AnalysisOutput(sessionEnded: { _, findings in printLines(findings) }, connectionEnded: printLines)
        }

        // Stop on SIGINT/SIGTERM, --duration or -c.
        let stop = StopFlag()
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop.set() }
            source.resume()
            sources.append(source)
        }
        defer { for s in sources { s.cancel() } }
        if !output.json && !output.quiet {
            Terminal.note("capturing on \(interface) (\(live.linkType.name)), filter '\(filter)'; Ctrl-C stops")
        }

        // The capture thread: read, copy into the ring, nothing else.
        let ring = FrameRing(linkType: live.linkType)
        let limit = capture.count.map { UInt64($0) }
        let done = DispatchSemaphore(value: 0)
        let box = CaptureBox(live)
        stop.onStop = { box.live.breakLoop() }
        Thread.detachNewThread {
            var captured: UInt64 = 0
            while !stop.isSet {
                switch box.live.read() {
                case .frame(let frame):
                    ring.push(frame)
                    captured += 1
                    if let limit, captured >= limit { stop.set() }
                case .timeout:
                    continue
                case .end:
                    stop.set()
                }
            }
            ring.close()
            done.signal()
        }

        let started = Date()
        var lastTick = Date()
        while true {
            let got = ring.pop(timeout: 0.5) { frame in
                analyzer.process(frame)
                writer?.write(frame)
            }
            if let duration = capture.duration, Date().timeIntervalSince(started) >= duration { stop.set() }
            if !got && ring.isClosedAndEmpty { break }
            if Date().timeIntervalSince(lastTick) >= 2 {
                lastTick = Date()
                analyzer.advanceClock(to: Self.now())
                writer?.flush()
                if statusLine {
                    Terminal.writeError("\r\u{1B}[K" + Self.status(analyzer, live.counters, ringDrops: ring.dropped, since: started))
                }
            }
        }
        done.wait()
        if statusLine { Terminal.writeError("\r\u{1B}[K") }
        writer?.flush()
        let counters = live.counters
        let drops = (counters?.droppedByKernel ?? 0) + (counters?.droppedByInterface ?? 0) + ring.dropped
        let result = analyzer.finish(droppedPackets: drops)
        if let stream {
            stream.finish(result, inputs: [interface])
        } else {
            Terminal.write("\n" + TextReport(width: width, style: style).render(result, inputs: ["live on " + interface]))
        }
        if let counters, !output.quiet {
            Terminal.note("\(counters.received) packets received, \(counters.droppedByKernel) dropped by the kernel, \(counters.droppedByInterface) by the interface, \(ring.dropped) by smtp-trace")
        }
        if let level = output.failOn, result.totals.severities.contains(where: { $0.key >= level.severity && $0.value > 0 }) {
            return ExitStatus.findings
        }
        return ExitStatus.success
    }

    static func now() -> CaptureTimestamp {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return CaptureTimestamp(seconds: Int64(t.tv_sec), nanoseconds: UInt32(t.tv_nsec))
    }

    /// One finding, one line: time, severity, id, session, frame, message.
    static func line(_ f: Finding, style: TextStyle, width: Int) -> String {
        let time = String(TimeFormatting.display(f.timestamp).dropFirst(11))
        let session = f.session.map { "#\($0)" } ?? "-"
        let head = "\(time)  \(f.severity.description.padding(toLength: 7, withPad: " ", startingAt: 0)) \(f.kind.id)  \(session) frame \(f.frame)  "
        var text = head + Escaping.terminal(f.message, limit: 300)
        if text.count > width { text = String(text.prefix(width - 1)) + "…" }
        return style.severity(f.severity, String(text.prefix(head.count))) + String(text.dropFirst(head.count))
    }

    static func status(_ analyzer: CaptureAnalyzer, _ counters: CaptureCounters?, ringDrops: UInt64, since: Date) -> String {
        let open = analyzer.openSessions
        let closed = analyzer.sessionsSoFar - open
        var text = "live \(Int(Date().timeIntervalSince(since)))s: \(open) sessions open, \(closed) closed, \(analyzer.findingsSoFar) findings"
        if let c = counters {
            text += ", \(c.received) packets received, \(c.droppedByKernel + c.droppedByInterface + ringDrops) dropped"
        }
        return text
    }
}

/// Hands the capture handle to the capture thread (it is used there only).
final class CaptureBox: @unchecked Sendable {
    let live: LiveCapture
    init(_ live: LiveCapture) { self.live = live }
}
