import SMTPTraceCapture
import SMTPTracePackets

/// A run of in-order bytes of one direction, all carried by one packet.
///
/// `bytes` is borrowed: valid only during the consumer's `handle` call. `frame` and
/// `timestamp` name the packet that carried them, so every byte can be cited as evidence.
public struct StreamChunk {
    public var bytes: UnsafeRawBufferPointer
    public var frame: UInt64
    public var timestamp: CaptureTimestamp
    /// Offset of the first byte from the start of this direction's stream.
    public var streamOffset: UInt64

    public init(bytes: UnsafeRawBufferPointer, frame: UInt64, timestamp: CaptureTimestamp, streamOffset: UInt64) {
        self.bytes = bytes
        self.frame = frame
        self.timestamp = timestamp
        self.streamOffset = streamOffset
    }
}

/// Why a connection left the table.
public enum ConnectionCloseReason: Sendable, Equatable {
    /// Both sides sent FIN and every byte before them was delivered.
    case finished
    /// A RST ended it; `by` is the side that sent the reset.
    case reset(by: Direction)
    /// No packet for longer than the idle timeout (capture time).
    case idleTimeout
    /// The capture ended with the connection still open.
    case captureEnd
    /// The connection table was full and this was the least recently active connection.
    case evicted
    /// A new SYN reused the 4-tuple with another initial sequence number.
    case superseded
}

/// What the reassembler tells a stream consumer, in this order per connection:
/// `opened`, then any number of `data`/`gap`/`finished`(per direction), then `closed` once.
public enum StreamEvent {
    case opened
    case data(Direction, StreamChunk)
    /// Bytes of this direction that were never captured; the consumer resynchronises.
    case gap(Direction, missingBytes: Int, frame: UInt64, timestamp: CaptureTimestamp)
    /// The direction's FIN was reached in sequence: no more bytes will come that way.
    case finished(Direction, frame: UInt64, timestamp: CaptureTimestamp)
    /// A RST was seen from `by`.
    case reset(by: Direction, frame: UInt64, timestamp: CaptureTimestamp)
    /// The connection left the table; the summary holds the TCP evidence.
    case closed(ConnectionCloseReason, timestamp: CaptureTimestamp, summary: TCPConnectionSummary)
}

/// What a consumer wants after an event.
public enum StreamDisposition: Sendable {
    case keepDelivering
    /// Stop buffering and delivering bytes for this connection (not a protocol of interest);
    /// its TCP state is still followed and `closed` still arrives.
    case ignore
}

/// Receives ordered bytes and stream events for every connection.
public protocol TCPStreamConsumer: AnyObject {
    func handle(_ event: StreamEvent, on connection: TCPConnection) -> StreamDisposition
    /// In-order bytes, the commonest event, without wrapping them in a `StreamEvent`; the same
    /// as `handle(.data(direction, chunk), on:)`.
    func receive(_ chunk: StreamChunk, from direction: Direction, on connection: TCPConnection) -> StreamDisposition
}

extension TCPStreamConsumer {
    public func receive(_ chunk: StreamChunk, from direction: Direction, on connection: TCPConnection) -> StreamDisposition {
        handle(.data(direction, chunk), on: connection)
    }
}
