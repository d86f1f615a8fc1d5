import SMTPTraceCapture

/// Counts of what the packet decoder saw: frames, bytes, time span, link types and the
/// reasons frames were skipped.
public struct PacketStatistics: Sendable {
    public var frames: UInt64 = 0
    public var bytes: UInt64 = 0
    public var tcpSegments: UInt64 = 0
    public var skipped: [SkipReason: UInt64] = [:]
    public var firstTimestamp: CaptureTimestamp? = nil
    public var lastTimestamp: CaptureTimestamp? = nil
    public var linkTypes: Set<LinkType> = []
    /// Frames whose snaplen cut part of the packet.
    public var truncatedFrames: UInt64 = 0

    public init() {}

    @inlinable
    public mutating func record(_ frame: CapturedFrame) {
        frames += 1
        bytes += UInt64(frame.originalLength)
        if frame.bytes.count < frame.originalLength { truncatedFrames += 1 }
        if firstTimestamp == nil || frame.timestamp < firstTimestamp! { firstTimestamp = frame.timestamp }
        if lastTimestamp == nil || lastTimestamp! < frame.timestamp { lastTimestamp = frame.timestamp }
        // The set is consulted only when the link type changes (once per input, usually):
        // a lookup per packet costs a hash.
        if frame.linkType != lastLinkType {
            lastLinkType = frame.linkType
            linkTypes.insert(frame.linkType)
        }
    }

    @usableFromInline var lastLinkType: LinkType? = nil

    /// Counts the frame and decodes it into `segment`: true for a TCP segment, false when the
    /// frame was skipped (the reason counted). See `PacketDecoder.decode(_:into:)`.
    @inlinable
    public mutating func decode(_ frame: CapturedFrame, into segment: inout TCPSegment) -> Bool {
        record(frame)
        if let reason = PacketDecoder.decode(frame, into: &segment) {
            record(skip: reason)
            return false
        }
        tcpSegments += 1
        return true
    }

    public mutating func record(skip reason: SkipReason) {
        skipped[reason, default: 0] += 1
    }

    public mutating func merge(_ other: PacketStatistics) {
        frames += other.frames
        bytes += other.bytes
        tcpSegments += other.tcpSegments
        truncatedFrames += other.truncatedFrames
        for (reason, count) in other.skipped { skipped[reason, default: 0] += count }
        if let t = other.firstTimestamp, firstTimestamp == nil || t < firstTimestamp! { firstTimestamp = t }
        if let t = other.lastTimestamp, lastTimestamp == nil || lastTimestamp! < t { lastTimestamp = t }
        linkTypes.formUnion(other.linkTypes)
    }
}
