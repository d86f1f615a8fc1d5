import Foundation
import SMTPTraceFindings
import SMTPTraceSMTP
import Testing

/// One Zeek `smtp.log` (tab-separated, `#fields` header; `-` unset, `(empty)` empty set).
struct ZeekSMTPLog {
    struct Row {
        var fields: [String: String]
        subscript(_ name: String) -> String? {
            guard let value = fields[name], value != "-" else { return nil }
            return value
        }
        /// A set field; unset and `(empty)` are both the empty set.
        func set(_ name: String) -> Set<String> {
            guard let value = self[name], value != "(empty)" else { return [] }
            return Set(value.split(separator: ",").map(String.init))
        }
    }

    var rows: [Row] = []

    init(contentsOf url: URL) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        var names: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#fields\t") {
                names = line.split(separator: "\t", omittingEmptySubsequences: false).dropFirst().map(String.init)
            } else if !line.hasPrefix("#"), !names.isEmpty {
                let values = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                rows.append(Row(fields: Dictionary(zip(names, values), uniquingKeysWith: { a, _ in a })))
            }
        }
    }
}

/// Per-field tallies of a comparison.
struct FieldTally {
    var compared: [String: Int] = [:]
    var agreeing: [String: Int] = [:]
    var problems: [String] = []

    mutating func check<T: Equatable>(_ field: String, _ where_: String, oracle: T, ours: T) {
        compared[field, default: 0] += 1
        if oracle == ours {
            agreeing[field, default: 0] += 1
        } else {
            problems.append("\(where_) \(field): oracle \(oracle), ours \(ours)")
        }
    }

    mutating func add(_ other: FieldTally) {
        for (k, v) in other.compared { compared[k, default: 0] += v }
        for (k, v) in other.agreeing { agreeing[k, default: 0] += v }
        problems += other.problems
    }

    var totalCompared: Int { compared.values.reduce(0, +) }
    var totalAgreeing: Int { agreeing.values.reduce(0, +) }
}

/// Compares smtp-trace's sessions and transactions with the oracles of the corpus: Zeek's
/// `smtp.log` baselines, and the suricata-verify expectations on STARTTLS, BDAT, pipelining,
/// RSET and QUIT translated into our terms. Where they disagree, `OracleDifferences` says
/// why; such a capture must still differ.
struct OracleComparisonTests {
    // MARK: Zeek

    /// Captures with a Zeek `smtp.log` beside them, with the log of the basic test script
    /// where there are several (`smtp.basic` for zeek/smtp.pcap; the plain
    /// `mail-transactions-invalid`, not its `-disable-analyzer` variant).
    static func zeekCaptures() -> [String] {
        zeekLogs().keys.sorted()
    }

    static func zeekLogs() -> [String: URL] {
        guard let corpus = TestPaths.corpus else { return [:] }
        let enumerator = FileManager.default.enumerator(at: corpus, includingPropertiesForKeys: nil)
        var logs: [String: [URL]] = [:]
        while let url = enumerator?.nextObject() as? URL {
            guard url.lastPathComponent == "smtp.log" else { continue }
            let expected = url.deletingLastPathComponent().deletingLastPathComponent()
            guard expected.lastPathComponent.hasSuffix(".expected") else { continue }
            let capture = String(expected.path.dropFirst(corpus.path.count + 1).dropLast(".expected".count))
            logs[capture, default: []].append(url)
        }
        return logs.mapValues { urls in
            let sorted = urls.sorted { $0.path < $1.path }
            return sorted.first { $0.path.contains("smtp.basic/") }
                ?? sorted.first { !$0.path.contains("disable-analyzer") && !$0.path.contains(".attachment/") }
                ?? sorted[0]
        }
    }

    /// Our last reply of a transaction as Zeek writes it ("code text"): the reply to its end of
    /// data if any, else the last reply to a command in `span` (command indices).
    static func lastReply(_ session: SMTPSessionRecord, span: Range<Int>, endReplyFrame: UInt64?) -> String? {
        var chosen: ReplyRecord?
        for reply in session.replies {
            var index: Int?
            switch reply.target {
            case .command(let i), .endOfData(let i), .authExchange(let i), .duringData(let i): index = i
            default: index = nil
            }
            if let endReplyFrame {
                if case .endOfData(let i) = reply.target, span.contains(i), reply.frame == endReplyFrame { chosen = reply }
                if case .command(let i) = reply.target, span.contains(i), session.commands[i].kind == .bdat,
                    reply.frame == endReplyFrame
                {
                    chosen = reply
                }
            } else if let index, span.contains(index) {
                chosen = reply
            }
        }
        return chosen.map { "\($0.code) \(session.text[$0.text])" }
    }

    static func compareZeek(_ capture: String) throws -> FieldTally {
        guard let corpus = TestPaths.corpus, let logURL = zeekLogs()[capture] else { return FieldTally() }
        let log = try ZeekSMTPLog(contentsOf: logURL)
        let result = try analyze([corpus.appendingPathComponent(capture).path])
        var tally = FieldTally()
        var byPort: [String: [ZeekSMTPLog.Row]] = [:]
        for row in log.rows { byPort[row["id.orig_p"] ?? "", default: []].append(row) }
        tally.check("sessions", "capture", oracle: byPort.count, ours: result.sessions.filter { !$0.implicitTLS }.count)
        for (port, rows) in byPort.sorted(by: { $0.key < $1.key }) {
            guard let session = result.sessions.first(where: { String($0.client.port) == port }) else {
                tally.problems.append("client port \(port): no session of ours")
                continue
            }
            // The command index of each transaction's MAIL, in order.
            var mailIndices: [Int] = []
            var searchFrom = 0
            for t in session.transactions {
                let i = session.commands[searchFrom...].firstIndex { $0.kind == .mail && $0.frame == t.mailFrame } ?? searchFrom
                mailIndices.append(i)
                searchFrom = min(i + 1, session.commands.count)
            }
            // The end of each transaction's content: the command after its DATA/BDAT LAST.
            func contentEnd(_ k: Int) -> Int {
                let upper = k + 1 < mailIndices.count ? mailIndices[k + 1] : session.commands.count
                let t = session.transactions[k]
                guard t.contentComplete else { return upper }
                if let i = session.commands[mailIndices[k]..<upper].lastIndex(where: { $0.kind == .data || $0.kind == .bdat }) {
                    return i + 1
                }
                return upper
            }
            var next = 0
            for (r, row) in rows.enumerated() {
                let label = "\(capture) port \(port) row \(r + 1)"
                let hasMail = row["mailfrom"] != nil
                tally.check("transaction", label, oracle: hasMail, ours: hasMail && next < session.transactions.count)
                var helo: String? = session.text[session.heloArgument]
                var mailFrom: String?
                var rcpt: Set<String> = []
                var reply: String?
                var subject: String?
                var messageID: String?
                if hasMail, next < session.transactions.count {
                    let t = session.transactions[next]
                    let upper = next + 1 < mailIndices.count ? mailIndices[next + 1] : session.commands.count
                    mailFrom = session.text[t.mailFrom] as String
                    rcpt = Set(session.text[t.rcptTo])
                    reply = lastReply(session, span: mailIndices[next]..<upper, endReplyFrame: t.replyFrame)
                    subject = session.text[t.headers.subjectRaw]
                    messageID = session.text[t.headers.messageID]
                    next += 1
                } else if !hasMail {
                    // A Zeek row without MAIL: the commands after the previous transaction's
                    // content (or from the start) up to the next MAIL.
                    let lower = next > 0 ? contentEnd(next - 1) : 0
                    let upper = next < mailIndices.count ? mailIndices[next] : session.commands.count
                    reply = lower < upper ? lastReply(session, span: lower..<upper, endReplyFrame: nil) : nil
                }
                if session.heloArgument == nil { helo = nil }
                tally.check("helo", label, oracle: row["helo"], ours: helo)
                tally.check("mailfrom", label, oracle: row["mailfrom"], ours: mailFrom)
                tally.check("rcptto", label, oracle: row.set("rcptto"), ours: rcpt)
                tally.check("last_reply", label, oracle: row["last_reply"], ours: reply)
                tally.check("subject", label, oracle: row["subject"], ours: subject)
                tally.check("msg_id", label, oracle: row["msg_id"], ours: messageID)
                tally.check("tls", label, oracle: row["tls"] == "T", ours: session.tls)
            }
            if next < session.transactions.count {
                tally.problems.append("\(capture) port \(port): \(session.transactions.count - next) transaction(s) of ours with no Zeek row")
            }
        }
        return tally
    }

    @Test(arguments: zeekCaptures())
    func transactionsMatchZeekSMTPLog(_ capture: String) throws {
        let tally = try Self.compareZeek(capture)
        if let reason = OracleDifferences.zeek[capture] {
            #expect(!tally.problems.isEmpty, "\(capture) now agrees with Zeek; remove its explanation: \(reason)")
        } else {
            #expect(tally.problems.isEmpty, "\(capture): \(tally.problems.joined(separator: "; "))")
        }
    }

    // MARK: Suricata

    /// A suricata-verify expectation in our terms.
    struct SuricataExpectation: Sendable, CustomStringConvertible {
        struct Transaction: Sendable {
            var mailFrom: String
            var rcptTo: [String]
            var complete: Bool
            /// The end-of-data (or BDAT LAST) reply must be tied to this transaction.
            var replied: Bool = false
        }

        var capture: String
        /// What the suricata-verify test checks, in its words.
        var checks: String
        var sessions: Int? = 1
        var helo: String?? = nil
        var tls: Bool? = nil
        /// Our transactions (MAIL … end of message / RSET / end), in order.
        var transactions: [Transaction]? = nil
        /// Suricata's transaction count (app_layer.tx.smtp), compared with ours.
        var transactionCount: Int? = nil
        /// Messages completely sent (Suricata: email.status PARSE_DONE / fileinfo).
        var messages: Int? = nil

        var description: String { capture }
    }

    static let suricataExpectations: [SuricataExpectation] = {
        typealias T = SuricataExpectation.Transaction
        let sv = "suricata-verify/"
        let alice = "alice@example.com", bob = "bob@example.com"
        return [
            .init(capture: sv + "smtp-startssl__input.pcap", checks: "1 smtp event; smtp.helo desktop.unx.ca; no email key",
                  helo: "desktop.unx.ca", tls: true, transactions: [], messages: 0),
            .init(capture: sv + "smtp-rset-starttls__input.pcap", checks: "1 smtp event"),
            .init(capture: sv + "smtp-rset__input.pcap", checks: "no 'BDAT chunk len exceeded' alert (sid 1): every BDAT chunk counted off at its declared size",
                  transactions: [T(mailFrom: "username@domain.com", rcptTo: ["john.doe@example.com"], complete: true, replied: true),
                                 T(mailFrom: "username@domain.com", rcptTo: ["john.doe@example.com"], complete: true, replied: true)]),
            .init(capture: sv + "smtp-pipelining__input.pcap", checks: "1 smtp event: mail_from username@domain.com, rcpt_to[0] john.doe@example.com, PARSE_DONE",
                  transactions: [T(mailFrom: "username@domain.com", rcptTo: ["john.doe@example.com"], complete: true, replied: true)]),
            .init(capture: sv + "smtp-pipelined-rset-data-replies__input.pcap", checks: "tx 0: smtp.helo client.example, email PARSE_DONE",
                  helo: "client.example", messages: 1),
            .init(capture: sv + "smtp-pipelined-rset-after-complete__input.pcap", checks: "2 smtp events: alice → bob, bob → alice, both PARSE_DONE",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: true, replied: true), T(mailFrom: bob, rcptTo: [alice], complete: true, replied: true)]),
            .init(capture: sv + "smtp-quit__input.pcap", checks: "1 flow with app_proto smtp"),
            .init(capture: sv + "smtp-no-helo-quit__input.pcap", checks: "app_layer.tx.smtp 1", helo: .some(nil), transactionCount: 1),
            .init(capture: sv + "smtp-no-helo-rset__input.pcap", checks: "app_layer.tx.smtp 1", helo: .some(nil), transactionCount: 1),
            .init(capture: sv + "smtp-no-helo-rset-helo-mail__input.pcap", checks: "app_layer.tx.smtp 2", transactionCount: 2),
            .init(capture: sv + "smtp-data-rejected__10.7.29.101_49898-178.63.41.150_25.pcap", checks: "1 file (fileinfo) and 1 smtp event with the message's Received header",
                  messages: 1),
            .init(capture: sv + "smtp-tls-protodetect__input.pcap", checks: "flow app_proto tls, app_proto_tc smtp (the server speaks SMTP)"),
            .init(capture: sv + "smtp-bdat-bad-tail-next-mail__input.pcap", checks: "2 smtp events: tx 0 alice → bob (BDAT), tx 1 bob → alice PARSE_DONE",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: true), T(mailFrom: bob, rcptTo: [alice], complete: true)]),
            .init(capture: sv + "smtp-bdat-bad-tail-reply-queue__input.pcap", checks: "1 smtp event: tx 0 alice → bob, PARSE_DONE (the rejected BDAT takes a reply slot)",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: true, replied: true)]),
            .init(capture: sv + "smtp-bdat-last-next-mail__input.pcap", checks: "2 smtp events: alice → bob (BDAT LAST), bob → alice PARSE_DONE",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: true, replied: true), T(mailFrom: bob, rcptTo: [alice], complete: true, replied: true)]),
            .init(capture: sv + "smtp-bdat-multichunk-inspection__input.pcap", checks: "2 smtp events: a → b (2 BDAT chunks), evil → victim PARSE_DONE",
                  transactions: [T(mailFrom: "a@example.com", rcptTo: ["b@example.com"], complete: true, replied: true),
                                 T(mailFrom: "evil@example.com", rcptTo: ["victim@example.com"], complete: true, replied: true)]),
            .init(capture: sv + "smtp-bdat-multichunk-next-mail__input.pcap", checks: "2 smtp events: alice → bob (2 BDAT chunks), bob → alice PARSE_DONE",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: true, replied: true), T(mailFrom: bob, rcptTo: [alice], complete: true, replied: true)]),
            .init(capture: sv + "smtp-bdat-pipelined-next-mail__input.pcap", checks: "2 smtp events; the '250 … 216 bytes queued' line of frame 14 belongs to tx 0, the MAIL/RCPT 250s to tx 1",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: true, replied: true), T(mailFrom: bob, rcptTo: [alice], complete: true, replied: true)]),
            .init(capture: sv + "smtp-bdat-zero-last-next-mail__input.pcap", checks: "2 smtp events: alice → bob (BDAT 0 LAST), bob → alice PARSE_DONE",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: true, replied: true), T(mailFrom: bob, rcptTo: [alice], complete: true, replied: true)]),
            .init(capture: sv + "ruletype-firewall-128-smtp-rset-next-tx-delivered__smtp-rset-change-sender.pcap",
                  checks: "smtp event alice with no rcpt_to (RSET-aborted); smtp event bob → alice (delivered)",
                  transactions: [T(mailFrom: alice, rcptTo: [], complete: false), T(mailFrom: bob, rcptTo: [alice], complete: true, replied: true)]),
            .init(capture: sv + "ruletype-firewall-130-smtp-rset-after-rcpt__smtp-rset-after-rcpt.pcap",
                  checks: "2 smtp events alice → bob (RSET-aborted, then delivered)",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: false), T(mailFrom: alice, rcptTo: [bob], complete: true, replied: true)]),
            .init(capture: sv + "ruletype-firewall-131-smtp-quit-after-mail-from__smtp-quit-after-mail.pcap",
                  checks: "1 smtp event alice with no rcpt_to; the transaction never reaches DATA",
                  transactions: [T(mailFrom: alice, rcptTo: [], complete: false)]),
            .init(capture: sv + "ruletype-firewall-134-smtp-rset-then-quit__smtp-rset-then-quit.pcap",
                  checks: "1 smtp event alice → bob, RSET-aborted, no message body",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: false)], messages: 0),
            .init(capture: sv + "ruletype-firewall-139-smtp-pipelined-post-data-mail-from__smtp-pipelined-post-data-mail-from.pcap",
                  checks: "tx 0 alice → bob, tx 1 bob → alice; the delayed DATA reply makes no anomaly",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: true, replied: true), T(mailFrom: bob, rcptTo: [alice], complete: true, replied: true)]),
            .init(capture: sv + "ruletype-firewall-140-smtp-pipelined-post-data-rset-sequence__smtp-pipelined-post-data-rset-sequence.pcap",
                  checks: "tx 0 alice → bob, tx 1 bob → alice, both PARSE_DONE; the delayed DATA reply makes no anomaly",
                  transactions: [T(mailFrom: alice, rcptTo: [bob], complete: true, replied: true), T(mailFrom: bob, rcptTo: [alice], complete: true, replied: true)]),
        ]
    }()

    static func suricataArguments() -> [SuricataExpectation] {
        TestPaths.corpus == nil ? [] : suricataExpectations
    }

    static func compareSuricata(_ e: SuricataExpectation) throws -> FieldTally {
        guard let corpus = TestPaths.corpus else { return FieldTally() }
        let result = try analyze([corpus.appendingPathComponent(e.capture).path])
        var tally = FieldTally()
        let label = e.capture
        if let n = e.sessions { tally.check("sessions", label, oracle: n, ours: result.sessions.count) }
        guard let s = result.sessions.first else { return tally }
        if let helo = e.helo { tally.check("helo", label, oracle: helo, ours: s.text[s.heloArgument]) }
        if let tls = e.tls { tally.check("tls", label, oracle: tls, ours: s.tls) }
        if let n = e.transactionCount { tally.check("transactions", label, oracle: n, ours: s.transactions.count) }
        if let n = e.messages { tally.check("messages", label, oracle: n, ours: s.messageCount) }
        if let expected = e.transactions {
            tally.check("transactions", label, oracle: expected.count, ours: s.transactions.count)
            for (i, (x, t)) in zip(expected, s.transactions).enumerated() {
                let at = "\(label) tx \(i)"
                tally.check("mail_from", at, oracle: x.mailFrom, ours: s.text[t.mailFrom])
                tally.check("rcpt_to", at, oracle: x.rcptTo, ours: s.text[t.rcptTo])
                tally.check("complete", at, oracle: x.complete, ours: t.contentComplete)
                if x.replied { tally.check("end_reply", at, oracle: true, ours: t.reply != nil) }
            }
        }
        return tally
    }

    @Test(arguments: suricataArguments())
    func recordsMatchSuricataVerifyExpectations(_ expectation: SuricataExpectation) throws {
        let tally = try Self.compareSuricata(expectation)
        if let reason = OracleDifferences.suricata[expectation.capture] {
            #expect(!tally.problems.isEmpty, "\(expectation.capture) now agrees with suricata-verify; remove its explanation: \(reason)")
        } else {
            #expect(tally.problems.isEmpty, "\(expectation.capture) (\(expectation.checks)): \(tally.problems.joined(separator: "; "))")
        }
    }

    // MARK: Totals

    @Test func printTotals() throws {
        guard TestPaths.corpus != nil else {
            print("note: ../shared/corpus not found (set SMTP_TRACE_CORPUS); oracle comparisons skipped")
            return
        }
        var zeek = FieldTally()
        var rows = 0
        for capture in Self.zeekCaptures() {
            zeek.add(try Self.compareZeek(capture))
            if let url = Self.zeekLogs()[capture] { rows += try ZeekSMTPLog(contentsOf: url).rows.count }
        }
        print("zeek smtp.log: \(Self.zeekCaptures().count) captures, \(rows) transactions, fields compared \(zeek.totalCompared), agreeing \(zeek.totalAgreeing)")
        for field in zeek.compared.keys.sorted() {
            print("  \(field): compared \(zeek.compared[field] ?? 0), agreeing \(zeek.agreeing[field] ?? 0)")
        }
        for problem in zeek.problems { print("  differs: \(problem)") }
        var suricata = FieldTally()
        for e in Self.suricataExpectations { suricata.add(try Self.compareSuricata(e)) }
        print("suricata-verify: \(Self.suricataExpectations.count) captures, checks compared \(suricata.totalCompared), agreeing \(suricata.totalAgreeing)")
        for field in suricata.compared.keys.sorted() {
            print("  \(field): compared \(suricata.compared[field] ?? 0), agreeing \(suricata.agreeing[field] ?? 0)")
        }
        for problem in suricata.problems { print("  differs: \(problem)") }
        #expect(rows > 0)
    }
}
