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
        if a < b {
            low = a
            high = b
        } else {
            low = b
            high = a
        }
    }
}
