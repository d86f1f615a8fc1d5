import Foundation
import SMTPTraceCapture
import Testing

/// `smtp-trace -i lo` watching a real, misbehaving SMTP exchange: a scripted server that
/// refuses `EHLO sub2.` and `HELO sub2.` with 501, and a client that tries both (the same
/// peers that recorded Fixtures/founding-helo-trailing-dot.pcap). Everything runs inside a
/// private network namespace, on its loopback only. Skipped, with the reason, where capture
/// is not permitted (not root, no `unshare`).
@Suite(.serialized)
struct LiveCaptureTests {
    static var skipReason: String? {
        if getuid() != 0 { return "live capture needs root (or CAP_NET_RAW); skipped" }
        if !FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") { return "no /usr/bin/unshare; skipped" }
        if !FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") && !FileManager.default.isExecutableFile(atPath: "/usr/local/bin/python3")
            && ProcessInfo.processInfo.environment["PATH"].map({ path in path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/python3") } }) != true
        {
            return "no python3 for the SMTP peers; skipped"
        }
        return nil
    }

    /// Runs the exchange in a new network namespace while smtp-trace captures on its `lo`.
    func liveRun(extra: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let tools = TestPaths.packageRoot.appendingPathComponent("Fixtures/tools").path
        let tool = TestPaths.executable.path
        let args = extra.map { "'\($0)'" }.joined(separator: " ")
        let script = """
            set -e
            ip link set lo mtu 1500 up
            timeout 20 python3 \(tools)/founding_server.py helo-trailing-dot 127.0.0.1 25 8 >/dev/null 2>&1 &
            timeout 20 \(tool) -i lo --duration 4 \(args) >"$OUT" 2>"$ERR" &
            tracer=$!
            sleep 1.2
            timeout 10 python3 \(tools)/founding_client.py helo-trailing-dot 127.0.0.1 25 >/dev/null 2>&1
            wait $tracer
            """
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["--net", "/bin/sh", "-c", script]
        var environment = ProcessInfo.processInfo.environment
        environment["OUT"] = out.path
        environment["ERR"] = err.path
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus,
                (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    @Test func reportsTheSessionAndItsFindingsLive() throws {
        if let reason = Self.skipReason {
            print("note: \(reason)")
            return
        }
        let saved = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(UUID().uuidString).pcap")
        defer { try? FileManager.default.removeItem(at: saved) }
        let run = try liveRun(extra: ["--json", "-w", saved.path])
        #expect(run.status == 0, "\(run.stderr)")
        let records = run.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let sessions = records.filter { $0["type"] as? String == "session" }
        #expect(sessions.count == 1)
        let commands = (sessions.first?["commands"] as? [[String: Any]]) ?? []
        #expect(commands.map { "\($0["verb"]!)→\($0["reply"]!)" } == ["EHLO→501", "RSET→250", "HELO→501", "QUIT→221"])
        let ids = records.filter { $0["type"] as? String == "finding" }.map { $0["id"] as! String }
        #expect(ids.sorted() == ["smtp.ehlo_fallback", "smtp.helo_rejected", "smtp.helo_rejected", "smtp.helo_syntax",
                                 "smtp.helo_syntax", "smtp.no_greeting_accepted"])
        let summary = try #require(records.last)
        #expect(summary["type"] as? String == "summary")
        #expect(summary["drops"] as? Int == 0)
        let packets = try #require(summary["packets"] as? Int)
        #expect(packets >= 13)
        // -w saved exactly the packets it analysed.
        let reader = try PcapFileReader(path: saved.path)
        var saved_frames = 0
        while try reader.next() != nil { saved_frames += 1 }
        #expect(saved_frames == packets)
    }

    @Test func textModePrintsFindingLinesThenTheFinalReport() throws {
        if let reason = Self.skipReason {
            print("note: \(reason)")
            return
        }
        let run = try liveRun(extra: ["--color", "never"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.contains("smtp.helo_rejected  #1 frame") }.count == 2)
        #expect(run.stdout.contains("smtp-trace · live on lo · 1 SMTP session · 3 errors, 3 warnings"))
        #expect(run.stderr.contains("capturing on lo"))
        #expect(run.stderr.contains("packets received, 0 dropped by the kernel"))
    }

    @Test func clearErrorsForBadInterfacesAndFilters() throws {
        if getuid() != 0 { return }
        let missing = try runTool(["-i", "nosuch0"])
        #expect(missing.status == 3)
        #expect(missing.stderr == "smtp-trace: no capture interface 'nosuch0'; list them with smtp-trace -D\n")
        let filter = try runTool(["-i", "lo", "-f", "tcp port bogus", "--duration", "1"])
        #expect(filter.status == 3)
        #expect(filter.stderr.hasPrefix("smtp-trace: the capture filter 'tcp port bogus' does not compile: "))
        let list = try runTool(["-D"])
        #expect(list.status == 0)
        #expect(list.stdout.contains(".lo ["))
    }
}
