import CLibpcap

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a pcap or pcapng file (or standard input, `-`) through libpcap, one frame at a time.
///
/// Every return code of `pcap_next_ex` is mapped: 1 is a frame, -2 the end of the file, and -1
/// a read error (most often a file cut short), which is thrown with the frame it followed.
/// The handle is closed when the reader goes away.
public final class PcapFileReader: FrameSource {
    public let path: String
    public let linkType: LinkType
    public let snapshotLength: Int
    /// Size of the file in bytes when known (not for standard input), for progress display.
    public let fileSize: Int64?
    private let handle: OpaquePointer
    private let readBuffer: UnsafeMutablePointer<CChar>
    private var framesRead: UInt64 = 0
    private var finished = false
    /// Set when the file is a plain classic pcap file: its records are then read from a memory
    /// map instead of through libpcap (which has still checked the header).
    private let mapped: MappedPcapRecords?

    /// Whether the records are read from a memory map (`MappedPcapRecords`) rather than
    /// through libpcap.
    public var isMemoryMapped: Bool { mapped != nil }

    /// The file's bytes, to be read again by the positions its frames carry
    /// (`CapturedFrame.fileOffset`): only for a mapped file, whose frames carry them.
    public private(set) lazy var rereadableBytes: CaptureFileBytes? = mapped?.rereadable()

    /// Opens a capture. `memoryMapped: false` reads every record through libpcap, even where
    /// the file could be mapped (for comparing the two).
    public init(path: String, memoryMapped: Bool = true) throws(CaptureError) {
        self.path = path
        var size: Int64? = nil
        if path != "-" {
            var info = stat()
            if stat(path, &info) != 0 {
                switch errno {
                case ENOENT, ENOTDIR: throw .noSuchFile(path: path)
                case EACCES: throw .permissionDenied(path: path)
                default: throw .openFailed(path: path, reason: String(cString: strerror(errno)))
                }
            }
            if (info.st_mode & S_IFMT) == S_IFDIR { throw .isDirectory(path: path) }
            if access(path, R_OK) != 0 { throw .permissionDenied(path: path) }
            size = Int64(info.st_size)
        }
        fileSize = size
        // The file is opened here rather than by pcap_open_offline so that its stdio buffer can
        // be set first: libpcap reads each record with fread, and glibc's default buffer (one
        // 4 KiB page) makes a read(2) every few packets — a quarter of a million system calls
        // per GiB. With 1 MiB, 256 times fewer.
        guard let file = path == "-" ? fdopen(STDIN_FILENO, "rb") : fopen(path, "rb") else {
            throw Self.classifyOpenError(path: path, message: "\(path): " + String(cString: strerror(errno)))
        }
        // glibc ignores the size unless it is given the buffer too.
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: Self.readBufferBytes)
        setvbuf(file, buffer, _IOFBF, Self.readBufferBytes)
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let opened = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer)
        guard let opened else {
            fclose(file)  // libpcap leaves a file it refused to the caller
            buffer.deallocate()
            let message = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw Self.classifyOpenError(path: path, message: message)
        }
        handle = opened
        readBuffer = buffer
        linkType = LinkType(rawValue: pcap_datalink(opened))
        snapshotLength = Int(pcap_snapshot(opened))
        mapped = memoryMapped && path != "-" && Self.mappableLinkTypes.contains(linkType)
            ? MappedPcapRecords(file: file, snapshot: snapshotLength) : nil
    }

    deinit {
        pcap_close(handle)  // closes the file too
        readBuffer.deallocate()
    }

    /// Link types whose records libpcap hands out as stored (no pseudo-header to fix up) and
    /// whose largest sane record is 256 KiB: the ones the packet decoder reads.
    static let mappableLinkTypes: Set<LinkType> = [
        .null, .ethernet, .raw, .rawOpenBSD, .rawLinkType, .loop, .linuxSLL, .ipv4, .ipv6, .linuxSLL2,
    ]

    /// Size of the stdio buffer libpcap reads through.
    static let readBufferBytes = 1 << 20

    /// Bytes of the file consumed so far (for progress); `nil` for standard input.
    public var bytesRead: Int64? {
        guard fileSize != nil else { return nil }
        if let mapped { return Int64(mapped.position) }
        guard let file = pcap_file(handle) else { return nil }
        let position = ftello(file)
        return position >= 0 ? Int64(position) : nil
    }

    public func next() throws(CaptureError) -> CapturedFrame? {
        if finished { return nil }
        if mapped != nil { return try nextMapped() }
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        let result = pcap_next_ex(handle, &header, &data)
        switch result {
        case 1:
            guard let header, let data else { return nil }
            framesRead += 1
            let h = header.pointee
            let caplen = Int(h.caplen)
            return CapturedFrame(
                number: framesRead,
                timestamp: CaptureTimestamp(
                    seconds: Int64(h.ts.tv_sec), nanoseconds: UInt32(clamping: h.ts.tv_usec)),
                linkType: linkType,
                originalLength: Int(h.len),
                bytes: UnsafeRawBufferPointer(start: data, count: caplen))
        case PCAP_ERROR_BREAK:  // -2: end of file
            finished = true
            return nil
        case 0:
            // Only live captures time out; a file never returns 0. Treat as end.
            finished = true
            return nil
        default:  // PCAP_ERROR (-1) and anything unexpected
            finished = true
            let message = String(cString: pcap_geterr(handle))
            throw .readFailed(path: path, afterFrame: framesRead, reason: message)
        }
    }

    @inline(__always)
    private func nextMapped() throws(CaptureError) -> CapturedFrame? {
        switch mapped!.next() {
        case .record(let record):
            framesRead += 1
            return CapturedFrame(
                number: framesRead,
                timestamp: CaptureTimestamp(seconds: record.seconds, nanoseconds: record.nanoseconds),
                linkType: linkType, originalLength: record.originalLength, bytes: record.bytes,
                fileOffset: Int64(record.fileOffset))
        case .end:
            finished = true
            return nil
        case .failed(let reason):
            finished = true
            throw .readFailed(path: path, afterFrame: framesRead, reason: reason)
        }
    }

    static func classifyOpenError(path: String, message: String) -> CaptureError {
        let lower = message.lowercased()
        if lower.contains("no such file") { return .noSuchFile(path: path) }
        if lower.contains("permission denied") { return .permissionDenied(path: path) }
        if lower.contains("unknown file format") || lower.contains("bad dump file")
            || lower.contains("truncated dump file") || lower.contains("format")
            || lower.contains("pcapng") || lower.contains("not a")
        {
            var reason = message
            if reason.hasPrefix(path + ": ") { reason.removeFirst(path.count + 2) }
            if lower.contains("tried to read 4 file header bytes, only got 0") {
                reason = "the file is empty"
            }
            return .notACapture(path: path, reason: reason)
        }
        return .openFailed(path: path, reason: message)
    }
}
