import SMTPTraceCapture

/// TCP header flags.
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
}

/// One decoded TCP segment, a view into its frame: `payload` is borrowed and valid only as
/// long as the frame is.
public struct TCPSegment {
    public var source: Endpoint
    public var destination: Endpoint
    public var sequenceNumber: UInt32
    public var acknowledgementNumber: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    /// The payload bytes that were captured.
    public var payload: UnsafeRawBufferPointer
    /// Payload bytes the IP header announces but the capture did not keep (snaplen).
    public var missingPayloadLength: Int
    public var frameNumber: UInt64
    public var timestamp: CaptureTimestamp
    /// Where the payload starts in the capture file, when the file can give it again
    /// (`CaptureFileBytes`); -1 otherwise.
    public var payloadFileOffset: Int64

    public init(
        source: Endpoint, destination: Endpoint, sequenceNumber: UInt32,
        acknowledgementNumber: UInt32, flags: TCPFlags, window: UInt16,
        payload: UnsafeRawBufferPointer, missingPayloadLength: Int = 0,
        frameNumber: UInt64, timestamp: CaptureTimestamp, payloadFileOffset: Int64 = -1
    ) {
        self.source = source
        self.destination = destination
        self.sequenceNumber = sequenceNumber
        self.acknowledgementNumber = acknowledgementNumber
        self.flags = flags
        self.window = window
        self.payload = payload
        self.missingPayloadLength = missingPayloadLength
        self.frameNumber = frameNumber
        self.timestamp = timestamp
        self.payloadFileOffset = payloadFileOffset
    }

    /// A segment with every field zero, no payload and no file offset (-1): the place a decoder writes into
    /// (`PacketDecoder.decode(_:into:)`) before it has a frame.
    public static var unset: TCPSegment {
        let nowhere = Endpoint(address: .v4(0), port: 0)
        return TCPSegment(source: nowhere, destination: nowhere, sequenceNumber: 0, acknowledgementNumber: 0,
                          flags: [], window: 0, payload: UnsafeRawBufferPointer(start: nil, count: 0),
                          frameNumber: 0, timestamp: .zero)
    }

    /// Sequence space the segment occupies: payload (captured or not) plus SYN and FIN.
    public var sequenceLength: Int {
        payload.count + missingPayloadLength + (flags.contains(.syn) ? 1 : 0)
            + (flags.contains(.fin) ? 1 : 0)
    }
}
