import SMTPTraceCapture
import SMTPTracePackets
import SMTPTraceSMTP
import SMTPTraceTCP

/// Where in the capture an analyzer event happened: the frame whose processing caused it (or
/// `UInt64.max`, the end of the capture), whether it came from the idle sweep run before that
/// frame (phase 0) or from the frame itself (phase 1), and a tie-break within that. Events of
/// several shards sorted by it come out in the order one analyzer of the whole capture would
/// have produced them.
public struct EventOrder: Comparable, Sendable {
    public var frame: UInt64
    public var phase: UInt8
    /// Phase 0: the connection's first frame (one table closes idle connections in the order
    /// they began). Phase 1: the event's rank among those of its frame (all in one shard).
    public var tiebreak: UInt64

    public init(frame: UInt64, phase: UInt8, tiebreak: UInt64) {
        self.frame = frame
        self.phase = phase
        self.tiebreak = tiebreak
    }

    public static func < (a: EventOrder, b: EventOrder) -> Bool {
        (a.frame, a.phase, a.tiebreak) < (b.frame, b.phase, b.tiebreak)
    }
}

/// What one shard's analyzer hands to the merge, in its own order, each with its
/// `EventOrder` beside it (kept apart: the merge compares orders without reading the events,
/// whose records a read would copy). Session ids are the shard's own until the merge numbers
/// them for the whole capture; a session's findings are made by the merge, after numbering
/// (the rules read the record only).
public enum ShardEvent: Sendable {
    case sessionStarted(localID: Int)
    case sessionEnded(SMTPSessionRecord)
    /// The findings of a connection on an SMTP port that carried no SMTP.
    case connectionEnded([Finding])
}

/// Puts the events of several shards back into one capture's order and numbers the sessions
/// as one analyzer would: by when each became a session. An event is let through once every
/// other shard has either an event after it waiting or has processed every frame up to the
/// event's own (its watermark), so nothing earlier can still come.
///
/// Not thread-safe: the caller feeds it from one thread. Memory: the events waiting for a
/// slower shard, a few capture seconds' worth at most.
public final class ShardMerge {
    /// Where each session goes as it ends, numbered for the whole capture, with its findings.
    public var output: AnalysisOutput {
        get { collector.output }
        set { collector.output = newValue }
    }
    /// The lists of events each shard sent, oldest first, as they came; the first list's
    /// events before its `next` have been let through.
    private var queues: [[Arrival]]
    private var watermarks: [UInt64]
    private var globalIDs: [[Int: Int]]
    private var sessionsStarted = 0
    private let collector: CaptureAnalyzer.Collector
    private let liveCapture: Bool

    public init(shards: Int, retention: Retention, liveCapture: Bool) {
        self.liveCapture = liveCapture
        queues = Array(repeating: [], count: shards)
        watermarks = Array(repeating: 0, count: shards)
        globalIDs = Array(repeating: [:], count: shards)
        collector = CaptureAnalyzer.Collector(retention: retention)
    }

    /// One list of events as a shard sent it.
    private struct Arrival {
        var events: [ShardEvent]
        /// The order of each event, beside it: comparing orders reads these, not the events
        /// (reading an event out of its list copies its session record, a retain per field).
        var orders: [EventOrder]
        /// The first event not yet let through.
        var next = 0
    }

    /// Events of `shard`, in its order, after it processed every frame up to `watermark`
    /// (`UInt64.max` once it has finished).
    /// The events are moved in, not copied (a copy of a session record retains each of its
    /// lists and its text, and the shard made them on another core); `orders` are their orders,
    /// one each, in the same order.
    public func add(_ events: consuming [ShardEvent], orders: [EventOrder], from shard: Int,
                    processedThrough watermark: UInt64) {
        precondition(events.count == orders.count, "one order per event")
        if !orders.isEmpty { queues[shard].append(Arrival(events: events, orders: orders)) }
        watermarks[shard] = max(watermarks[shard], watermark)
    }

    /// Lets through every event that can no longer be preceded by one still to come.
    public func emitReady() {
        while let shard = nextReady() {
            // Moved out of its list (an empty event left in its place), not copied; a list
            // let through entirely is dropped.
            var event = ShardEvent.connectionEnded([])
            let at = queues[shard][0].next
            swap(&event, &queues[shard][0].events[at])
            queues[shard][0].next = at + 1
            if at + 1 == queues[shard][0].orders.count { queues[shard].removeFirst() }
            emit(consume event, from: shard)
        }
    }

    /// The shard whose next event comes first, once nothing earlier can still come.
    private func nextReady() -> Int? {
        var best: (shard: Int, order: EventOrder)? = nil
        for shard in queues.indices where !queues[shard].isEmpty {
            let order = queues[shard][0].orders[queues[shard][0].next]
            if best == nil || order < best!.order { best = (shard, order) }
        }
        guard let best else { return nil }
        // Any shard with nothing waiting must have passed the event's frame.
        for shard in queues.indices where queues[shard].isEmpty {
            if watermarks[shard] < best.order.frame { return nil }
        }
        return best.shard
    }

    private func emit(_ event: consuming ShardEvent, from shard: Int) {
        switch consume event {
        case .sessionStarted(let localID):
            sessionsStarted += 1
            globalIDs[shard][localID] = sessionsStarted
        case .sessionEnded(let ended):
            var record = consume ended
            record.id = globalIDs[shard].removeValue(forKey: record.id) ?? 0
            // The rules run here, on the merging thread, which has time to spare while the
            // shards analyse; numbered first, their findings carry the capture-wide id.
            collector.end(record, findings: SessionRules.evaluate(record, liveCapture: liveCapture))
        case .connectionEnded(let findings):
            collector.endConnection(findings: findings)
        }
    }

    /// Sessions that became sessions so far (for progress).
    public var sessionsSoFar: Int { sessionsStarted }

    /// Whether every event of every finished shard has been let through.
    public var isDrained: Bool {
        queues.indices.allSatisfy { queues[$0].isEmpty && watermarks[$0] == .max }
    }

    /// The analysis of the whole capture, once every shard has finished and been drained.
    public func result(packets: PacketStatistics, shards: [(tcp: TCPStatistics, connectionsOnSMTPPorts: Int)],
                       warnings: [CaptureError]) -> AnalysisResult {
        var tcp = TCPStatistics()
        var onPorts = 0
        for shard in shards {
            tcp.add(shard.tcp)
            onPorts += shard.connectionsOnSMTPPorts
        }
        return AnalysisResult(
            sessions: collector.sessions.sorted { $0.id < $1.id },
            findings: collector.findings.sorted { ($0.session ?? Int.max, $0.frame) < ($1.session ?? Int.max, $1.frame) },
            packets: packets, tcp: tcp, connectionsOnSMTPPorts: onPorts, warnings: warnings,
            droppedPackets: nil, totals: collector.totals)
    }
}
