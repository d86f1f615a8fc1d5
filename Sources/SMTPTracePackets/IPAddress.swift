/// An IPv4 or IPv6 address held inline (no allocation), comparable so that connection keys
/// can be put in canonical order.
public enum IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt64, UInt64)

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        case (.v6(let a1, let a2), .v6(let b1, let b2)): a1 != b1 ? a1 < b1 : a2 < b2
        }
    }

    public var isIPv6: Bool { if case .v6 = self { true } else { false } }

    public var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\((v >> 16) & 0xff).\((v >> 8) & 0xff).\(v & 0xff)"
        case .v6(let high, let low):
            return Self.formatIPv6(high: high, low: low)
        }
    }

    /// RFC 5952 text: lower-case hex, longest run of two or more zero groups as `::`.
    static func formatIPv6(high: UInt64, low: UInt64) -> String {
        String(unsafeUninitializedCapacity: maxIPv6TextLength) { writeIPv6(high: high, low: low, to: $0.baseAddress!) }
    }

    /// The longest IPv6 text `writeIPv6` writes (eight groups of four digits and seven colons).
    public static let maxIPv6TextLength = 39

    /// Writes the RFC 5952 text of an IPv6 address at `out` (room for `maxIPv6TextLength`
    /// octets) and returns its length: for the JSON writer, which writes it in place, and for
    /// `description`.
    public static func writeIPv6(high: UInt64, low: UInt64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        @inline(__always) func group(_ i: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (i < 4 ? high : low) >> (48 - 16 * UInt64(i & 3)))
        }
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && group(i) == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        let hex: StaticString = "0123456789abcdef"
        var n = 0, i = 0
        while i < 8 {
            if i == bestStart {
                out[n] = UInt8(ascii: ":")
                out[n + 1] = UInt8(ascii: ":")
                n += 2
                i += bestLength
                continue
            }
            if n > 0 && out[n - 1] != UInt8(ascii: ":") {
                out[n] = UInt8(ascii: ":")
                n += 1
            }
            // The group in hex without leading zeros.
            let g = group(i)
            var shift = 12
            while shift > 0 && (g >> UInt16(shift)) & 0xF == 0 { shift -= 4 }
            while shift >= 0 {
                out[n] = hex.utf8Start[Int((g >> UInt16(shift)) & 0xF)]
                n += 1
                shift -= 4
            }
            i += 1
        }
        return n
    }
}

/// An address and a TCP port.
public struct Endpoint: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    public static func < (lhs: Endpoint, rhs: Endpoint) -> Bool {
        lhs.address != rhs.address ? lhs.address < rhs.address : lhs.port < rhs.port
    }

    /// `192.0.2.1:25`, or `[2001:db8::1]:25` for IPv6.
    public var description: String {
        address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
