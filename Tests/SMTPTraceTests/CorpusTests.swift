import Foundation
import SMTPTraceFindings
import SMTPTraceSMTP
import Testing

/// tshark's view of one capture, read from the `.tshark.txt` stored beside it in the corpus.
struct TsharkView {
    struct Stream {
        var frames: [UInt64] = []
        /// Command verbs as tshark shows them (it keeps the first four letters).
        var commands: [String] = []
        var replyCodes: [Int] = []
    }

    var streams: [Int: Stream] = [:]

    init(contentsOf url: URL) throws {
        let text = try String(contentsOf: url, encoding: .isoLatin1)
        guard let section = text.components(separatedBy: "## SMTP commands and reply codes per tcp.stream, in frame order").dropFirst().first else {
            return
        }
        let body = section.components(separatedBy: "\n## ").first ?? ""
        for line in body.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            var fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            while fields.count < 5 { fields.append("") }
            guard let frame = UInt64(fields[0]), let stream = Int(fields[1]) else { continue }
            var entry = streams[stream, default: Stream()]
            entry.frames.append(frame)
            if !fields[2].isEmpty {
                entry.commands += fields[2].split(separator: "|").map { String($0.uppercased().prefix(4)) }
            }
            if !fields[4].isEmpty {
                entry.replyCodes += fields[4].split(separator: "|").compactMap { Int($0) }
            }
            streams[stream] = entry
        }
    }
}

/// Our sessions in tshark's terms: verbs cut to four letters, and a reply listed once per
/// packet that carried its lines (tshark lists a code per frame).
extension SMTPSessionRecord {
    var tsharkCommands: [String] { commands.map { String(text[$0.verb].prefix(4)) } }
    var tsharkReplyCodes: [Int] { replies.flatMap { Array(repeating: $0.code, count: $0.packetCount) } }
}

/// Compares every capture of `../shared/corpus` with tshark's view stored beside it: the number
/// of SMTP sessions, and per session the command verbs and reply codes in order.
///
/// Where tshark and smtp-trace disagree, `CorpusDifferences.explained` says why ours is right
/// (with the frames that show it); such a capture must still differ, so that a change of ours
/// that makes it agree — or disagree differently — is noticed and the explanation revisited.
struct CorpusTests {
    struct Comparison {
        var problems: [String] = []
        var sessionsCompared = 0
    }

    static func captures() -> [URL] {
        guard let corpus = TestPaths.corpus else { return [] }
        let enumerator = FileManager.default.enumerator(at: corpus, includingPropertiesForKeys: nil)
        var captures: [URL] = []
        while let url = enumerator?.nextObject() as? URL {
            if url.lastPathComponent.hasSuffix(".tshark.txt") {
                captures.append(URL(fileURLWithPath: String(url.path.dropLast(".tshark.txt".count))))
            }
        }
        return captures.sorted { $0.path < $1.path }
    }

    static func relativeName(_ url: URL) -> String {
        guard let corpus = TestPaths.corpus else { return url.lastPathComponent }
        return String(url.path.dropFirst(corpus.path.count + 1))
    }

    static func compare(_ url: URL) throws -> Comparison {
        let view = try TsharkView(contentsOf: URL(fileURLWithPath: url.path + ".tshark.txt"))
        let result = try analyze([url.path])
        var comparison = Comparison()
        if view.streams.count != result.sessions.count {
            comparison.problems.append("sessions: tshark \(view.streams.count), ours \(result.sessions.count)")
        }
        var used: Set<Int> = []
        for (id, stream) in view.streams.sorted(by: { $0.key < $1.key }) {
            // The session whose frame range holds most of the stream's frames.
            let best = result.sessions.filter { !used.contains($0.id) }.max { a, b in
                let na = stream.frames.filter { (a.firstFrame...a.lastFrame).contains($0) }.count
                let nb = stream.frames.filter { (b.firstFrame...b.lastFrame).contains($0) }.count
                return na < nb
            }
            guard let session = best else {
                comparison.problems.append("tcp.stream \(id): no session of ours")
                continue
            }
            used.insert(session.id)
            comparison.sessionsCompared += 1
            if session.tsharkCommands != stream.commands {
                comparison.problems.append("tcp.stream \(id) commands: tshark \(stream.commands), ours \(session.tsharkCommands)")
            }
            if session.tsharkReplyCodes != stream.replyCodes {
                comparison.problems.append("tcp.stream \(id) replies: tshark \(stream.replyCodes), ours \(session.tsharkReplyCodes)")
            }
        }
        return comparison
    }

    @Test func corpusIsPresentOrSkippedWithAMessage() {
        if TestPaths.corpus == nil {
            print("note: ../shared/corpus not found (set SMTP_TRACE_CORPUS); corpus comparisons skipped")
        } else {
            #expect(Self.captures().count >= 100)
        }
    }

    @Test(arguments: captures())
    func sessionsCommandsAndRepliesMatchTshark(_ capture: URL) throws {
        let name = Self.relativeName(capture)
        let comparison = try Self.compare(capture)
        if let reason = CorpusDifferences.explained[name] {
            #expect(!comparison.problems.isEmpty, "\(name) now agrees with tshark; remove its explanation: \(reason)")
        } else {
            #expect(comparison.problems.isEmpty, "\(name): \(comparison.problems.joined(separator: "; "))")
        }
    }
}

/// The corpus captures where tshark and we disagree, pinned down to what the server's own
/// replies show, so that each explanation above stays true.
struct CorpusRegressionTests {
    func session(_ path: String, _ index: Int = 0) throws -> SMTPSessionRecord? {
        guard let corpus = TestPaths.corpus else { return nil }
        let result = try analyze([corpus.appendingPathComponent(path).path])
        return index < result.sessions.count ? result.sessions[index] : nil
    }

    func pairs(_ s: SMTPSessionRecord) -> [String] {
        s.commands.map { "\(s.text[$0.verb])→\($0.replyIndex.map { String(s.replies[$0].code) } ?? "-")" }
    }

    @Test func linesAfterARejectedDATAAreCommandsAsTheServerSaw() throws {
        guard let s = try session("zeek/smtp-mail-transactions-invalid.pcap") else { return }
        #expect(pairs(s) == ["EHLO→250", "MAIL→250", "RCPT→250", "DATA→354", "RCPT→503", "DATA→503", "HELLO,→500", ".→500",
                             "MAIL→250", "DATA→503", "HELLO,→500", ".→500", "DATA→503", "HELLO,→500", ".→500",
                             "MAIL→503", "RCPT→250", "DATA→354", "QUIT→221"])
        #expect(s.messageCount == 2)
    }

    @Test func bdatWithABadTailOpensNoChunk() throws {
        guard let s = try session("suricata-verify/smtp-bdat-bad-tail-reply-queue__input.pcap") else { return }
        #expect(pairs(s) == ["EHLO→250", "BDAT→501", "MAIL→250", "RCPT→250", "DATA→354", "QUIT→221"])
        guard let t = try session("zeek/smtp-bdat-cmd-invalid.pcapng", 1) else { return }
        #expect(t.verbs.suffix(2) == ["BDAT", "QUIT"])
    }

    @Test func authResponsesBehindACaptureHoleStayAuthResponses() throws {
        guard let s = try session("pcapplusplus/Smtp.pcap") else { return }
        #expect(s.verbs.first == "AUTH")
        #expect(s.commands.first.flatMap { $0.replyIndex.map { s.replies[$0].code } } == 334)
        #expect(!s.verbs.contains("Z3VYCGFYDGFWQHBHDHJPB3RZLMLU"))
    }

    @Test func dataAfterAClientGapIsPairedInCaptureOrder() throws {
        guard let s = try session("zeek/smtp-bdat-gap.pcap") else { return }
        #expect(pairs(s) == ["EHLO→250", "MAIL→250", "RCPT→250", "BDAT→250", "DATA→354", "QUIT→221"])
        #expect(s.replies.map(\.target).contains(.lostCommand))
        #expect(s.gapBytes.clientToServer == 1000)
        #expect(s.close == .quit)
    }

    @Test func replyCodesWithAHighSecondDigit() throws {
        guard let s = try session("suricata-verify/smtp-errors__smtperr.pcap", 2) else { return }
        #expect(pairs(s).suffix(3) == ["MAIL→472", "RCPT→501", "DATA→501"])
    }

    @Test func smtpBehindSOCKS5AndHTTPConnect() throws {
        guard let socks = try session("arkime/socks5-smtp-503.pcap"),
            let connect = try session("zeek/connect-with-smtp.pcap")
        else { return }
        #expect(socks.tunnel == "socks5")
        #expect(pairs(socks) == ["EHLO→250", "AUTH→503"])
        #expect(connect.tunnel == "http-connect")
        #expect(connect.server.port == 8240)
        #expect(pairs(connect) == ["HELO→250", "MAIL→250", "RCPT→250", "DATA→354", "QUIT→221"])
    }
}
