import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTraceSMTP
import SMTPTraceTCP
import Testing

/// TCP connection states and evidence on real captures (fixtures recorded on loopback, and
/// the shared corpus), each checked against tshark's view of the same packets.
struct TCPCaptureTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var path: String
        var corpus: Bool
        var close: SessionClose
        var fins: [(Direction, UInt64)]
        var reset: (Direction, UInt64)?
        var gaps: [(Direction, UInt64, Int)]
        var midstream: Bool
        var bytesAfterFIN: [UInt64]
        var findings: [String]
        var testDescription: String { path }
    }

    static let cases: [Case] = [
        // The founding half-open case: 552 and 421 during DATA, the server's FIN in frame 39,
        // the client ACKs it and goes on sending 16 segments (23,168 bytes); no RST ever.
        .init(path: "founding-reply-during-data.pcap", corpus: false, close: .halfOpen, fins: [(.serverToClient, 39)],
              reset: nil, gaps: [], midstream: false, bytesAfterFIN: [23_168, 0], findings: ["tcp.half_open@39"]),
        // swaks resets after the encrypted QUIT: a reset we cannot prove came after QUIT.
        .init(path: "founding-starttls.pcap", corpus: false, close: .rst, fins: [], reset: (.clientToServer, 39),
              gaps: [], midstream: false, bytesAfterFIN: [0, 0], findings: ["tcp.reset@39"]),
        .init(path: "reordered.pcap", corpus: false, close: .quit, fins: [(.clientToServer, 47), (.serverToClient, 48)],
              reset: nil, gaps: [], midstream: false, bytesAfterFIN: [0, 0], findings: []),
        // QUIT and FIN from the client (frame 55), the 221 (48 bytes) and the server's FIN after.
        .init(path: "zeek/smtp.pcap", corpus: true, close: .quit, fins: [(.clientToServer, 55), (.serverToClient, 57)],
              reset: nil, gaps: [], midstream: false, bytesAfterFIN: [0, 48], findings: []),
        // Server FIN first (frame 34) after its 521; the client's QUIT (6 bytes) and FIN follow;
        // the server's RST (frame 38) comes after both FINs, when the connection is gone.
        .init(path: "arkime/smtp-data-521.pcap", corpus: true, close: .fin, fins: [(.serverToClient, 34), (.clientToServer, 37)],
              reset: nil, gaps: [], midstream: false, bytesAfterFIN: [6, 0], findings: []),
        // One packet, no handshake.
        .init(path: "arkime/smtp-html.pcap", corpus: true, close: .captureEnd, fins: [], reset: nil, gaps: [],
              midstream: true, bytesAfterFIN: [0, 0], findings: ["tcp.midstream@1"]),
        // Client bytes 201-1200 never captured; the first frame after the hole is 26.
        .init(path: "zeek/smtp-bdat-gap.pcap", corpus: true, close: .quit, fins: [(.clientToServer, 38), (.serverToClient, 39)],
              reset: nil, gaps: [(.clientToServer, 26, 1000)], midstream: false, bytesAfterFIN: [0, 0], findings: ["tcp.gap@26"]),
    ]

    @Test(arguments: cases)
    func connectionEvidence(_ c: Case) throws {
        let path: String
        if c.corpus {
            guard let corpus = TestPaths.corpus else { return }
            path = corpus.appendingPathComponent(c.path).path
        } else {
            path = TestPaths.fixture(c.path)
        }
        let result = try analyze([path])
        let session = try #require(result.sessions.first)
        let tcp = try #require(session.tcp?.summary)
        #expect(session.close == c.close)
        #expect(tcp.fins.map(\.side) == c.fins.map(\.0))
        #expect(tcp.fins.map(\.frame) == c.fins.map(\.1))
        #expect(tcp.reset?.side == c.reset?.0)
        #expect(tcp.reset?.frame == c.reset?.1)
        #expect(tcp.gaps.map(\.side) == c.gaps.map(\.0))
        #expect(tcp.gaps.map(\.frame) == c.gaps.map(\.1))
        #expect(tcp.gaps.map(\.missingBytes) == c.gaps.map(\.2))
        #expect(tcp.midstream == c.midstream)
        #expect([tcp.bytesAfterPeerFIN.clientToServer, tcp.bytesAfterPeerFIN.serverToClient] == c.bytesAfterFIN)
        let tcpFindings = result.findings.filter { $0.session == session.id && $0.kind.id.hasPrefix("tcp.") }
        #expect(tcpFindings.map { "\($0.kind.id)@\($0.frame)" } == c.findings)
    }

    @Test func halfOpenFindingCarriesItsEvidence() throws {
        let result = try analyzeFixture("founding-reply-during-data.pcap")
        let finding = try #require(result.findings.first { $0.kind == .halfOpen })
        #expect(finding.party == .client)
        #expect(finding.severity == .warning)
        #expect(finding.frame == 39)
        let evidence = Dictionary(uniqueKeysWithValues: finding.evidence.map { ($0.key, $0.value) })
        #expect(evidence["fin_frame"] == .int(39))
        #expect(evidence["fin_by"] == .string("server"))
        #expect(evidence["bytes_after_fin"] == .int(23_168))
        #expect(evidence["until"] == .string("capture_end"))
        #expect(finding.message.hasPrefix("the server closed its side (FIN, frame 39) but the client neither closed nor reset; it sent 23168 more bytes"))
        #expect(result.findings.filter { $0.kind == .reset }.isEmpty)
    }

    /// A connection on an SMTP port whose payload was cut away by the snaplen is no session,
    /// but its gaps are still reported (session null).
    @Test func gapsOnAConnectionWithoutSMTPLines() throws {
        guard let corpus = TestPaths.corpus else { return }
        let result = try analyze([corpus.appendingPathComponent("zeek/truncated-header.pcap").path])
        #expect(result.sessions.isEmpty)
        #expect(result.connectionsOnSMTPPorts == 1)
        let gaps = result.findings.filter { $0.kind == .gap }
        #expect(!gaps.isEmpty)
        #expect(gaps.allSatisfy { $0.session == nil && $0.party == .network })
        #expect(result.packets.truncatedFrames == 24)
    }
}
