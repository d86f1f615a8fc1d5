import SMTPTraceCapture
import SMTPTracePackets
import Testing

/// Header layouts real captures here do not contain (IPv6 extension headers, fragments,
/// padding) and garbage, built byte by byte.
struct PacketDecoderTests {
    static let tcpHeader: [UInt8] = [
        0x9c, 0x40, 0x00, 0x19,  // 40000 → 25
        0x00, 0x00, 0x03, 0xe9,  // seq 1001
        0x00, 0x00, 0x00, 0x00,  // ack
        0x50, 0x18, 0xff, 0xff,  // offset 5, PSH|ACK, window
        0x00, 0x00, 0x00, 0x00,
    ]

    func decode(_ bytes: [UInt8], link: LinkType = .raw, originalLength: Int? = nil) -> DecodedPacket {
        bytes.withUnsafeBytes { raw in
            PacketDecoder.decode(CapturedFrame(number: 1, timestamp: .zero, linkType: link,
                                               originalLength: originalLength ?? bytes.count, bytes: raw))
        }
    }

    func ipv4(payload: [UInt8], totalLength: Int? = nil, fragment: UInt16 = 0x4000, proto: UInt8 = 6) -> [UInt8] {
        let length = totalLength ?? 20 + payload.count
        return [0x45, 0, UInt8(length >> 8), UInt8(length & 0xff), 0, 1, UInt8(fragment >> 8), UInt8(fragment & 0xff),
                64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2] + payload
    }

    func ipv6(next: UInt8, payload: [UInt8]) -> [UInt8] {
        var header: [UInt8] = [0x60, 0, 0, 0, UInt8(payload.count >> 8), UInt8(payload.count & 0xff), next, 64]
        header += [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]
        header += [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [2]
        return header + payload
    }

    func segment(_ result: DecodedPacket) -> TCPSegment? {
        if case .tcp(let s) = result { return s }
        return nil
    }

    @Test func ipv6ExtensionHeadersAreWalked() throws {
        let data = Array("EHLO x\r\n".utf8)
        // Hop-by-hop (8 bytes) → destination options (16 bytes) → TCP.
        let hopByHop: [UInt8] = [60, 0, 1, 4, 0, 0, 0, 0]
        let destination: [UInt8] = [6, 1] + Array(repeating: 0, count: 14)
        let packet = ipv6(next: 0, payload: hopByHop + destination + Self.tcpHeader + data)
        let s = try #require(segment(decode(packet)))
        #expect(String(decoding: s.payload, as: UTF8.self) == "EHLO x\r\n")
        #expect(s.source.description == "[2001:db8::1]:40000")
        #expect(s.destination.port == 25)
        #expect(s.sequenceNumber == 1001)
        #expect(s.flags == [.psh, .ack])
    }

    @Test func ipv6FragmentsAreCountedNotDecoded() {
        let first: [UInt8] = [6, 0, 0x00, 0x01, 0, 0, 0, 1]  // offset 0, M set
        let atomic: [UInt8] = [6, 0, 0x00, 0x00, 0, 0, 0, 1]  // offset 0, M clear: whole datagram
        if case .skipped(let reason) = decode(ipv6(next: 44, payload: first + Self.tcpHeader)) {
            #expect(reason == .ipFragment)
        } else {
            Issue.record("a fragment was decoded as TCP")
        }
        #expect(segment(decode(ipv6(next: 44, payload: atomic + Self.tcpHeader))) != nil)
    }

    @Test func ipv4FragmentsAndOtherProtocolsAreSkipped() {
        let fragment = ipv4(payload: Self.tcpHeader, fragment: 0x2000)
        let udp = ipv4(payload: Self.tcpHeader, proto: 17)
        #expect({ if case .skipped(.ipFragment) = decode(fragment) { true } else { false } }())
        #expect({ if case .skipped(.notTCP) = decode(udp) { true } else { false } }())
    }

    @Test func ethernetPaddingIsCutByTheIPLength() throws {
        let ethernet: [UInt8] = Array(repeating: 0xaa, count: 12) + [0x08, 0x00]
        let packet = ethernet + ipv4(payload: Self.tcpHeader + Array("QUIT\r\n".utf8)) + [0, 0, 0, 0]
        let s = try #require(segment(decode(packet, link: .ethernet)))
        #expect(String(decoding: s.payload, as: UTF8.self) == "QUIT\r\n")
    }

    @Test func snaplenCutIsReportedAsMissingPayload() throws {
        let full = ipv4(payload: Self.tcpHeader + Array("MAIL FROM:<a@b>\r\n".utf8))
        let cut = Array(full.prefix(44))  // 4 payload bytes captured of 17
        let s = try #require(segment(decode(cut, originalLength: full.count)))
        #expect(s.payload.count == 4)
        #expect(s.missingPayloadLength == 13)
    }

    /// Random bytes on every link type: never a trap, always a result.
    @Test func garbageNeverTraps() {
        var generator = SplitMix64(seed: 0x5eed)
        let links: [LinkType] = [.null, .ethernet, .raw, .linuxSLL, .linuxSLL2, .loop, .ipv4, .ipv6, LinkType(rawValue: 147)]
        var decoded = 0
        for i in 0..<20_000 {
            let length = Int(generator.next() % 120)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Make some of them look like IP, so the deeper decoders get exercised too.
            if i % 3 == 0, length > 1 { bytes[0] = i % 2 == 0 ? 0x45 : 0x60 }
            if case .tcp = decode(bytes, link: links[i % links.count]) { decoded += 1 }
        }
        #expect(decoded < 20_000)
    }
}

/// A small deterministic generator for repeatable random tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
