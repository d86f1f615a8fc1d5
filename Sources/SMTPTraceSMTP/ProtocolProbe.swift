import SMTPTraceTCP

/// Decides from the first line of each side whether a connection on an unexpected port
/// speaks SMTP, as Zeek's and Arkime's detectors do: a side that opens with `EHLO`/`HELO` is
/// an SMTP client when the other side has said nothing or greeted with `220`. A `220` alone is
/// not enough (FTP greets with 220 too): the answer must be EHLO/HELO.
///
/// SMTP relayed through a proxy starts after the proxy's handshake: a complete SOCKS4/4a,
/// SOCKS5 (no authentication or username/password) or HTTP `CONNECT` exchange is skipped first.
///
/// The bytes seen while deciding are kept (bounded) so that the session can be decoded from
/// its very first byte once it is recognised.
struct ProtocolProbe {
    struct BufferedChunk {
        var direction: Direction
        var chunk: StreamChunk
        var bytes: [UInt8]
    }

    /// The proxy handshake in front of the dialogue, if any.
    enum Tunnel: String, Sendable {
        case socks4
        case socks5
        case httpConnect = "http-connect"
    }

    enum Verdict: Equatable {
        case undecided
        case notSMTP
        /// SMTP, with the client on this TCP direction's sending side; `skip` bytes of each
        /// TCP direction (indexed by `Direction.rawValue`) belong to a proxy handshake.
        case smtp(clientSide: Direction, skip: [Int], tunnel: Tunnel?)
    }

    static let maxFirstLine = 512
    static let maxBuffered = 8192

    private(set) var buffered: [BufferedChunk] = []
    /// Everything each TCP direction has sent so far (bounded by `maxBuffered` in all).
    private var sent: [[UInt8]] = [[], []]

    mutating func take(_ event: StreamEvent) -> Verdict {
        switch event {
        case .data(let direction, let chunk):
            guard sent[0].count + sent[1].count + chunk.bytes.count <= Self.maxBuffered else { return .notSMTP }
            let bytes = Array(chunk.bytes)
            buffered.append(BufferedChunk(direction: direction, chunk: chunk, bytes: bytes))
            sent[direction.rawValue] += bytes
            return decide()
        case .gap:
            return .notSMTP
        case .opened, .finished, .reset, .closed:
            return .undecided
        }
    }

    func isDataEvent(_ event: StreamEvent) -> Bool {
        if case .data = event { return true }
        return false
    }

    private func decide() -> Verdict {
        let client = sent[Direction.clientToServer.rawValue]
        let server = sent[Direction.serverToClient.rawValue]
        var skip = [0, 0]
        var tunnel: Tunnel? = nil
        switch Self.proxyHandshake(client: client, server: server) {
        case .needMore: return .undecided
        case .failed: return .notSMTP
        case .none: break
        case .complete(let kind, let clientLength, let serverLength):
            tunnel = kind
            skip = [clientLength, serverLength]
        }
        let first = [
            Self.firstLine(client[skip[0]...]),
            Self.firstLine(server[skip[1]...]),
        ]
        for side in 0...1 where (first[side] == nil && sent[side].count - skip[side] > Self.maxFirstLine) {
            return .notSMTP
        }
        for direction in [Direction.clientToServer, .serverToClient] {
            guard let line = first[direction.rawValue], Self.isHello(line) else { continue }
            let other = first[direction.reversed.rawValue]
            if other == nil || Self.isGreeting(other!) { return .smtp(clientSide: direction, skip: skip, tunnel: tunnel) }
            return .notSMTP
        }
        for direction in [Direction.clientToServer, .serverToClient] {
            guard let line = first[direction.rawValue] else { continue }
            if Self.isGreeting(line) {
                if first[direction.reversed.rawValue] != nil { return .notSMTP }
            } else {
                return .notSMTP
            }
        }
        return .undecided
    }

    static func firstLine(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        guard let newline = bytes.firstIndex(of: 0x0A) else { return nil }
        var line = Array(bytes[..<newline])
        if line.last == 0x0D { line.removeLast() }
        return line
    }

    static func isHello(_ line: [UInt8]) -> Bool {
        guard line.count >= 4 else { return false }
        let verb = line.prefix(4).map { $0 & 0xDF }  // ASCII upper-case
        guard verb == Array("EHLO".utf8) || verb == Array("HELO".utf8) else { return false }
        return line.count == 4 || line[4] == 0x20
    }

    static func isGreeting(_ line: [UInt8]) -> Bool {
        line.count >= 3 && line[0] == 0x32 && line[1] == 0x32 && line[2] == 0x30
            && (line.count == 3 || line[3] == 0x20 || line[3] == 0x2D)
    }

    // MARK: - Proxy handshakes

    enum Handshake: Equatable {
        case none
        case needMore
        case failed
        case complete(Tunnel, clientLength: Int, serverLength: Int)
    }

    static func proxyHandshake(client: [UInt8], server: [UInt8]) -> Handshake {
        guard let first = client.first else { return .none }
        switch first {
        case 0x05: return socks5(client: client, server: server)
        case 0x04: return socks4(client: client, server: server)
        case 0x43, 0x63:  // "C": CONNECT
            return httpConnect(client: client, server: server)
        default: return .none
        }
    }

    /// RFC 1928 (with RFC 1929 username/password when the server picks it).
    static func socks5(client: [UInt8], server: [UInt8]) -> Handshake {
        guard client.count >= 2 else { return .needMore }
        let greeting = 2 + Int(client[1])
        guard client[1] > 0, client[1] <= 16 else { return .none }
        guard server.count >= 2, client.count >= greeting else { return .needMore }
        guard server[0] == 0x05 else { return .none }
        var c = greeting, s = 2
        switch server[1] {
        case 0x00: break
        case 0x02:
            guard client.count >= c + 2 else { return .needMore }
            let userLength = Int(client[c + 1])
            guard client.count >= c + 2 + userLength + 1 else { return .needMore }
            let passwordLength = Int(client[c + 2 + userLength])
            c += 3 + userLength + passwordLength
            guard server.count >= s + 2 else { return .needMore }
            guard server[s + 1] == 0x00 else { return .failed }
            s += 2
        default: return .failed
        }
        guard let request = socks5AddressMessageLength(client, at: c) else { return .needMore }
        guard client[c] == 0x05, client[c + 1] == 0x01 else { return .failed }
        guard let reply = socks5AddressMessageLength(server, at: s) else { return .needMore }
        guard server[s] == 0x05, server[s + 1] == 0x00 else { return .failed }
        return .complete(.socks5, clientLength: c + request, serverLength: s + reply)
    }

    /// Length of a SOCKS5 request or reply (VER CMD/REP RSV ATYP ADDR PORT) at `offset`.
    static func socks5AddressMessageLength(_ bytes: [UInt8], at offset: Int) -> Int? {
        guard bytes.count >= offset + 5 else { return nil }
        let address: Int
        switch bytes[offset + 3] {
        case 0x01: address = 4
        case 0x03: address = 1 + Int(bytes[offset + 4])
        case 0x04: address = 16
        default: address = 4
        }
        let length = 4 + address + 2
        return bytes.count >= offset + length ? length : nil
    }

    static func socks4(client: [UInt8], server: [UInt8]) -> Handshake {
        guard client.count >= 9 else { return .needMore }
        guard client[1] == 0x01 else { return .none }
        guard let userEnd = client[8...].firstIndex(of: 0) else { return client.count > 300 ? .none : .needMore }
        var length = userEnd + 1
        if client[4] == 0 && client[5] == 0 && client[6] == 0 && client[7] != 0 {  // SOCKS4a: a domain follows
            guard let domainEnd = client[length...].firstIndex(of: 0) else { return .needMore }
            length = domainEnd + 1
        }
        guard server.count >= 8 else { return .needMore }
        guard server[0] == 0x00 else { return .none }
        guard server[1] == 0x5A else { return .failed }
        return .complete(.socks4, clientLength: length, serverLength: 8)
    }

    static func httpConnect(client: [UInt8], server: [UInt8]) -> Handshake {
        let method = Array("CONNECT ".utf8)
        guard client.count >= method.count else { return .needMore }
        guard client.prefix(method.count).map({ $0 & 0xDF | ($0 == 0x20 ? 0x20 : 0) }) == method else { return .none }
        guard let clientEnd = endOfHeaders(client) else { return .needMore }
        guard let serverEnd = endOfHeaders(server) else { return .needMore }
        let status = Array(server.prefix(12))
        guard status.starts(with: Array("HTTP/1.".utf8)), status.count == 12,
            status[8] == 0x20, status[9] == 0x32  // " 2xx"
        else { return .failed }
        return .complete(.httpConnect, clientLength: clientEnd, serverLength: serverEnd)
    }

    /// Index just past the blank line ending an HTTP header block.
    static func endOfHeaders(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0A {
                if bytes[i + 1] == 0x0A { return i + 2 }
                if bytes[i + 1] == 0x0D, i + 2 < bytes.count, bytes[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }
}
