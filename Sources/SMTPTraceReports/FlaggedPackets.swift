import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTracePackets
import SMTPTraceSMTP
import SMTPTraceTCP

/// Chooses the packets of the sessions that have findings (or one finding id), for
/// `--write-flagged`: every TCP segment of the session's 4-tuple from its first frame until the
/// next session on the same 4-tuple begins — as tshark's `tcp.stream` would group them.
public struct FlaggedPackets {
    struct Range {
        var first: UInt64
        var end: UInt64  // exclusive
    }

    private var ranges: [ConnectionKey: [Range]] = [:]
    public let sessionIDs: [Int]

    public init(result: AnalysisResult, only: FindingKind? = nil) {
        let flagged = Set(result.findings.filter { only == nil || $0.kind == only }.compactMap(\.session))
        sessionIDs = flagged.sorted()
        var byKey: [ConnectionKey: [SMTPSessionRecord]] = [:]
        for s in result.sessions { byKey[ConnectionKey(s.client, s.server), default: []].append(s) }
        for (key, sessions) in byKey {
            let ordered = sessions.sorted { $0.firstFrame < $1.firstFrame }
            for (i, s) in ordered.enumerated() where flagged.contains(s.id) {
                let end = i + 1 < ordered.count ? ordered[i + 1].firstFrame : UInt64.max
                ranges[key, default: []].append(Range(first: s.firstFrame, end: end))
            }
        }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Whether the frame belongs to a flagged session.
    public func contains(_ frame: CapturedFrame) -> Bool {
        guard case .tcp(let segment) = PacketDecoder.decode(frame),
            let list = ranges[ConnectionKey(segment.source, segment.destination)]
        else { return false }
        return list.contains { frame.number >= $0.first && frame.number < $0.end }
    }
}
