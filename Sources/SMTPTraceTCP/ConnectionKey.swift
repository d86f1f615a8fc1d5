import SMTPTracePackets

/// Which way bytes travel in a connection.
public enum Direction: Int, Sendable, Hashable {
    case clientToServer = 0
    case serverToClient = 1

    public var reversed: Direction { self == .clientToServer ? .serverToClient : .clientToServer }
}

/// A connection's 4-tuple in canonical order (lower endpoint first), so that both directions
/// of a connection find the same entry.
public struct ConnectionKey: Hashable, Sendable {
    public let low: Endpoint
    public let high: Endpoint

    @inlinable
    public init(_ a: Endpoint, _ b: Endpoint) {
        // Two IPv4 endpoints (nearly every packet) in the same order as `<`, address then
        // port, compared as one word each (`fold`, address above port): `<` itself is a call
        // per packet.
        if case .v4 = a.address, case .v4 = b.address {
            (low, high) = Self.fold(a) < Self.fold(b) ? (a, b) : (b, a)
        } else if a < b {
            low = a
            high = b
        } else {
            low = b
            high = a
        }
    }

    /// One 64-bit word into the hasher instead of every field of both endpoints: the table is
    /// looked up once per packet, and each word combined costs a round of SipHash. Equality
    /// stays field by field, so a folded collision costs a comparison, never a wrong match.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(mixed)
    }

    /// The same word, for spreading connections over shards: the same on every run (the
    /// standard hasher is seeded per process), both directions alike.
    public var mixed: UInt64 {
        let x = Self.fold(low) &* 0x9E37_79B9_7F4A_7C15 ^ Self.fold(high)
        return (x ^ (x >> 29)) &* 0xBF58_476D_1CE4_E5B9
    }

    @inlinable @inline(__always)
    static func fold(_ e: Endpoint) -> UInt64 {
        switch e.address {
        case .v4(let a): return UInt64(a) << 16 | UInt64(e.port)
        case .v6(let a, let b): return (a ^ (b &* 0xC2B2_AE3D_27D4_EB4F)) &+ UInt64(e.port)
        }
    }
}
