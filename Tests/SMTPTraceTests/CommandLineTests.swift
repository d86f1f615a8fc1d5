import Foundation
import SMTPTraceCapture
import Testing

/// The executable as a user runs it: exit statuses, one-line errors, JSON Lines, stdin.
@Suite(.serialized)
struct CommandLineTests {
    @Test func missingFileIsOneLineNamingItWithStatus3() throws {
        let run = try runTool(["/nonexistent/capture.pcap"])
        #expect(run.status == 3)
        #expect(run.stderr == "smtp-trace: cannot read '/nonexistent/capture.pcap': no such file; check the path\n")
        #expect(run.stdout.isEmpty)
    }

    @Test func aFileThatIsNotACaptureSaysSo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-trace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("notes.txt")
        try Data("this is not a capture, just some text\n".utf8).write(to: text)
        let empty = dir.appendingPathComponent("empty.pcap")
        try Data().write(to: empty)
        let notCapture = try runTool([text.path])
        #expect(notCapture.status == 3)
        #expect(notCapture.stderr.hasPrefix("smtp-trace: cannot read '\(text.path)': not a pcap or pcapng capture ("))
        #expect(notCapture.stderr.split(separator: "\n").count == 1)
        let emptyRun = try runTool([empty.path])
        #expect(emptyRun.status == 3)
        #expect(emptyRun.stderr == "smtp-trace: cannot read '\(empty.path)': not a pcap or pcapng capture (the file is empty); check the file or convert it with editcap\n")
        let directory = try runTool([dir.path])
        #expect(directory.status == 3)
        #expect(directory.stderr.contains("it is a directory"))
    }

    @Test func aTruncatedCaptureReportsWhatWasReadAndWarnsWithStatus4() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("ipv4-ethernet.pcap")))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("truncated-\(UUID().uuidString).pcap")
        defer { try? FileManager.default.removeItem(at: path) }
        // Cut in the middle of the 24th record.
        try original.prefix(original.count - 150).write(to: path)
        let run = try runTool(["--json", path.path])
        #expect(run.status == 4)
        #expect(run.stderr.hasPrefix("smtp-trace: warning: '\(path.path)' is damaged or truncated after frame "))
        let summary = try #require(run.stdout.split(separator: "\n").last)
        let object = try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: Any]
        #expect(object?["type"] as? String == "summary")
        #expect((object?["packets"] as? Int ?? 0) >= 20)
        #expect((object?["warnings"] as? [String])?.count == 1)
    }

    @Test func standardInputAndSeveralFilesMergedInTimeOrder() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("ipv4-ethernet.pcap")))
        let stdin = try runTool(["--json", "-"], stdin: data)
        #expect(stdin.status == 0)
        #expect(stdin.stdout.split(separator: "\n").count == 2)
        #expect(stdin.stdout.contains("\"inputs\":[\"(standard input)\"]"))

        let merged = try runTool(["--json", "-r", TestPaths.fixture("two-sessions.pcap"), TestPaths.fixture("ipv4-ethernet.pcap")])
        #expect(merged.status == 0)
        let lines = merged.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let sessions = lines.compactMap { $0 }.filter { $0["type"] as? String == "session" }
        #expect(sessions.count == 3)
        let summary = try #require(lines.last??["packets"] as? Int)
        #expect(summary == 53 + 26)
    }

    /// JSON from files leaves in batches of 256 KiB: 100 inputs (200 sessions, about 650 KB of
    /// records, written by two threads) come out whole — every record once, each line valid,
    /// the summary last — across the batch boundaries.
    @Test func jsonRecordsSurviveTheirBatches() throws {
        let inputs = Array(repeating: TestPaths.fixture("two-sessions.pcap"), count: 100)
        let run = try runTool(["--independent", "--json"] + inputs)
        #expect(run.status == 0)
        #expect(run.stdout.utf8.count > 2 * 262_144)
        let lines = run.stdout.split(separator: "\n")
        let records = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(records.count == lines.count)
        let ids = records.filter { $0["type"] as? String == "session" }.compactMap { $0["id"] as? Int }
        #expect(ids.sorted() == Array(1...200))
        #expect(records.last?["type"] as? String == "summary")
        #expect(records.last?["sessions"] as? Int == 200)
    }

    /// Separate captures analysed in parallel: every session once, ids unique, counts summed.
    @Test func independentInputsAreAnalysedSeparately() throws {
        let run = try runTool(["--independent", "--json", TestPaths.fixture("two-sessions.pcap"),
                               TestPaths.fixture("founding-helo-trailing-dot.pcap")])
        #expect(run.status == 0)
        let records = run.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let ids = records.filter { $0["type"] as? String == "session" }.compactMap { $0["id"] as? Int }
        #expect(ids.sorted() == [1, 2, 3])
        #expect(records.filter { $0["type"] as? String == "finding" }.count == 6)
        #expect(records.last?["packets"] as? Int == 53 + 17)
        #expect(records.last?["sessions"] as? Int == 3)
        let text = try runTool(["--independent", "--width", "100", TestPaths.fixture("two-sessions.pcap"),
                                TestPaths.fixture("founding-helo-trailing-dot.pcap")])
        #expect(text.stdout.hasPrefix("smtp-trace · 2 files · 3 SMTP sessions · 3 errors, 3 warnings"))
    }

    @Test func usageErrorsExitWith2() throws {
        #expect(try runTool([]).status == 2)
        #expect(try runTool(["--ports", "25,abc", TestPaths.fixture("ipv4-ethernet.pcap")]).status == 2)
        #expect(try runTool(["-", "-"]).status == 2)
    }

    @Test func textReportListsTheSessionAndTheOverview() throws {
        let run = try runTool(["--width", "200", TestPaths.fixture("ipv4-ethernet.pcap")])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "smtp-trace · \(TestPaths.fixture("ipv4-ethernet.pcap")) · 1 SMTP session · no findings")
        #expect(lines[2] == "Sessions")
        #expect(lines[3].hasPrefix("  #  client"))
        #expect(lines[4].contains("127.0.0.1:25"))
        #expect(lines[4].contains("client.example.org"))
        #expect(lines[4].contains("alice@example.org"))
        #expect(lines[4].contains("221  quit"))
        #expect(run.stdout.contains("  packets    26 (2.3 KB)\n"))
        #expect(run.stdout.contains("  link type  Ethernet\n"))
        #expect(run.stdout.contains("  SMTP       1 sessions, 1 messages (ended: 1 quit)\n"))
    }
}
