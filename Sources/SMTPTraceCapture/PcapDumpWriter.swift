import CLibpcap

/// Writes frames to a pcap file through libpcap (`pcap_dump`), with nanosecond timestamps,
/// so that Wireshark and tshark open it as they open any capture.
public final class PcapDumpWriter {
    public let path: String
    private let dead: OpaquePointer
    private let dumper: OpaquePointer
    public private(set) var framesWritten: UInt64 = 0

    public init(path: String, linkType: LinkType, snapshotLength: Int = 262_144) throws(CaptureError) {
        self.path = path
        guard let dead = pcap_open_dead_with_tstamp_precision(linkType.rawValue, Int32(snapshotLength), UInt32(PCAP_TSTAMP_PRECISION_NANO))
        else { throw .openFailed(path: path, reason: "libpcap could not set up a writer for link type \(linkType.rawValue)") }
        guard let dumper = pcap_dump_open(dead, path) else {
            let reason = String(cString: pcap_geterr(dead))
            pcap_close(dead)
            throw .openFailed(path: path, reason: "cannot write it: \(reason)")
        }
        self.dead = dead
        self.dumper = dumper
    }

    deinit {
        pcap_dump_close(dumper)
        pcap_close(dead)
    }

    public func write(_ frame: CapturedFrame) {
        var header = pcap_pkthdr()
        header.ts.tv_sec = Int(frame.timestamp.seconds)
        header.ts.tv_usec = Int(frame.timestamp.nanoseconds)
        header.caplen = UInt32(frame.bytes.count)
        header.len = UInt32(frame.originalLength)
        guard let base = frame.bytes.baseAddress else { return }
        pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &header,
                  base.assumingMemoryBound(to: UInt8.self))
        framesWritten += 1
    }

    public func flush() {
        pcap_dump_flush(dumper)
    }
}
