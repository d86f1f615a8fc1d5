import Foundation
import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTraceReports
import SMTPTraceSMTP
import SMTPTraceTCP
import Testing

/// A capture spread over several analysis threads must give exactly what one thread gives:
/// the same sessions with the same ids, the same findings, counts and summary, and sessions
/// streamed in the same order.
struct ShardedAnalysisTests {
    struct Run: Equatable {
        var json: String
        /// Session ids in the order they were streamed, and the frames of streamed findings of
        /// connections without a session.
        var streamed: [Int]
        var connectionFindings: [UInt64]
    }

    static func run(_ paths: [String], shards: Int?, configuration: AnalyzerConfiguration = AnalyzerConfiguration(),
                    blockBytes: Int = 1 << 20) throws -> Run {
        var streamed: [Int] = []
        var connectionFindings: [UInt64] = []
        let result: AnalysisResult
        let source = try MergedFrameSource(paths: paths)
        if let shards {
            let sharded = ShardedAnalysis(source: source, configuration: configuration, shards: shards,
                                          blockBytes: blockBytes, blocksPerShard: 2)
            sharded.merge.output.sessionEnded = { session, _ in streamed.append(session.id) }
            sharded.merge.output.connectionEnded = { findings in connectionFindings += findings.map(\.frame) }
            result = sharded.run()
        } else {
            let analyzer = CaptureAnalyzer(configuration: configuration)
            analyzer.output.sessionEnded = { session, _ in streamed.append(session.id) }
            analyzer.output.connectionEnded = { findings in connectionFindings += findings.map(\.frame) }
            result = try CaptureAnalyzer.analyze(source, with: analyzer)
        }
        return Run(json: JSONLinesReport.render(result, inputs: ["x"]), streamed: streamed,
                   connectionFindings: connectionFindings)
    }

    static func captures() -> [String] {
        let fixtures = (try? FileManager.default.contentsOfDirectory(
            atPath: TestPaths.packageRoot.appendingPathComponent("Fixtures").path)) ?? []
        return fixtures.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted().map(TestPaths.fixture)
            + CorpusTests.captures().map(\.path)
    }

    /// Every fixture and corpus capture, on 1, 2 and 3 shards, with blocks small enough (2 KiB)
    /// that frames, sweeps and watermarks cross block boundaries all the time.
    @Test func sameResultsAsOneThreadOnEveryCapture() throws {
        let captures = Self.captures()
        #expect(captures.count >= 38)
        var compared = 0
        for path in captures {
            let one = try Self.run([path], shards: nil)
            for shards in [1, 2, 3] {
                let spread = try Self.run([path], shards: shards, blockBytes: 2048)
                #expect(spread == one, "\(path) on \(shards) shards")
            }
            compared += 1
        }
        #expect(compared == captures.count)
    }

    /// Idle sweeps close connections at the same moments on every shard: with a 1 s idle
    /// timeout, 77 sessions of the corpus and fixtures end by it (as `timeout` or, when one
    /// side had closed, `half_open`), and every capture still comes out the same.
    @Test func idleTimeoutsCloseTheSameConnectionsInTheSameOrder() throws {
        var configuration = AnalyzerConfiguration()
        configuration.reassembly = ReassemblyLimits(idleTimeout: 1)
        var timedOut = 0
        for path in Self.captures() {
            let one = try Self.run([path], shards: nil, configuration: configuration)
            timedOut += one.json.components(separatedBy: "\"close\":\"timeout\"").count - 1
                + one.json.components(separatedBy: "\"close\":\"half_open\"").count - 1
            for shards in [2, 3] {
                #expect(try Self.run([path], shards: shards, configuration: configuration, blockBytes: 2048) == one, "\(path)")
            }
        }
        #expect(timedOut == 77)
        // Every fixture as one capture (merged in time: recordings minutes apart): each new
        // recording's first packet sweeps the previous ones' connections, on every shard at
        // once, and they must close in the order they began across shards.
        let fixtures = Self.captures().filter { $0.hasPrefix(TestPaths.fixture("")) }
        let one = try Self.run(fixtures, shards: nil, configuration: configuration)
        #expect(one.streamed.count == 38)
        for shards in [2, 3] {
            #expect(try Self.run(fixtures, shards: shards, configuration: configuration, blockBytes: 2048) == one)
        }
    }

    /// Two files read as one capture, and a file cut short: merged frame numbers and the
    /// warning are the same.
    @Test func mergedInputsAndReadErrors() throws {
        let pair = [TestPaths.fixture("two-sessions.pcap"), TestPaths.fixture("founding-helo-trailing-dot.pcap")]
        #expect(try Self.run(pair, shards: 2, blockBytes: 2048) == Self.run(pair, shards: nil))
        let original = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("ipv4-ethernet.pcap")))
        let cut = FileManager.default.temporaryDirectory.appendingPathComponent("cut-\(UUID().uuidString).pcap")
        defer { try? FileManager.default.removeItem(at: cut) }
        try original.prefix(original.count - 150).write(to: cut)
        let one = try Self.run([cut.path], shards: nil)
        #expect(one.json.contains("damaged or truncated"))
        #expect(try Self.run([cut.path], shards: 2) == one)
    }
}
