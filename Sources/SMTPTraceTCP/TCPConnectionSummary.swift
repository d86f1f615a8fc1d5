import SMTPTraceCapture
import SMTPTracePackets

/// What the TCP layer knows about a connection when it leaves the table: the evidence that
/// `tcp.*` findings and a session's `close` rest on. Plain values, no bytes.
public struct TCPConnectionSummary: Sendable, Equatable {
    /// A FIN: which side sent it, where, and what the other side did after it.
    public struct FIN: Sendable, Equatable {
        public var side: Direction
        public var frame: UInt64
        public var timestamp: CaptureTimestamp

        public init(side: Direction, frame: UInt64, timestamp: CaptureTimestamp) {
            self.side = side
            self.frame = frame
            self.timestamp = timestamp
        }
    }

    /// A RST that ended the connection.
    public struct Reset: Sendable, Equatable {
        public var side: Direction
        public var frame: UInt64
        public var timestamp: CaptureTimestamp
        /// Payload octets carried on the RST itself.
        public var payloadBytes: Int

        public init(side: Direction, frame: UInt64, timestamp: CaptureTimestamp, payloadBytes: Int) {
            self.side = side
            self.frame = frame
            self.timestamp = timestamp
            self.payloadBytes = payloadBytes
        }
    }

    /// Octets never captured in one direction.
    public struct Gap: Sendable, Equatable {
        public var side: Direction
        /// The first frame after the hole (or the acknowledging frame).
        public var frame: UInt64
        public var timestamp: CaptureTimestamp
        public var missingBytes: Int

        public init(side: Direction, frame: UInt64, timestamp: CaptureTimestamp, missingBytes: Int) {
            self.side = side
            self.frame = frame
            self.timestamp = timestamp
            self.missingBytes = missingBytes
        }
    }

    /// A TCP event worth showing in a transcript.
    public struct Event: Sendable, Equatable {
        public enum Kind: String, Sendable {
            case syn = "SYN"
            case synAck = "SYN-ACK"
            case fin = "FIN"
            case rst = "RST"
            case retransmission = "retransmission"
            case outOfOrder = "out of order"
            case gap = "gap"
            case ignoredReset = "RST out of window (ignored)"
        }

        public var kind: Kind
        public var side: Direction
        public var frame: UInt64
        public var timestamp: CaptureTimestamp
        /// Bytes involved (gap size, retransmitted payload), where it applies.
        public var bytes: Int

        public init(kind: Kind, side: Direction, frame: UInt64, timestamp: CaptureTimestamp, bytes: Int = 0) {
            self.kind = kind
            self.side = side
            self.frame = frame
            self.timestamp = timestamp
            self.bytes = bytes
        }
    }

    public var connectionID: UInt64
    public var client: Endpoint
    public var server: Endpoint
    public var firstFrame: UInt64
    public var lastFrame: UInt64
    public var firstTimestamp: CaptureTimestamp
    public var lastTimestamp: CaptureTimestamp
    /// No SYN was seen: the connection was open when the capture began.
    public var midstream: Bool
    public var handshakeCompleted: Bool
    public var closeReason: ConnectionCloseReason
    /// FINs in the order they were reached.
    public var fins: [FIN]
    public var reset: Reset?
    /// Out-of-window RSTs that were ignored.
    public var ignoredResets: Int
    public var gaps: [Gap]
    /// Payload octets each side sent after the other side's FIN (by the sender's direction):
    /// bytes a half-open connection kept carrying.
    public var bytesAfterPeerFIN: DirectionCounts
    public var counters: ReassemblyCounters
    /// The first TCP events, for transcripts (bounded: `eventsNotKept` counts the rest).
    public var events: [Event] = []
    public var eventsNotKept = 0

    /// Packets captured from each side (by the sender's direction).
    public var packetsBySide: DirectionCounts

    /// One side finished and the other neither closed nor reset — and the other side was seen
    /// at all (a capture of one direction cannot tell).
    public var isHalfOpen: Bool {
        guard fins.count == 1, reset == nil else { return false }
        switch closeReason {
        case .captureEnd, .idleTimeout, .evicted: break
        default: return false
        }
        return packetsBySide[fins[0].side.reversed] > 0
    }
}
