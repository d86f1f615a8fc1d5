import Foundation
import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTracePackets
import SMTPTraceReports
import SMTPTraceSMTP
import SMTPTraceTCP
import Testing

/// No input may crash or hang the analysis: real captures with random bytes flipped, cut
/// short, or replaced — thousands of variants, the same every run (a seeded generator) —
/// go through the whole pipeline and every report.
struct RobustnessTests {
    static let fixtures = ["founding-reply-during-data.pcap", "founding-auth.pcap", "case-smuggling-lenient.pcap",
                           "founding-bdat.pcap", "case-bad-reply.pcap", "reordered.pcap", "founding-starttls.pcap",
                           "ipv6-ethernet.pcap", "sll2.pcap", "case-long-lines.pcap"]

    @Test(arguments: fixtures)
    func mutatedCapturesNeverCrash(_ fixture: String) throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture(fixture)))
        var generator = SplitMix64(seed: fixture.utf8.reduce(UInt64(original.count)) { $0 &* 31 &+ UInt64($1) })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var analysed = 0
        for round in 0..<60 {
            var bytes = [UInt8](original)
            // Keep the 24-byte file header so libpcap reads on; mutate the records.
            let mutations = 1 + Int(generator.next() % 40)
            for _ in 0..<mutations {
                let at = 24 + Int(generator.next() % UInt64(bytes.count - 24))
                switch generator.next() % 4 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: generator.next())
                case 1: bytes[at] ^= 0xFF
                case 2: bytes[at] = [0x0D, 0x0A, 0x2E, 0x20, 0x00][Int(generator.next() % 5)]
                default: bytes[at] = bytes[24 + Int(generator.next() % UInt64(bytes.count - 24))]
                }
            }
            if round % 7 == 0 { bytes = Array(bytes.prefix(24 + Int(generator.next() % UInt64(bytes.count - 24)))) }
            let url = dir.appendingPathComponent("\(round).pcap")
            try Data(bytes).write(to: url)
            guard let source = try? MergedFrameSource(paths: [url.path]),
                let result = try? CaptureAnalyzer.analyze(source)
            else { continue }
            analysed += 1
            _ = TextReport(width: 80).render(result, inputs: ["x"])
            _ = JSONLinesReport.render(result, inputs: ["x"])
            for s in result.sessions { _ = TranscriptReport(width: 80).render(s, findings: result.findings) }
        }
        #expect(analysed > 0)
    }

    /// Random segments straight into the TCP and SMTP layers: wild sequence numbers, flags and
    /// payloads on a handful of 4-tuples.
    @Test func randomSegmentsNeverCrash() {
        var generator = SplitMix64(seed: 7)
        var sessions = 0
        let analyzer = SMTPStreamAnalyzer { _ in sessions += 1 }
        let reassembler = TCPReassembler(consumer: analyzer, serverPorts: [25], limits: ReassemblyLimits(maxConnections: 8))
        let words: [[UInt8]] = ["EHLO x\r\n", "220 hi\r\n", "DATA\r\n", "354 go\r\n", ".\r\n", "BDAT 5\r\n", "250-a\r\n",
                                "\n.\n", "AUTH LOGIN\r\n", "334 x\r\n", "STARTTLS\r\n", "\u{16}\u{03}", "QUIT\r\n"].map { Array($0.utf8) }
        for i in 0..<50_000 {
            let client = Endpoint(address: .v4(0x0A00_0000 | UInt32(generator.next() % 4)), port: 40000)
            let server = Endpoint(address: .v4(0x0A00_00FF), port: generator.next() % 5 == 0 ? 2525 : 25)
            let toServer = generator.next() % 2 == 0
            var payload: [UInt8] = []
            for _ in 0..<Int(generator.next() % 4) { payload += words[Int(generator.next() % UInt64(words.count))] }
            let flags = TCPFlags(rawValue: UInt8(truncatingIfNeeded: generator.next()) & 0x3F)
            payload.withUnsafeBytes { raw in
                reassembler.process(TCPSegment(
                    source: toServer ? client : server, destination: toServer ? server : client,
                    sequenceNumber: UInt32(truncatingIfNeeded: generator.next() % 4096),
                    acknowledgementNumber: UInt32(truncatingIfNeeded: generator.next() % 4096), flags: flags,
                    window: 1000, payload: raw, missingPayloadLength: generator.next() % 50 == 0 ? 100 : 0,
                    frameNumber: UInt64(i + 1), timestamp: CaptureTimestamp(seconds: Int64(i / 100), nanoseconds: 0)))
            }
        }
        reassembler.finish()
        #expect(reassembler.openConnections == 0)
        #expect(sessions > 0)
    }
}
