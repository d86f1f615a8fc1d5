/// A capture's data link type, as libpcap reports it (`pcap_datalink`, DLT_* values).
///
/// Only the values smtp-trace decodes have names; any other value is carried through, counted
/// and skipped by the packet decoder.
public struct LinkType: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    public static let null = LinkType(rawValue: 0)
    public static let ethernet = LinkType(rawValue: 1)
    /// DLT_RAW as most platforms number it; 14 on OpenBSD, 101 as LINKTYPE_RAW in files.
    public static let raw = LinkType(rawValue: 12)
    public static let rawOpenBSD = LinkType(rawValue: 14)
    public static let rawLinkType = LinkType(rawValue: 101)
    /// OpenBSD loopback: like `null` but the address family is in network byte order.
    public static let loop = LinkType(rawValue: 108)
    public static let linuxSLL = LinkType(rawValue: 113)
    public static let ipv4 = LinkType(rawValue: 228)
    public static let ipv6 = LinkType(rawValue: 229)
    public static let linuxSLL2 = LinkType(rawValue: 276)

    public var name: String {
        switch self {
        case .null: "NULL (BSD loopback)"
        case .ethernet: "Ethernet"
        case .raw, .rawOpenBSD, .rawLinkType: "Raw IP"
        case .loop: "LOOP (OpenBSD loopback)"
        case .linuxSLL: "Linux cooked (SLL)"
        case .ipv4: "Raw IPv4"
        case .ipv6: "Raw IPv6"
        case .linuxSLL2: "Linux cooked v2 (SLL2)"
        default: "DLT \(rawValue)"
        }
    }

    public var description: String { name }
}
