import CLibpcap

/// What a live capture is opened with (tcpdump's flags where they exist).
public struct LiveCaptureOptions: Sendable {
    public var interface: String
    public var snapshotLength: Int
    public var promiscuous: Bool
    /// Kernel buffer size in bytes.
    public var bufferSize: Int
    /// A BPF filter; nil for none.
    public var filter: String?

    public init(interface: String, snapshotLength: Int = 262_144, promiscuous: Bool = true,
                bufferSize: Int = 32 << 20, filter: String? = nil) {
        self.interface = interface
        self.snapshotLength = snapshotLength
        self.promiscuous = promiscuous
        self.bufferSize = bufferSize
        self.filter = filter
    }
}

/// Why a live capture could not start; every message says what to do.
public enum LiveCaptureError: Error, Equatable, Sendable, CustomStringConvertible {
    case noSuchInterface(String)
    case permissionDenied(interface: String, promiscuous: Bool)
    case filterDoesNotCompile(filter: String, reason: String)
    case failed(interface: String, reason: String)

    public var description: String {
        switch self {
        case .noSuchInterface(let name):
            return "no capture interface '\(name)'; list them with smtp-trace -D"
        case .permissionDenied(let name, let promiscuous):
            return "not allowed to capture on '\(name)': run as root, or give the binary the CAP_NET_RAW"
                + (promiscuous ? " and CAP_NET_ADMIN capabilities (or use --no-promisc)" : " capability")
                + " (setcap cap_net_raw,cap_net_admin=eip smtp-trace)"
        case .filterDoesNotCompile(let filter, let reason):
            return "the capture filter '\(filter)' does not compile: \(reason); see man 7 pcap-filter"
        case .failed(let name, let reason):
            return "cannot capture on '\(name)': \(reason)"
        }
    }
}

/// Kernel counters of a live capture (`pcap_stats`).
public struct CaptureCounters: Sendable, Equatable {
    public var received: UInt64
    public var droppedByKernel: UInt64
    public var droppedByInterface: UInt64
}

/// A capture interface as `-D` lists it.
public struct CaptureInterface: Sendable {
    public var name: String
    public var description: String?
    public var flags: [String]
}

/// A live capture on an interface through libpcap: `pcap_create`, snaplen, promiscuous mode,
/// immediate mode, a kernel buffer, nanosecond timestamps, `pcap_activate`, then the filter.
/// Reads wait at most 250 ms, so that the reader can notice it was asked to stop.
public final class LiveCapture {
    public enum Read {
        case frame(CapturedFrame)
        case timeout
        case end
    }

    public let options: LiveCaptureOptions
    public let linkType: LinkType
    /// libpcap's warning at activation (e.g. promiscuous mode not supported), if any.
    public let warning: String?
    private let handle: OpaquePointer
    private var framesRead: UInt64 = 0

    public init(_ options: LiveCaptureOptions) throws(LiveCaptureError) {
        self.options = options
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_create(options.interface, &errorBuffer) else {
            throw .failed(interface: options.interface, reason: Self.text(errorBuffer))
        }
        pcap_set_snaplen(handle, Int32(options.snapshotLength))
        pcap_set_promisc(handle, options.promiscuous ? 1 : 0)
        pcap_set_immediate_mode(handle, 1)
        pcap_set_buffer_size(handle, Int32(options.bufferSize))
        pcap_set_timeout(handle, 250)
        pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let status = pcap_activate(handle)
        var warning: String? = nil
        if status < 0 {
            let message = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            switch status {
            case PCAP_ERROR_NO_SUCH_DEVICE: throw .noSuchInterface(options.interface)
            case PCAP_ERROR_PERM_DENIED: throw .permissionDenied(interface: options.interface, promiscuous: false)
            case PCAP_ERROR_PROMISC_PERM_DENIED: throw .permissionDenied(interface: options.interface, promiscuous: true)
            default: throw .failed(interface: options.interface, reason: message)
            }
        } else if status > 0 {
            warning = String(cString: pcap_geterr(handle))
        }
        if let filter = options.filter {
            var program = bpf_program()
            if pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 {
                let reason = String(cString: pcap_geterr(handle))
                pcap_close(handle)
                throw .filterDoesNotCompile(filter: filter, reason: reason)
            }
            let set = pcap_setfilter(handle, &program)
            pcap_freecode(&program)
            if set != 0 {
                let reason = String(cString: pcap_geterr(handle))
                pcap_close(handle)
                throw .failed(interface: options.interface, reason: reason)
            }
        }
        self.handle = handle
        self.warning = warning
        self.linkType = LinkType(rawValue: pcap_datalink(handle))
    }

    deinit { pcap_close(handle) }

    /// libpcap's error buffer as text (up to its NUL).
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The next packet; `.timeout` when none came within 250 ms. The frame's bytes are valid
    /// until the next call.
    public func read() -> Read {
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        switch pcap_next_ex(handle, &header, &data) {
        case 1:
            guard let header, let data else { return .timeout }
            framesRead += 1
            let h = header.pointee
            return .frame(CapturedFrame(
                number: framesRead,
                timestamp: CaptureTimestamp(seconds: Int64(h.ts.tv_sec), nanoseconds: UInt32(clamping: h.ts.tv_usec)),
                linkType: linkType, originalLength: Int(h.len),
                bytes: UnsafeRawBufferPointer(start: data, count: Int(h.caplen))))
        case 0:
            return .timeout
        default:  // PCAP_ERROR_BREAK, or the interface went away
            return .end
        }
    }

    /// Makes a read in progress on another thread return `.end` promptly (`pcap_breakloop`
    /// wakes the poll it waits in).
    public func breakLoop() {
        pcap_breakloop(handle)
    }

    public var counters: CaptureCounters? {
        var stats = pcap_stat()
        guard pcap_stats(handle, &stats) == 0 else { return nil }
        return CaptureCounters(received: UInt64(stats.ps_recv), droppedByKernel: UInt64(stats.ps_drop),
                               droppedByInterface: UInt64(stats.ps_ifdrop))
    }

    /// Interfaces libpcap can capture on, as `tcpdump -D` lists them.
    public static func interfaces() throws(LiveCaptureError) -> [CaptureInterface] {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        var list: UnsafeMutablePointer<pcap_if_t>? = nil
        guard pcap_findalldevs(&list, &errorBuffer) == 0 else {
            throw .failed(interface: "-", reason: Self.text(errorBuffer))
        }
        defer { pcap_freealldevs(list) }
        var result: [CaptureInterface] = []
        var current = list
        while let device = current {
            let d = device.pointee
            var flags: [String] = []
            if d.flags & UInt32(PCAP_IF_UP) != 0 { flags.append("Up") }
            if d.flags & UInt32(PCAP_IF_RUNNING) != 0 { flags.append("Running") }
            if d.flags & UInt32(PCAP_IF_WIRELESS) != 0 { flags.append("Wireless") }
            if d.flags & UInt32(PCAP_IF_LOOPBACK) != 0 { flags.append("Loopback") }
            result.append(CaptureInterface(
                name: String(cString: d.name), description: d.description.map { String(cString: $0) }, flags: flags))
            current = d.next
        }
        return result
    }
}
