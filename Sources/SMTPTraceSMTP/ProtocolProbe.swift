import SMTPTraceTCP

/// Decides from the first line of each side whether a connection on an unexpected port
/// speaks SMTP, as Zeek's and Arkime's detectors do: a side that opens with `EHLO`/`HELO` is
/// an SMTP client when the other side has said nothing or greeted with `220`. A `220` alone is
/// not enough (FTP greets with 220 too): the answer must be EHLO/HELO.
///
/// The bytes seen while deciding are kept (bounded) so that the session can be decoded from
/// its very first byte once it is recognised.
struct ProtocolProbe {
    struct BufferedChunk {
        var direction: Direction
        var chunk: StreamChunk
        var bytes: [UInt8]
    }

    enum Verdict: Equatable {
        case undecided
        case notSMTP
        /// SMTP, with the client on this TCP direction's sending side.
        case smtp(clientSide: Direction)
    }

    static let maxFirstLine = 512
    static let maxBuffered = 8192

    private(set) var buffered: [BufferedChunk] = []
    private var bufferedBytes = 0
    private var firstLines: [[UInt8]?] = [nil, nil]
    private var partial: [[UInt8]] = [[], []]

    mutating func take(_ event: StreamEvent) -> Verdict {
        switch event {
        case .data(let direction, let chunk):
            bufferedBytes += chunk.bytes.count
            guard bufferedBytes <= Self.maxBuffered else { return .notSMTP }
            buffered.append(BufferedChunk(direction: direction, chunk: chunk, bytes: Array(chunk.bytes)))
            let side = direction.rawValue
            if firstLines[side] == nil {
                if let newline = chunk.bytes.firstIndex(of: 0x0A) {
                    partial[side].append(contentsOf: chunk.bytes[..<newline])
                    if partial[side].last == 0x0D { partial[side].removeLast() }
                    firstLines[side] = partial[side]
                } else {
                    partial[side].append(contentsOf: chunk.bytes)
                }
                if partial[side].count > Self.maxFirstLine { return .notSMTP }
            }
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
        for direction in [Direction.clientToServer, .serverToClient] {
            guard let line = firstLines[direction.rawValue], Self.isHello(line) else { continue }
            let other = firstLines[direction.reversed.rawValue]
            if other == nil || Self.isGreeting(other!) { return .smtp(clientSide: direction) }
            return .notSMTP
        }
        for direction in [Direction.clientToServer, .serverToClient] {
            guard let line = firstLines[direction.rawValue] else { continue }
            if Self.isGreeting(line) {
                if firstLines[direction.reversed.rawValue] != nil { return .notSMTP }
            } else {
                return .notSMTP
            }
        }
        return .undecided
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
}
