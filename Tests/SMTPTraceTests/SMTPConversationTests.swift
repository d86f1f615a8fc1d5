import SMTPTraceCapture
import SMTPTracePackets
@testable import SMTPTraceSMTP
import SMTPTraceTCP
import Testing

/// A scripted dialogue through the real TCP and SMTP layers: each step is one segment from
/// the client (`C`) or the server (`S`). Sequence numbers are kept by the script.
final class Dialogue {
    var sessions: [SMTPSessionRecord] = []
    let analyzer: SMTPStreamAnalyzer
    let reassembler: TCPReassembler<SMTPStreamAnalyzer>
    var wire = Wire()
    var clientSeq: UInt32 = 1001
    var serverSeq: UInt32 = 5001

    init(serverPort: UInt16 = 25, handshake: Bool = true) {
        var collected: [SMTPSessionRecord] = []
        analyzer = SMTPStreamAnalyzer { collected.append($0) }
        reassembler = TCPReassembler(consumer: analyzer, serverPorts: [25, 587, 2525])
        analyzer.sessionEnded = { [unowned self] in self.sessions.append($0) }
        _ = collected
        wire = Wire(client: Endpoint(address: .v4(0x0A00_0001), port: 40000),
                    server: Endpoint(address: .v4(0x0A00_0002), port: serverPort))
        if handshake {
            wire.send(reassembler, from: .clientToServer, seq: 1000, flags: [.syn])
            wire.send(reassembler, from: .serverToClient, seq: 5000, flags: [.syn, .ack])
            wire.send(reassembler, from: .clientToServer, seq: 1001)
        }
    }

    @discardableResult
    func C(_ text: String) -> Dialogue {
        wire.send(reassembler, from: .clientToServer, seq: clientSeq, text)
        clientSeq &+= UInt32(text.utf8.count)
        return self
    }

    @discardableResult
    func S(_ text: String) -> Dialogue {
        wire.send(reassembler, from: .serverToClient, seq: serverSeq, text)
        serverSeq &+= UInt32(text.utf8.count)
        return self
    }

    func closeBoth() -> SMTPSessionRecord? {
        wire.send(reassembler, from: .serverToClient, seq: serverSeq, flags: [.ack, .fin])
        wire.send(reassembler, from: .clientToServer, seq: clientSeq, flags: [.ack, .fin])
        reassembler.finish()
        return sessions.first
    }

    func end() -> SMTPSessionRecord? {
        reassembler.finish()
        return sessions.first
    }

    /// Closes this connection (FIN both ways, without ending the capture) and opens another
    /// from a new client port, with a handshake: the next `C`/`S` go there.
    @discardableResult
    func nextConnection(clientPort: UInt16) -> Dialogue {
        wire.send(reassembler, from: .serverToClient, seq: serverSeq, flags: [.ack, .fin])
        wire.send(reassembler, from: .clientToServer, seq: clientSeq, flags: [.ack, .fin])
        wire.clientOverride = Endpoint(address: .v4(0x0A00_0001), port: clientPort)
        (clientSeq, serverSeq) = (1001, 5001)
        wire.send(reassembler, from: .clientToServer, seq: 1000, flags: [.syn])
        wire.send(reassembler, from: .serverToClient, seq: 5000, flags: [.syn, .ack])
        wire.send(reassembler, from: .clientToServer, seq: 1001)
        return self
    }
}

extension Wire {
    init(client: Endpoint, server: Endpoint) {
        self.init()
        self.clientOverride = client
        self.serverOverride = server
    }
}

struct SMTPConversationTests {
    /// What a session's record says, without what depends on where it sits in the capture
    /// (ids, ports, frames, times).
    static func dialogueSummary(_ s: SMTPSessionRecord) -> [String] {
        var lines = s.commands.map { "C \(s.text[$0.verb]) \(s.text[$0.argument]) \($0.replyIndex.map { s.replies[$0].code } ?? 0) \($0.sentBeforePreviousReply) \($0.pipeliningAdvertised)" }
        lines += s.replies.map { "S \($0.code) \(s.text[$0.text]) \(s.text[$0.enhancedCode] ?? "-") \($0.lineCount) \($0.target) \($0.inconsistentCodes)" }
        lines += s.transactions.map { t in
            "T \(s.text[t.mailFrom]) \(s.text[t.mailParameters]) \(s.text[t.rcptTo]) \(t.rcptReplies) \(t.size) \(t.contentComplete) \(t.reply ?? 0) "
                + "\(s.text[t.headers.subject] ?? "-") \(s.text[t.headers.from] ?? "-") \(s.text[t.headers.messageID] ?? "-")"
        }
        lines.append("H \(s.text[s.heloVerb] ?? "-") \(s.text[s.heloArgument] ?? "-") \(s.text[s.extensions]) \(s.text[s.authMechanism] ?? "-")")
        lines.append("G \(s.greeting ?? 0) \(s.close) \(s.tls) \(s.undecodedLines) \(s.commandsNotKept) \(s.authResponses.count)")
        lines += s.observations.map { "O \($0.kind) \($0.side) \($0.context) \($0.count)" }
        return lines
    }

    /// A finished conversation is reused for the next session: one left in every kind of
    /// state (mid-message with a header field half read, a reply's lines still coming, an AUTH
    /// exchange, STARTTLS pending, pipelining advertised) must leave nothing to the next.
    @Test func aReusedConversationStartsAfresh() throws {
        let messy = Dialogue()
            .S("220 mx ESMTP\r\n").C("EHLO c.example\r\n").S("250-mx\r\n250-PIPELINING\r\n250 SIZE 1000\r\n")
            .C("AUTH LOGIN\r\n").S("334 VXNlcm5hbWU6\r\n").C("dXNlcg==\r\n")
            .C("MAIL FROM:<a@x> SIZE=10\r\nRCPT TO:<b@y>\r\nDATA\r\n").S("250 ok\r\n250 ok\r\n354 go\r\n")
            .C("Subject: first\r\nFrom: =?UTF-8?B?aMOp?=\r\n folded\r\nbody\r\n").S("451-wait\r\n451-still\r\n")
        let plain = { (d: Dialogue) -> Dialogue in
            d.S("220 other ESMTP\r\n").C("HELO h.example\r\n").S("250 other\r\n")
                .C("MAIL FROM:<c@z>\r\nRCPT TO:<d@w>\r\nDATA\r\n").S("250 ok\r\n250 ok\r\n354 go\r\n")
                .C("Subject: second\r\n\r\nbody\r\n.\r\n").S("250 queued\r\n").C("QUIT\r\n").S("221 bye\r\n")
        }
        plain(messy.nextConnection(clientPort: 40001))
        _ = messy.closeBoth()
        let fresh = try #require(plain(Dialogue()).closeBoth())
        #expect(messy.sessions.count == 2)
        let reused = try #require(messy.sessions.last)
        #expect(Self.dialogueSummary(reused) == Self.dialogueSummary(fresh))
        #expect(reused.text.octets == fresh.text.octets)
        #expect(messy.sessions.first.map { $0.text[$0.transactions[0].headers.subject] } == "first")
    }

    /// `reuse(record:)` resets a hand-kept list of stored properties: every one of them, read
    /// through reflection, must equal a new conversation's after a session that leaves state
    /// behind everywhere it can (mid-reply, mid-message, AUTH, PIPELINING, a held header, a
    /// BDAT chunk, a partial line on each side). A property added to the class and not to
    /// `reuse` fails here, not in some later session's record.
    @Test func reuseLeavesEveryStoredPropertyAsANewConversationHasIt() {
        let client = Endpoint(address: .v4(0x0A00_0001), port: 40000)
        let server = Endpoint(address: .v4(0x0A00_0002), port: 25)
        func record() -> SMTPSessionRecord {
            SMTPSessionRecord(id: 1, connectionID: 1, client: client, server: server,
                              start: CaptureTimestamp(seconds: 1, nanoseconds: 0), firstFrame: 1,
                              detectedBy: .port, midstream: false)
        }
        var frame: UInt64 = 0
        func send(_ conversation: SMTPConversation, _ text: String, from side: Direction) {
            frame += 1
            Array(text.utf8).withUnsafeBytes { bytes in
                conversation.receive(StreamChunk(bytes: bytes, frame: frame, timestamp: CaptureTimestamp(seconds: 1, nanoseconds: UInt32(frame)),
                                                 streamOffset: 0), from: side)
            }
        }
        let used = SMTPConversation(record: record())
        for (text, side) in [("220 mx ESMTP\r\n", Direction.serverToClient), ("EHLO c\r\n", .clientToServer),
                             ("250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SIZE 1000\r\n", .serverToClient),
                             ("AUTH LOGIN\r\n", .clientToServer), ("334 VXNlcm5hbWU6\r\n", .serverToClient),
                             ("dXNlcg==\r\n", .clientToServer), ("235 ok\r\n", .serverToClient),
                             ("MAIL FROM:<a@x> SIZE=10\r\nRCPT TO:<b@y>\r\nBDAT 5\r\nab", .clientToServer),
                             ("250 ok\r\n250 ok\r\n", .serverToClient), ("cde", .clientToServer),
                             ("250 5 octets\r\nRSET\r\n", .clientToServer),
                             ("MAIL FROM:<c@z>\r\nRCPT TO:<d@w>\r\nDATA\r\n", .clientToServer),
                             ("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", .serverToClient),
                             ("Subject: =?UTF-8?B?aMOp?=\r\n folded\r\nFrom: x\r\nTo: y\r", .clientToServer),
                             ("451-wait\r\n451-sti", .serverToClient)] {
            send(used, text, from: side)
        }
        used.liveCapture = true
        used.reuse(record: record())
        let new = SMTPConversation(record: record())
        let reused = Mirror(reflecting: used).children, fresh = Mirror(reflecting: new).children
        #expect(reused.map(\.label) == fresh.map(\.label))
        #expect(reused.count > 30)
        for (a, b) in zip(reused, fresh) {
            #expect(String(reflecting: a.value) == String(reflecting: b.value), "\(a.label ?? "?")")
        }
    }

    @Test func pipelinedCommandsArePairedWithTheirRepliesInOrder() throws {
        let s = try #require(Dialogue()
            .S("220 mx ESMTP\r\n").C("EHLO c.example\r\n")
            .S("250-mx\r\n250-PIPELINING\r\n250 SIZE 1000\r\n")
            .C("MAIL FROM:<a@x> SIZE=10\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\n")
            .S("250 ok\r\n250 ok\r\n550 no such user\r\n354 go\r\n")
            .C("Subject: hi\r\n\r\nbody\r\n..dot\r\n.\r\n").S("250 queued\r\n")
            .C("QUIT\r\n").S("221 bye\r\n").closeBoth())
        #expect(s.verbs == ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"])
        #expect(s.commands.map { $0.replyIndex.map { s.replies[$0].code } } == [250, 250, 250, 550, 354, 221])
        #expect(s.text[s.extensions] == ["PIPELINING", "SIZE 1000"])
        let t = try #require(s.transactions.first)
        #expect(s.text[t.mailFrom] == "a@x")
        #expect(s.text[t.rcptTo] == ["b@y", "c@y"])
        #expect(t.rcptReplies == [250, 550])
        #expect(s.text[t.headers.subject] == "hi")
        #expect(t.size == 13 + 2 + 6 + 6)  // dot-unstuffed: "..dot\r\n" counts as ".dot\r\n"
        #expect(t.reply == 250)
        #expect(s.replies.map(\.target) == [.greeting, .command(0), .command(1), .command(2), .command(3), .command(4), .endOfData(4), .command(5)])
        #expect(s.close == .quit)
    }

    @Test func reportedHeaderNamesMatchLettersWithoutCaseAndNothingElse() throws {
        let s = try #require(Dialogue()
            .S("220 mx\r\n").C("HELO c\r\n").S("250 mx\r\n")
            .C("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n").S("250 ok\r\n250 ok\r\n354 go\r\n")
            // A CR where the hyphen belongs is not "Message-ID" (it was, by `| 0x20`).
            .C("message\rid: <wrong@x>\r\nSUBJECT: upper\r\nMessage-Id: <right@x>\r\n\r\nbody\r\n.\r\n")
            .S("250 queued\r\n").C("QUIT\r\n").S("221 bye\r\n").closeBoth())
        let t = try #require(s.transactions.first)
        #expect(s.text[t.headers.subject] == "upper")
        #expect(s.text[t.headers.messageID] == "<right@x>")
    }

    @Test func linesAfterARejectedDATAAreCommandsAndAfter354AreContent() throws {
        let s = try #require(Dialogue()
            .S("220 mx\r\n").C("HELO c\r\n").S("250 mx\r\n")
            .C("DATA\r\nHello\r\n.\r\n")  // sent before the verdict
            .S("503 no valid recipients\r\n500 unrecognized\r\n500 unrecognized\r\n")
            .C("QUIT\r\n").S("221 bye\r\n").closeBoth())
        #expect(s.verbs == ["HELO", "DATA", "HELLO", ".", "QUIT"])
        #expect(s.replyCodes == [220, 250, 503, 500, 500, 221])

        let t = try #require(Dialogue()
            .S("220 mx\r\n").C("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nQUIT\r\n.\r\n")
            .S("250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n")
            .C("QUIT\r\n").S("221 bye\r\n").closeBoth())
        #expect(t.verbs == ["HELO", "MAIL", "RCPT", "DATA", "QUIT"])
        #expect(t.transactions.first?.size == 6)  // "QUIT\r\n" was message content
        #expect(t.messageCount == 1)
    }

    @Test func bdatChunksAreOpaqueEvenWhenTheyLookLikeCommands() throws {
        let s = try #require(Dialogue()
            .S("220 mx\r\n").C("EHLO c\r\n").S("250-mx\r\n250 CHUNKING\r\n")
            .C("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 12\r\nQUIT\r\nRSET\r\n")
            .C("BDAT 6 LAST\r\nDATA\r\n")
            .S("250 ok\r\n250 ok\r\n250 12 octets\r\n250 queued\r\n")
            .C("QUIT\r\n").S("221 bye\r\n").closeBoth())
        #expect(s.verbs == ["EHLO", "MAIL", "RCPT", "BDAT", "BDAT", "QUIT"])
        let t = try #require(s.transactions.first)
        #expect(t.size == 18)
        #expect(t.contentComplete)
        #expect(t.reply == 250)
    }

    @Test func authResponsesAreNeverRecordedAsCommands() throws {
        let s = try #require(Dialogue()
            .S("220 mx\r\n").C("EHLO c\r\n").S("250-mx\r\n250 AUTH LOGIN PLAIN\r\n")
            .C("AUTH LOGIN\r\n").S("334 VXNlcm5hbWU6\r\n").C("c2VjcmV0dXNlcg==\r\n")
            .S("334 UGFzc3dvcmQ6\r\n").C("c2VjcmV0cGFzcw==\r\n").S("235 ok\r\n")
            .C("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n").S("503 already authenticated\r\n")
            .C("QUIT\r\n").S("221 bye\r\n").closeBoth())
        #expect(s.verbs == ["EHLO", "AUTH", "AUTH", "QUIT"])
        #expect(s.commands.map { s.text[$0.argument] } == ["c", "LOGIN", "PLAIN", ""])
        #expect(s.text[s.authMechanism] == "PLAIN")
        #expect(s.replies.map(\.target) == [.greeting, .command(0), .command(1), .authExchange(1), .authExchange(1), .command(2), .command(3)])
    }

    @Test func starttlsStopsDecodingAtTheHandshake() throws {
        var d = Dialogue().S("220 mx\r\n").C("EHLO c\r\n").S("250-mx\r\n250 STARTTLS\r\n").C("STARTTLS\r\n").S("220 go ahead\r\n")
        d = d.C("\u{16}\u{03}\u{01}\u{00}\u{05}hello\r\nMAIL FROM:<x@y>\r\n").S("\u{16}\u{03}\u{03}random\r\n")
        let s = try #require(d.closeBoth())
        #expect(s.verbs == ["EHLO", "STARTTLS"])
        #expect(s.tls)
        #expect(s.replyCodes == [220, 250, 220])
    }

    @Test func aClientThatSpeaksBeforeTheGreetingStillGetsItsRepliesPaired() throws {
        let s = try #require(Dialogue().C("EHLO early\r\n").S("220 mx\r\n250 mx\r\n").C("QUIT\r\n").S("221 bye\r\n").closeBoth())
        #expect(s.replies.map(\.target) == [.greeting, .command(0), .command(1)])
        #expect(s.greeting == 220)
    }

    @Test func multiLineReplyEndedByAnotherCodeIsClosedAndMarked() throws {
        let s = try #require(Dialogue().S("220 mx\r\n").C("EHLO c\r\n").S("250-mx\r\n").C("AUTH LOGIN\r\n")
            .S("334 VXNlcm5hbWU6\r\n").C("dXNlcg==\r\n").S("235 ok\r\n").closeBoth())
        #expect(s.replyCodes == [220, 250, 334, 235])
        #expect(s.replies[1].inconsistentCodes)
        #expect(s.verbs == ["EHLO", "AUTH"])
    }

    @Test func verbsAreKnownCommandsInAnyCaseAndNothingElseIs() throws {
        func kind(_ line: String) -> SMTPVerb { Array(line.utf8).withUnsafeBufferPointer { CommandLineParts($0).kind } }
        for verb in SMTPVerb.allCases where verb != .other {
            #expect(kind(verb.name.lowercased() + " x") == verb)
            #expect(kind(verb.name) == verb)
            #expect(SMTPVerb(upperCased: verb.name.utf8) == verb)
        }
        for line in ["MAILX FROM:<a@b>", "MAI", "HELO1 x", "XFORWARDS", "", " HELO", "QUI T", "ST@RTTLS", "EHLO\u{0}"] {
            #expect(kind(line) == .other, "\(line)")
        }
        #expect(SMTPVerb(upperCased: "RCPTX".utf8) == .other)
        // The record keeps any verb upper-cased as sent (ASCII letters only), a malformed one too.
        let s = try #require(Dialogue()
            .S("220 mx\r\n").C("MaIlX FROM:<a@b>\r\nxyzzy\r\nst@rttls x\r\nh\u{e9}lo x\r\nquit\r\n")
            .S("500 no\r\n500 no\r\n500 no\r\n500 no\r\n221 bye\r\n").closeBoth())
        #expect(s.verbs == ["MAILX", "XYZZY", "ST@RTTLS", "H\u{e9}LO", "QUIT"])
        #expect(s.commands.map(\.kind) == [.other, .other, .other, .other, .quit])
    }

    /// Keyword tests on a record's text: ASCII letters without case, nothing else folded,
    /// whole prefix needed.
    @Test func keywordPrefixesIgnoreTheCaseOfLettersOnly() throws {
        let cases: [(String, StaticString, Bool)] = [
            ("SIZE 100", "SIZE ", true), ("size 100", "SIZE ", true), ("SiZe", "SIZE", true),
            ("SIZ", "SIZE ", false), ("SIZE", "", true), ("SIZE\t1", "SIZE ", false),
            ("STARTTLS", "STARTTLS", true), ("starttl", "STARTTLS", false), ("\u{e9}SIZE", "SIZE", false),
            ("S\u{0}ZE", "SIZE", false), ("8BITMIME", "8bitmime", true), ("8BITMIME", "8BITMIMF", false),
            ("pipelining", "PIPELINING", true), ("PIPELININGS", "PIPELINING", true),
        ]
        // Each case an extension line of an accepted EHLO reply.
        let reply = "250-mx\r\n" + cases.map { "250-\($0.0)\r\n" }.joined() + "250 LAST\r\n"
        let s = try #require(Dialogue().S("220 mx\r\n").C("EHLO c\r\n").S(reply).closeBoth())
        #expect(s.extensions.count == cases.count + 1)
        for (i, (text, prefix, expected)) in cases.enumerated() {
            #expect(s.text.hasPrefixIgnoringASCIICase(s.extensions[i], prefix) == expected, "\(text) \(prefix)")
        }
        #expect(s.text.equalsIgnoringASCIICase(s.extensions[12], "PIPELINING"))
        #expect(!s.text.equalsIgnoringASCIICase(s.extensions[13], "PIPELINING"))
    }

    @Test func ehloExtensionsAreTrimmedWithoutEmptyLinesAndBoundedAndCodesAreRead() throws {
        let many = (0..<70).map { "250-X\($0)\r\n" }.joined()
        let s = try #require(Dialogue()
            .S("220 mx ESMTP\r\n").C("EHLO c.example\r\n")
            .S("250-mx\r\n250-  8BITMIME \t\r\n250- \r\n250-\r\n250-SIZE\t1000\r\n250 DSN\r\n")
            .C("EHLO again.example\r\n").S("250-mx\r\n" + many + "250 LAST\r\n")
            .C("MAIL FROM:<a@x>\r\n").S("250 2.1.0 Ok\r\n")
            .C("RCPT TO:<b@y>\r\n").S("550 5.1.1 <b@y>: no such user\r\n")
            .C("RCPT TO:<c@y>\r\n").S("450 4.7.1\r\n")
            .C("RCPT TO:<d@y>\r\n").S("250 2.1.5. Ok\r\n")
            .C("QUIT\r\n").S("221 5.0.0 Bye\r\n").closeBoth())
        #expect(s.text[s.extensions] == (0..<64).map { "X\($0)" })
        #expect(s.replies[1].lineCount == 6)
        #expect(s.replies[2].lineCount == 72)
        #expect(s.replies.map { s.text[$0.enhancedCode] } == [nil, nil, nil, "2.1.0", "5.1.1", "4.7.1", nil, nil])
        #expect(s.text[s.replies[4].text] == "5.1.1 <b@y>: no such user")

        let first = try #require(Dialogue()
            .S("220 mx\r\n").C("EHLO c.example\r\n")
            .S("250-mx\r\n250-  8BITMIME \t\r\n250- \r\n250-\r\n250-SIZE\t1000\r\n250 DSN\r\n").closeBoth())
        #expect(first.text[first.extensions] == ["8BITMIME", "SIZE\t1000", "DSN"])
    }

    @Test func smtpIsRecognisedOnAnyPortFromTheDialogue() throws {
        let s = try #require(Dialogue(serverPort: 1224).S("220 mx ESMTP\r\n").C("EHLO c\r\n").S("250 mx\r\n").closeBoth())
        #expect(s.detectedBy == .dialogue)
        #expect(s.server.port == 1224)
        #expect(s.verbs == ["EHLO"])

        let ftp = Dialogue(serverPort: 2121).S("220 ProFTPD ready\r\n").C("USER anonymous\r\n").S("331 ok\r\n")
        #expect(ftp.closeBoth() == nil)
    }

    @Test func aConnectionOnAnSMTPPortWithNoSMTPLineIsNotASession() throws {
        let d = Dialogue()
        #expect(d.closeBoth() == nil)
        #expect(d.analyzer.connectionsOnSMTPPorts == 1)
    }

    @Test func closeReasons() throws {
        // One FIN, no answer, capture ends: half-open.
        let d = Dialogue().S("220 mx\r\n").C("QUIT\r\n").S("421 closing\r\n")
        d.wire.send(d.reassembler, from: .serverToClient, seq: d.serverSeq, flags: [.ack, .fin])
        let halfOpen = try #require(d.end())
        #expect(halfOpen.close == .halfOpen)
        // QUIT answered 221, then a RST: still a QUIT ending.
        let q = Dialogue().S("220 mx\r\n").C("QUIT\r\n").S("221 bye\r\n")
        q.wire.send(q.reassembler, from: .serverToClient, seq: q.serverSeq, flags: [.rst])
        #expect(q.end()?.close == .quit)
        let r = Dialogue().S("220 mx\r\n").C("EHLO x\r\n")
        r.wire.send(r.reassembler, from: .serverToClient, seq: r.serverSeq, flags: [.rst])
        #expect(r.end()?.close == .rst)
        #expect(Dialogue().S("220 mx\r\n").end()?.close == .captureEnd)
        #expect(Dialogue().S("220 mx\r\n").closeBoth()?.close == .fin)
    }
}

/// RFC 2047 encoded words in header fields: decoded where the charset is known, left alone
/// otherwise, and text with no "=?" (found after any number of other '=') returned as it is.
struct EncodedWordsTests {
    @Test func decodesKnownCharsetsAndLeavesTheRest() {
        let cases: [(String, String)] = [
            ("Report 14 for week 15", "Report 14 for week 15"),
            ("a=b c=d =", "a=b c=d ="),
            ("x==?UTF-8?B?w6k=?=", "x=é"),
            ("=?UTF-8?B?w6l0w6k=?= =?UTF-8?Q?_caf=C3=A9?=", "été café"),
            ("=?iso-8859-1?Q?Gr=FC=DFe?= aus Bern", "Grüße aus Bern"),
            ("=?x-unknown?B?w6k=?=", "=?x-unknown?B?w6k=?="),
            ("ends with =?", "ends with =?"),
            ("", ""),
        ]
        for (raw, decoded) in cases {
            #expect(EncodedWords.decode(raw) == decoded, "\(raw)")
        }
    }
}
