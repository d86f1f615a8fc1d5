/// Two counts of a connection, one per direction of sending (indexed by `Direction.rawValue`:
/// client to server first), held inline: a list of two allocated and freed a buffer for every
/// connection summary.
public struct DirectionCounts: Sendable, Equatable, ExpressibleByArrayLiteral {
    public var clientToServer: UInt64
    public var serverToClient: UInt64

    public init(clientToServer: UInt64, serverToClient: UInt64) {
        self.clientToServer = clientToServer
        self.serverToClient = serverToClient
    }

    /// `[client to server, server to client]`.
    public init(arrayLiteral counts: UInt64...) {
        precondition(counts.count == 2, "one count per direction")
        self.init(clientToServer: counts[0], serverToClient: counts[1])
    }

    /// The count of the direction whose `rawValue` is `index` (0 or 1).
    public subscript(index: Int) -> UInt64 {
        get { index == 0 ? clientToServer : serverToClient }
        set { if index == 0 { clientToServer = newValue } else { serverToClient = newValue } }
    }

    /// The same counts with the roles swapped (the guessed TCP client was the SMTP server).
    public var reversed: DirectionCounts { DirectionCounts(clientToServer: serverToClient, serverToClient: clientToServer) }
}
