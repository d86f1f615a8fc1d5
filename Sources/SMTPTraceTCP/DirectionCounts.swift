/// Two counts of a connection or a session, one per direction of sending (client to server
/// first), held inline: counted on every packet, where a list would be checked for uniqueness
/// each time, and copied into every connection summary, where a list of two cost an allocation.
public struct DirectionCounts: Sendable, Equatable {
    public var clientToServer: UInt64
    public var serverToClient: UInt64

    public static let zero = DirectionCounts(clientToServer: 0, serverToClient: 0)

    public init(clientToServer: UInt64, serverToClient: UInt64) {
        self.clientToServer = clientToServer
        self.serverToClient = serverToClient
    }

    /// The count of what `direction` carried.
    public subscript(direction: Direction) -> UInt64 {
        get { direction == .clientToServer ? clientToServer : serverToClient }
        set { if direction == .clientToServer { clientToServer = newValue } else { serverToClient = newValue } }
    }

    /// The same counts with the roles swapped (the guessed TCP client was the SMTP server).
    public var reversed: DirectionCounts { DirectionCounts(clientToServer: serverToClient, serverToClient: clientToServer) }
}
