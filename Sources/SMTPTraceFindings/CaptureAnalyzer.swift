import SMTPTraceCapture
import SMTPTracePackets
import SMTPTraceSMTP
import SMTPTraceTCP

/// Settings of one analysis: which ports are SMTP, the TCP layer's limits, and how many
/// finished sessions and findings to keep for the reports.
public struct AnalyzerConfiguration: Sendable {
    public var smtp: SMTPSettings
    public var reassembly: ReassemblyLimits
    public var retention: Retention

    public init(smtp: SMTPSettings = SMTPSettings(), reassembly: ReassemblyLimits = ReassemblyLimits(),
                retention: Retention = .all) {
        self.smtp = smtp
        self.reassembly = reassembly
        self.retention = retention
    }
}

/// How much of the finished analysis is kept in memory. Memory must follow the open
/// connections, not the capture's size: streamed output keeps nothing, the table report a
/// bounded sample; the totals are always exact.
public struct Retention: Sendable {
    /// Sessions kept (nil: all).
    public var maxSessions: Int?
    /// Findings kept per id (nil: all).
    public var maxFindingsPerID: Int?
    /// Sessions kept whatever the limit (a transcript asked for).
    public var alwaysKeep: Set<Int>

    public init(maxSessions: Int? = nil, maxFindingsPerID: Int? = nil, alwaysKeep: Set<Int> = []) {
        self.maxSessions = maxSessions
        self.maxFindingsPerID = maxFindingsPerID
        self.alwaysKeep = alwaysKeep
    }

    public static let all = Retention()
}

/// Exact counts over the whole analysis, whatever was kept.
public struct AnalysisTotals: Sendable {
    public var sessions = 0
    public var messages = 0
    public var closes: [SessionClose: Int] = [:]
    public var findings: [FindingKind: Int] = [:]
    public var severities: [Severity: Int] = [:]
    /// Findings per id and severity (`smtp.ehlo_fallback` comes as info and as warning).
    public var findingGroups: [FindingGroupKey: Int] = [:]
    public var sessionsNotKept = 0
    public var findingsNotKept = 0

    public init() {}

    mutating func add(_ other: AnalysisTotals) {
        sessions += other.sessions
        messages += other.messages
        for (k, v) in other.closes { closes[k, default: 0] += v }
        for (k, v) in other.findings { findings[k, default: 0] += v }
        for (k, v) in other.severities { severities[k, default: 0] += v }
        for (k, v) in other.findingGroups { findingGroups[k, default: 0] += v }
        sessionsNotKept += other.sessionsNotKept
        findingsNotKept += other.findingsNotKept
    }

    mutating func count(_ findings: [Finding]) {
        for f in findings {
            self.findings[f.kind, default: 0] += 1
            severities[f.severity, default: 0] += 1
            findingGroups[FindingGroupKey(kind: f.kind, severity: f.severity), default: 0] += 1
        }
    }
}

public struct FindingGroupKey: Hashable, Sendable {
    public var kind: FindingKind
    public var severity: Severity

    public init(kind: FindingKind, severity: Severity) {
        self.kind = kind
        self.severity = severity
    }
}

/// Everything one analysis produced, for the reports (which never see bytes).
public struct AnalysisResult: Sendable {
    public var sessions: [SMTPSessionRecord]
    public var findings: [Finding]
    public var packets: PacketStatistics
    public var tcp: TCPStatistics
    /// TCP connections whose server side was on an SMTP port.
    public var connectionsOnSMTPPorts: Int
    /// Read errors met part-way through an input (the results cover what came before).
    public var warnings: [CaptureError]
    /// Packets the capture library reports dropped (live captures), when known.
    public var droppedPackets: UInt64?
    /// Exact counts, including what `sessions` and `findings` did not keep.
    public var totals: AnalysisTotals

    /// Findings per id, for the summary.
    public var findingCounts: [FindingKind: Int] { totals.findings }

    /// Several independent analyses (one per input file) as one result: session ids are
    /// renumbered so that the first file's come first, and every count is summed.
    public static func merging(_ results: [AnalysisResult]) -> AnalysisResult {
        var merged = AnalysisResult(
            sessions: [], findings: [], packets: PacketStatistics(), tcp: TCPStatistics(), connectionsOnSMTPPorts: 0,
            warnings: [], droppedPackets: nil, totals: AnalysisTotals())
        var offset = 0
        for r in results {
            merged.sessions += r.sessions.map { s in
                var s = s
                s.id += offset
                return s
            }
            merged.findings += r.findings.map { f in
                var f = f
                f.session = f.session.map { $0 + offset }
                return f
            }
            merged.packets.merge(r.packets)
            merged.tcp.add(r.tcp)
            merged.connectionsOnSMTPPorts += r.connectionsOnSMTPPorts
            merged.warnings += r.warnings
            merged.totals.add(r.totals)
            offset += r.totals.sessions
        }
        return merged
    }
}

/// The one junction of the pipeline: frames → `PacketDecoder` → `TCPReassembler` →
/// `SMTPStreamAnalyzer` → session records and findings.
///
/// Feed it frames in capture order with `process(_:)`, then call `finish()`. Sessions are
/// also handed to `output` as soon as each ends, for streaming output.
public final class CaptureAnalyzer {
    public let configuration: AnalyzerConfiguration
    /// Where each session goes as it ends (and the findings of connections without one).
    public var output: AnalysisOutput {
        get { collector.output }
        set { collector.output = newValue }
    }
    private var packets = PacketStatistics()
    private let smtp: SMTPStreamAnalyzer
    private let tcp: TCPReassembler<SMTPStreamAnalyzer>
    private let collector: Collector

    /// Gathers what the SMTP analyzer hands over, in the order sessions end.
    final class Collector {
        var sessions: [SMTPSessionRecord] = []
        var findings: [Finding] = []
        var totals = AnalysisTotals()
        var keptPerID: [FindingKind: Int] = [:]
        let retention: Retention

        var output = AnalysisOutput()

        init(retention: Retention) { self.retention = retention }

        /// A session ended: counted, kept as the retention allows, passed on.
        func end(_ session: SMTPSessionRecord, findings: [Finding]) {
            add(session)
            add(findings)
            output.sessionEnded?(session, findings)
        }

        /// A connection without a session ended.
        func endConnection(findings: [Finding]) {
            add(findings)
            if !findings.isEmpty { output.connectionEnded?(findings) }
        }

        func add(_ findings: [Finding]) {
            totals.count(findings)
            for f in findings {
                if let limit = retention.maxFindingsPerID, keptPerID[f.kind, default: 0] >= limit {
                    totals.findingsNotKept += 1
                    continue
                }
                keptPerID[f.kind, default: 0] += 1
                self.findings.append(f)
            }
        }

        func add(_ session: SMTPSessionRecord) {
            totals.sessions += 1
            totals.messages += session.messageCount
            totals.closes[session.close, default: 0] += 1
            if let limit = retention.maxSessions, sessions.count >= limit, !retention.alwaysKeep.contains(session.id) {
                totals.sessionsNotKept += 1
                return
            }
            sessions.append(session)
        }
    }

    public init(configuration: AnalyzerConfiguration = AnalyzerConfiguration()) {
        self.configuration = configuration
        let collector = Collector(retention: configuration.retention)
        self.collector = collector
        var serverPorts = configuration.smtp.ports
        serverPorts.formUnion(configuration.smtp.implicitTLSPorts)
        let smtp = SMTPStreamAnalyzer(settings: configuration.smtp) { _ in }
        self.smtp = smtp
        self.tcp = TCPReassembler(consumer: smtp, serverPorts: serverPorts, limits: configuration.reassembly)
        smtp.connectionEndedWithoutSession = { [unowned self] summary in
            let findings = TCPRules.evaluate(summary, session: nil, close: nil, liveCapture: configuration.smtp.liveCapture)
            if let shardOutput = self.shardOutput {
                shardOutput(self.order(firstFrame: summary.firstFrame), .connectionEnded(findings))
                return
            }
            collector.endConnection(findings: findings)
        }
        smtp.sessionStarted = { [unowned self] id, firstFrame in
            self.shardOutput?(self.order(firstFrame: firstFrame), .sessionStarted(localID: id))
        }
        smtp.sessionEnded = { [unowned self] record in
            if let shardOutput = self.shardOutput {
                // A shard's sessions are judged by the merge, once numbered for the capture.
                let order = self.order(firstFrame: record.firstFrame)
                shardOutput(order, .sessionEnded(consume record))
                return
            }
            collector.end(record, findings: SessionRules.evaluate(record, liveCapture: configuration.smtp.liveCapture))
        }
    }

    // MARK: One shard of a capture

    /// Set by `makeShard`: sessions and findings go to the merge, in this shard's order, instead
    /// of being collected here.
    private var shardOutput: ((EventOrder, consuming ShardEvent) -> Void)?
    /// What is being processed: a frame (phase 1) or a sweep at a frame (phase 0).
    private var trigger = (frame: UInt64(0), phase: UInt8(1))
    private var sequenceInFrame: UInt64 = 0

    /// The capture file the frames come from, when its bytes can be read again (see
    /// `TCPReassembler.capturedFile`); before the first frame.
    func rereads(_ file: CaptureFileBytes?) {
        tcp.capturedFile = file
    }

    /// Turns this analyzer into one shard of a capture whose connections are spread over
    /// several analyzers: it is given only its connections' segments (`process(shardSegment:)`),
    /// sweeps for idle connections when told (`sweep(now:atFrame:)`), and hands every session
    /// and finding to `output` with its place in the capture, for `ShardMerge`.
    public func makeShard(output: @escaping (EventOrder, consuming ShardEvent) -> Void) {
        shardOutput = output
        tcp.sweepsOnItsOwn = false
    }

    /// The place of an event caused by the current trigger: several connections close in one
    /// sweep (or at the end) in the order they began, as one table closes them; everything a
    /// frame causes comes from its connection's shard, in the order it happened.
    private func order(firstFrame: UInt64) -> EventOrder {
        if trigger.phase == 0 { return EventOrder(frame: trigger.frame, phase: 0, tiebreak: firstFrame) }
        sequenceInFrame += 1
        return EventOrder(frame: trigger.frame, phase: 1, tiebreak: sequenceInFrame)
    }

    /// A TCP segment of this shard's connections (decoded and counted by the caller).
    public func process(shardSegment segment: TCPSegment) {
        trigger = (segment.frameNumber, 1)
        sequenceInFrame = 0
        tcp.process(segment)
    }

    /// The caller's sweep schedule reached capture time `now` at `frame`.
    public func sweep(now: CaptureTimestamp, atFrame frame: UInt64) {
        trigger = (frame, 0)
        tcp.sweep(now: now)
    }

    /// The end of the capture for this shard: open connections close in the order they began.
    public func finishShard() -> (tcp: TCPStatistics, connectionsOnSMTPPorts: Int) {
        trigger = (.max, 0)
        tcp.finish()
        return (tcp.statistics, smtp.connectionsOnSMTPPorts)
    }

    /// Takes the next frame, in capture order.
    public func process(_ frame: CapturedFrame) {
        var segment = TCPSegment.unset
        if packets.decode(frame, into: &segment) { tcp.process(segment) }
    }

    /// Moves capture time forward without a packet (a quiet live capture), so that idle
    /// connections still time out.
    public func advanceClock(to time: CaptureTimestamp) {
        tcp.advance(to: time)
    }

    /// Findings so far (for live displays).
    public var findingsSoFar: Int { collector.totals.findings.values.reduce(0, +) }

    /// Sessions open right now (for progress and live displays).
    public var openSessions: Int { smtp.openSessions }
    public var sessionsSoFar: Int { smtp.sessionsStarted }
    public var framesSoFar: UInt64 { packets.frames }

    /// Ends the analysis: open connections close as `capture_end`; sessions are returned in
    /// id order.
    public func finish(warnings: [CaptureError] = [], droppedPackets: UInt64? = nil) -> AnalysisResult {
        tcp.finish()
        let sessions = collector.sessions.sorted { $0.id < $1.id }
        let findings = collector.findings.sorted {
            ($0.session ?? Int.max, $0.frame) < ($1.session ?? Int.max, $1.frame)
        }
        return AnalysisResult(
            sessions: sessions, findings: findings, packets: packets, tcp: tcp.statistics,
            connectionsOnSMTPPorts: smtp.connectionsOnSMTPPorts, warnings: warnings,
            droppedPackets: droppedPackets, totals: collector.totals)
    }

    /// Reads a whole source. A read error part-way is kept as a warning (the frames before it
    /// were analysed); an error before the first frame is thrown.
    public static func analyze(
        _ source: FrameSource, configuration: AnalyzerConfiguration = AnalyzerConfiguration(),
        progress: ((CaptureAnalyzer) -> Void)? = nil
    ) throws(CaptureError) -> AnalysisResult {
        try analyze(source, with: CaptureAnalyzer(configuration: configuration), progress: progress)
    }

    /// Reads a whole source into an analyzer set up by the caller (e.g. with an `output`
    /// streaming each session out as it ends).
    public static func analyze(
        _ source: FrameSource, with analyzer: CaptureAnalyzer, progress: ((CaptureAnalyzer) -> Void)? = nil
    ) throws(CaptureError) -> AnalysisResult {
        var warnings: [CaptureError] = []
        do {
            if let reader = (source as? MergedFrameSource)?.onlyReader {
                // One file: read straight from it, with no merge step and no dynamic call per frame.
                analyzer.rereads(reader.rereadableBytes)
                try analyzer.run(reader, progress: progress)
            } else {
                try analyzer.run(source, progress: progress)
            }
        } catch {
            warnings.append(error)
        }
        warnings.append(contentsOf: source.warnings)
        return analyzer.finish(warnings: warnings)
    }

    /// The loop over every frame; specialised for a concrete source.
    private func run<Source: FrameSource>(_ source: Source, progress: ((CaptureAnalyzer) -> Void)?) throws(CaptureError) {
        let tcp = self.tcp  // held here, not loaded (and retained) again for every frame
        var count: UInt64 = 0
        var segment = TCPSegment.unset
        while let frame = try source.next() {
            if packets.decode(frame, into: &segment) { tcp.process(segment) }
            count += 1
            if count & 0xFFFF == 0 { progress?(self) }
        }
    }
}
