import SMTPTraceCapture
import SMTPTracePackets
import SMTPTraceSMTP
import SMTPTraceTCP
import Testing

/// A session record's text: wire octets kept as `String(decoding:)` would read them, parts of
/// a command's argument named without copies, the characters limits, and a text that does not
/// grow past what the record keeps.
struct SessionTextTests {
    /// One conversation fed raw octets (invalid UTF-8 included, which `Dialogue` cannot send),
    /// each step one chunk from one side.
    static func record(_ steps: [(Direction, [UInt8])], limits: SMTPConversation.Limits = .init()) -> SMTPSessionRecord {
        let start = CaptureTimestamp(seconds: 1_700_000_000, nanoseconds: 0)
        let conversation = SMTPConversation(record: SMTPSessionRecord(
            id: 1, connectionID: 1, client: Endpoint(address: .v4(0x0A00_0001), port: 40000),
            server: Endpoint(address: .v4(0x0A00_0002), port: 25), start: start, firstFrame: 1,
            detectedBy: .port, midstream: false), limits: limits)
        var offsets = DirectionCounts.zero
        for (frame, (side, octets)) in steps.enumerated() {
            octets.withUnsafeBytes {
                conversation.receive(StreamChunk(bytes: $0, frame: UInt64(frame + 1), timestamp: start, streamOffset: offsets[side]),
                                     from: side)
            }
            offsets[side] += UInt64(octets.count)
        }
        return conversation.close(.finished, timestamp: start)
    }

    static func c(_ parts: [UInt8]...) -> (Direction, [UInt8]) { (.clientToServer, parts.flatMap { $0 }) }
    static func s(_ text: String) -> (Direction, [UInt8]) { (.serverToClient, Array(text.utf8)) }
    static func a(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func wireOctetsAreKeptAsStringDecodingReadsThem() {
        // An invalid octet, a cut three-octet sequence, an overlong '/', and a valid 'é'.
        let odd: [UInt8] = [0xFF, 0x61, 0xE2, 0x82, 0x40, 0xC0, 0xAF, 0xC3, 0xA9]
        let r = Self.record([
            Self.s("220 mx\r\n"), Self.c(Self.a("ehlo h"), odd, Self.a("\r\n")), Self.s("250-mx\r\n250 X"), (.serverToClient, odd),
            Self.s("\r\n"), Self.c(Self.a("MAIL FROM:<"), odd, Self.a("> SIZE=10 BODY="), odd, Self.a("\r\n")),
            Self.s("250 2.1.0 "), (.serverToClient, odd), Self.s("\r\n"),
            Self.c(Self.a("x"), odd, Self.a(" arg\r\nAUTH  plain"), odd, Self.a(" c2VjcmV0\r\n")), Self.s("500 what\r\n"),
        ])
        let decoded = String(decoding: odd, as: UTF8.self)
        #expect(r.text[r.commands.map(\.verb)] == ["EHLO", "MAIL", "X" + String(decoding: odd.map { $0 == 0x61 ? 0x41 : $0 }, as: UTF8.self), "AUTH"])
        #expect(r.text[r.heloArgument] == "h" + decoded)
        #expect(r.text[r.extensions] == ["X" + decoded])
        let t = r.transactions[0]
        #expect(r.text[t.mailFrom] == decoded)
        #expect(r.text[t.mailParameters] == ["SIZE=10", "BODY=" + decoded])
        #expect(t.declaredSize == 10)
        #expect(r.text[r.replies[2].text] == "2.1.0 " + decoded)
        #expect(r.text[r.replies[2].enhancedCode] == "2.1.0")
        #expect(r.text[r.commands[2].argument] == "arg")
        // AUTH keeps its first word only, the mechanism upper-cased apart.
        #expect(r.text[r.commands[3].argument] == "plain" + decoded)
        #expect(r.text[r.authMechanism] == ("plain" + decoded).uppercased())
        // Everything kept is valid UTF-8: the octets read back are the strings' own.
        #expect(String(decoding: r.text.octets, as: UTF8.self).utf8.elementsEqual(r.text.octets))
    }

    @Test func replyTextIsCutAt512CharactersNotOctets() {
        // 'é' is two octets, "👍🏽" one character of eight: the cut falls where characters end
        // (all lines shorter than the 1,024 octets the framer keeps of a line).
        for (unit, count) in [("a", 600), ("aé", 300), ("é", 257), ("👍🏽", 100), ("a👍🏽", 100)] {
            let text = String(repeating: unit, count: count)
            let r = Self.record([Self.s("220 " + text + "\r\n")])
            #expect(r.text[r.replies[0].text] == text.limited(to: 512), "\(unit) × \(count)")
            #expect(r.text[r.text.limited(r.replies[0].text, to: 7)] == String(text.prefix(7)))
        }
    }

    @Test func headerValuesAreUnfoldedDecodedAndCut() {
        let long = String(repeating: "d", count: 980) + "ééé"
        let r = Self.record([
            Self.s("220 mx\r\n"), Self.c(Self.a("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")),
            Self.s("250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
            Self.c(Self.a("Subject: =?UTF-8?B?aMOp?=\r\n\tnext\r\nFrom: plain <a@b>\r\nTo: =?iso-8859-1?Q?=E9?= <c@d>\r\n"),
                   Self.a("Message-ID: <"), [0xFF], Self.a("@x>\r\nDate: " + long + "\r\n more text and more\r\n\r\nbody\r\n.\r\n")),
            Self.s("250 queued\r\n"),
        ])
        let h = r.transactions[0].headers
        #expect(r.text[h.subject] == "hé next")
        #expect(r.text[h.subjectRaw] == "=?UTF-8?B?aMOp?= next")
        #expect(r.text[h.from] == "plain <a@b>")
        #expect(r.text[h.to] == "é <c@d>")
        #expect(r.text[h.messageID] == "<\u{FFFD}@x>")
        // Unfolded (986 octets, so the continuation is taken), then cut to 998 characters.
        #expect(r.text[h.date] == long + " more text and ")
        #expect(r.text[h.date]?.count == 998)

        // A subject with nothing to decode is one piece of text for both fields.
        let plain = Self.record([
            Self.c(Self.a("MAIL FROM:<a@b>\r\nDATA\r\n")), Self.s("250 ok\r\n354 go\r\n"),
            Self.c(Self.a("Subject: just text\r\n\r\n.\r\n")),
        ])
        #expect(plain.transactions[0].headers.subject == plain.transactions[0].headers.subjectRaw)
        #expect(plain.text[plain.transactions[0].headers.subject] == "just text")
    }

    @Test func foldedHeaderLinesAreTakenWhileTheValueIsUnder998Octets() {
        // 980 octets (490 characters), then a folded line that is taken (the value is still
        // under 998 octets, though not under 998 characters after it) and one that is not.
        let first = String(repeating: "é", count: 490), folded = String(repeating: "é", count: 10)
        let r = Self.record([
            Self.c(Self.a("MAIL FROM:<a@b>\r\nDATA\r\n")), Self.s("250 ok\r\n354 go\r\n"),
            Self.c(Self.a("Date: " + first + "\r\n " + folded + "\r\n more\r\nFrom: a\r\n "), [0xFF], Self.a("b\r\n\r\n.\r\n")),
        ])
        #expect(r.text[r.transactions[0].headers.date] == first + " " + folded)
        #expect(r.text[r.transactions[0].headers.from] == "a \u{FFFD}b")
    }

    @Test func replyLinesNoEHLOTakesStayOutOfTheText() {
        let r = Self.record([
            Self.s("220 mx\r\n"), Self.c(Self.a("MAIL FROM:<a@b>\r\n")), Self.s("550-line one\r\n550-line two\r\n550 end\r\n"),
            Self.c(Self.a("EHLO c\r\n")), Self.s("250-mx\r\n250-SIZE 10\r\n250 DSN\r\n"),
        ])
        // The greeting's text, MAIL's line (verb and argument), the 550's first line, EHLO's
        // line, its reply's first line and its two extensions: nothing of "line two", "end".
        #expect(String(decoding: r.text.octets, as: UTF8.self) == "mxMAIL FROM:<a@b>line oneEHLO cmxSIZE 10DSN")
        #expect(r.text[r.extensions] == ["SIZE 10", "DSN"])
    }

    @Test func onlyTheLastAcceptedEHLOsExtensionsEnterTheText() {
        var steps = [Self.s("220 mx\r\n")]
        for i in 0..<50 {
            steps += [Self.c(Self.a("EHLO c\(i)\r\n")), Self.s("250-mx\r\n250-EXT\(i)-A\r\n250 EXT\(i)-B\r\n")]
        }
        let r = Self.record(steps)
        #expect(r.text[r.extensions] == ["EXT49-A", "EXT49-B"])
        // The greeting's text, the EHLO lines and their replies' first lines, and one list.
        #expect(String(decoding: r.text.octets, as: UTF8.self).components(separatedBy: "EXT").count == 3)
    }

    @Test func anAUTHMechanismEndsAtTheFirstSpaceEvenBeforeACombiningMark() {
        // Split by `Character`, " \u{301}" is no space, and the mechanism kept the start of the
        // initial response: the octets end it at the space.
        let r = Self.record([Self.c(Self.a("AUTH plain \u{301}c2VjcmV0\r\n"))])
        #expect(r.text[r.commands[0].argument] == "plain")
        #expect(r.text[r.authMechanism] == "PLAIN")
    }

    @Test func commandsPastTheKeptOnesDoNotGrowTheText() {
        var limits = SMTPConversation.Limits()
        limits.maxCommandsKept = 3
        let noops = (0..<100).map { "NOOP \(1_000_000_000 + $0)\r\n" }.joined()
        let ehlos = (0..<50).map { "EHLO h\($0)\r\n" }.joined()
        let r = Self.record([Self.c(Self.a(noops + ehlos + "AUTH plain xyz\r\nAUTH login\r\nRCPT TO:<x@y>\r\n"))], limits: limits)
        #expect(r.commands.count == 3)
        #expect(r.commandsNotKept == 150)
        #expect(r.text[r.commands.map(\.argument)] == ["1000000000", "1000000001", "1000000002"])
        // The last EHLO and AUTH still count, each kept once.
        #expect(r.text[r.heloVerb] == "EHLO")
        #expect(r.text[r.heloArgument] == "h49")
        #expect(r.text[r.authMechanism] == "LOGIN")
        // The three kept command lines (15 octets each), then the last EHLO and AUTH at the end
        // (the RCPT has no transaction to keep its address).
        #expect(String(decoding: r.text.octets, as: UTF8.self).dropFirst(45) == "EHLOh49LOGIN")
    }
}
