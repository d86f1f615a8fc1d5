/// One captured packet, as handed out by a `FrameSource`.
///
/// `bytes` is borrowed from the capture library: it stays valid only until the source that
/// produced it is asked for its next frame. Nothing downstream keeps it; whatever must outlive
/// the frame (out-of-order TCP data, a command line) is copied by its owner.
public struct CapturedFrame {
    /// 1-based frame number, as Wireshark and tshark number frames (in merged order when
    /// several files are read as one capture).
    public var number: UInt64
    public var timestamp: CaptureTimestamp
    public var linkType: LinkType
    /// Bytes on the wire; `bytes.count` may be smaller when the snaplen cut the packet.
    public var originalLength: Int
    public var bytes: UnsafeRawBufferPointer
    /// Index of the input file the frame came from (0 for a single file or an interface).
    public var sourceIndex: Int
    /// Where `bytes` starts in the capture file, when the file can give them again
    /// (`CaptureFileBytes`); -1 otherwise (an interface, a pipe, a file read through libpcap).
    public var fileOffset: Int64

    public init(
        number: UInt64, timestamp: CaptureTimestamp, linkType: LinkType, originalLength: Int,
        bytes: UnsafeRawBufferPointer, sourceIndex: Int = 0, fileOffset: Int64 = -1
    ) {
        self.number = number
        self.timestamp = timestamp
        self.linkType = linkType
        self.originalLength = originalLength
        self.bytes = bytes
        self.sourceIndex = sourceIndex
        self.fileOffset = fileOffset
    }

    /// Bytes of the packet that the capture did not keep (snaplen).
    public var missingLength: Int { max(0, originalLength - bytes.count) }
}
