import Foundation
import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTracePackets
import SMTPTraceReports
import SMTPTraceSMTP
import Testing

/// What a user sees: terminal reports and transcripts compared with committed snapshots
/// (`SMTP_TRACE_RECORD_SNAPSHOTS=1 swift test --filter ReportTests` rewrites them after a
/// deliberate change), wire text made inert, secrets kept out, flagged packets written.
struct ReportTests {
    static let snapshots = TestPaths.packageRoot.appendingPathComponent("Tests/Snapshots")

    func assertSnapshot(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = Self.snapshots.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["SMTP_TRACE_RECORD_SNAPSHOTS"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if text != expected {
            let a = text.split(separator: "\n", omittingEmptySubsequences: false)
            let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            Issue.record("\(name) differs from the snapshot at line \(line + 1):\n  got:      \(line < a.count ? String(a[line]) : "<end>")\n  expected: \(line < b.count ? String(b[line]) : "<end>")",
                         sourceLocation: sourceLocation)
        }
    }

    func report(_ fixture: String, width: Int) throws -> String {
        TextReport(width: width).render(try analyzeFixture(fixture), inputs: ["Fixtures/" + fixture])
    }

    func transcript(_ fixture: String, session: Int = 1, width: Int = 100) throws -> String {
        let result = try analyzeFixture(fixture)
        let s = try #require(result.sessions.first { $0.id == session })
        return TranscriptReport(width: width).render(s, findings: result.findings.filter { $0.session == session })
    }

    @Test func defaultReportAt80And200Columns() throws {
        try assertSnapshot(try report("founding-reply-during-data.pcap", width: 80), named: "report-reply-during-data-80.txt")
        try assertSnapshot(try report("founding-reply-during-data.pcap", width: 200), named: "report-reply-during-data-200.txt")
        try assertSnapshot(try report("founding-helo-trailing-dot.pcap", width: 100), named: "report-helo-trailing-dot-100.txt")
        try assertSnapshot(try report("two-sessions.pcap", width: 120), named: "report-two-sessions-120.txt")
    }

    @Test func transcripts() throws {
        try assertSnapshot(try transcript("founding-reply-during-data.pcap"), named: "transcript-reply-during-data.txt")
        try assertSnapshot(try transcript("founding-ehlo-fallback-rset.pcap"), named: "transcript-ehlo-fallback-rset.txt")
        try assertSnapshot(try transcript("reordered.pcap"), named: "transcript-reordered.txt")
        try assertSnapshot(try transcript("founding-auth.pcap", session: 2), named: "transcript-auth-login.txt")
    }

    @Test func reportLinesFitTheWidth() throws {
        for width in [80, 120, 200] {
            for fixture in ["founding-reply-during-data.pcap", "founding-helo-trailing-dot.pcap", "two-sessions.pcap"] {
                let text = try report(fixture, width: width) + transcript(fixture, width: width)
                for line in text.split(separator: "\n") {
                    #expect(line.count <= width, "\(fixture) at \(width): \(line)")
                }
            }
        }
    }

    /// Every output of a capture whose SMTP lines carry ESC[2J, an OSC title sequence, BEL
    /// and an invalid byte: nothing of them reaches the output raw.
    @Test func wireEscapesComeOutInert() throws {
        let result = try analyzeFixture("founding-escape.pcap")
        let outputs = [
            TextReport(width: 200).render(result, inputs: ["x"]),
            TranscriptReport(width: 200).render(result.sessions[0], findings: result.findings),
            JSONLinesReport.render(result, inputs: ["x"]),
        ]
        for text in outputs {
            #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
            #expect(!text.unicodeScalars.contains { (0x7F...0x9F).contains($0.value) })
        }
        #expect(outputs[0].contains("client\\e[2J\u{FFFD}.example.org"))
        #expect(outputs[1].contains("220 evil\\e[2J\\e[31mRED\\x07 ESMTP"))
        #expect(outputs[2].contains("\"argument\":\"client\\u001b[2J\u{FFFD}.example.org\""))
    }

    /// AUTH PLAIN and AUTH LOGIN with a known password: in no output format, in no encoding.
    @Test func authSecretsAppearNowhere() throws {
        let result = try analyzeFixture("founding-auth.pcap")
        var outputs = [
            TextReport(width: 200).render(result, inputs: ["x"]),
            JSONLinesReport.render(result, inputs: ["x"]),
        ]
        outputs += result.sessions.map { s in TranscriptReport(width: 200).render(s, findings: result.findings) }
        let run = try runTool(["--json", TestPaths.fixture("founding-auth.pcap")])
        outputs.append(run.stdout + run.stderr)
        let secrets = ["s3cret-Passw0rd", "AGFsaWNlAHMzY3JldC1QYXNzdzByZA==", "czNjcmV0LVBhc3N3MHJk",
                       "AGFsaWNlAHMzY3JldC1QYXNzdzByZA", "czNjcmV0"]
        for text in outputs {
            for secret in secrets { #expect(!text.contains(secret), "\(secret) leaked") }
        }
        #expect(outputs[2].contains("[AUTH response, not shown]") || outputs[3].contains("[AUTH response, not shown]"))
    }

    /// The packets of the flagged session only, from two files read as one capture; the file
    /// opens through libpcap like any capture.
    @Test func writeFlaggedKeepsExactlyTheFlaggedSessions() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("flagged-\(UUID().uuidString).pcap")
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try runTool(["--json", "--write-flagged", out.path,
                               TestPaths.fixture("two-sessions.pcap"), TestPaths.fixture("founding-helo-trailing-dot.pcap")])
        #expect(run.status == 0)
        #expect(run.stderr.contains("wrote 17 packets of 1 flagged session to"))
        let reader = try PcapFileReader(path: out.path)
        var frames = 0
        var tuples: Set<String> = []
        while let frame = try reader.next() {
            frames += 1
            if case .tcp(let s) = PacketDecoder.decode(frame) { tuples.insert([s.source.description, s.destination.description].sorted().joined(separator: " ")) }
        }
        #expect(frames == 17)
        #expect(tuples.count == 1)
        let trailing = try analyzeFixture("founding-helo-trailing-dot.pcap").sessions[0]
        #expect(tuples.first == [trailing.client.description, trailing.server.description].sorted().joined(separator: " "))
        // --only: a finding id no session has gives an empty (but valid) capture.
        let none = try runTool(["--write-flagged", out.path, "--only", "smtp.smuggling", TestPaths.fixture("founding-helo-trailing-dot.pcap")])
        #expect(none.stderr.contains("wrote 0 packets of 0 flagged sessions"))
        let empty = try PcapFileReader(path: out.path)
        #expect(try empty.next() == nil)
    }

    @Test func failOnSetsTheExitStatus() throws {
        let capture = TestPaths.fixture("founding-ehlo-fallback.pcap")  // one info finding
        #expect(try runTool(["--fail-on", "info", capture]).status == 1)
        #expect(try runTool(["--fail-on", "warning", capture]).status == 0)
        #expect(try runTool(["--fail-on", "error", TestPaths.fixture("founding-missing-helo.pcap")]).status == 1)
        #expect(try runTool(["--fail-on", "fatal", capture]).status == 2)
    }

    @Test func colorsOnlyWhenAsked() throws {
        let capture = TestPaths.fixture("founding-missing-helo.pcap")
        #expect(!(try runTool([capture]).stdout.contains("\u{1B}[")))  // not a terminal
        #expect(try runTool(["--color", "always", capture]).stdout.contains("\u{1B}[1;31merror"))
        #expect(!(try runTool(["--color", "never", capture]).stdout.contains("\u{1B}[")))
    }

    @Test func transcriptOptionChecksTheSession() throws {
        let capture = TestPaths.fixture("two-sessions.pcap")
        let two = try runTool(["--transcript", "2", capture])
        #expect(two.status == 0)
        #expect(two.stdout.hasPrefix("Session #2"))
        let missing = try runTool(["--transcript", "9", capture])
        #expect(missing.status == 2)
        #expect(missing.stderr == "smtp-trace: there is no session 9 in this capture (it has 2); run without --transcript to list them\n")
        #expect(try runTool(["--transcript", "x", capture]).status == 2)
    }
}
