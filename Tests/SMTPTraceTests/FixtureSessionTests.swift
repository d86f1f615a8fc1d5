import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTracePackets
import SMTPTraceSMTP
import Testing

/// Each link layer, IPv6, VLAN, QinQ and pcapng, from real loopback recordings (see
/// Fixtures/README.md): the same dialogue must come out, with the frames tshark gives.
struct FixtureSessionTests {
    /// Expected command frames and reply frames, from each fixture's `.tshark.txt`.
    struct Expectation: Sendable, CustomTestStringConvertible {
        var file: String
        var linkType: LinkType
        var packets: UInt64
        var subject: String
        var commandFrames: [UInt64]
        var replyFrames: [UInt64]
        var server: String
        var testDescription: String { file }
    }

    static let verbs = ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]

    static let cases: [Expectation] = [
        .init(file: "ipv4-ethernet.pcap", linkType: .ethernet, packets: 26, subject: "fixture ipv4-ethernet",
              commandFrames: [6, 14, 16, 18, 22], replyFrames: [4, 8, 15, 17, 19, 21, 23], server: "127.0.0.1:25"),
        .init(file: "sll.pcap", linkType: .linuxSLL, packets: 26, subject: "fixture sll",
              commandFrames: [6, 14, 16, 18, 22], replyFrames: [4, 8, 15, 17, 19, 21, 23], server: "127.0.0.1:25"),
        .init(file: "sll2.pcap", linkType: .linuxSLL2, packets: 25, subject: "fixture sll2",
              commandFrames: [6, 13, 15, 17, 21], replyFrames: [4, 8, 14, 16, 18, 20, 22], server: "127.0.0.1:25"),
        .init(file: "ipv4.pcapng", linkType: .ethernet, packets: 25, subject: "fixture ipv4-pcapng",
              commandFrames: [6, 13, 15, 17, 21], replyFrames: [4, 8, 14, 16, 18, 20, 22], server: "127.0.0.1:25"),
        .init(file: "vlan.pcap", linkType: .ethernet, packets: 26, subject: "fixture relink",
              commandFrames: [6, 14, 16, 18, 22], replyFrames: [4, 8, 15, 17, 19, 21, 23], server: "127.0.0.1:25"),
        .init(file: "qinq.pcap", linkType: .ethernet, packets: 26, subject: "fixture relink",
              commandFrames: [6, 14, 16, 18, 22], replyFrames: [4, 8, 15, 17, 19, 21, 23], server: "127.0.0.1:25"),
        .init(file: "null-loopback.pcap", linkType: .null, packets: 26, subject: "fixture relink",
              commandFrames: [6, 14, 16, 18, 22], replyFrames: [4, 8, 15, 17, 19, 21, 23], server: "127.0.0.1:25"),
        .init(file: "raw-ip.pcap", linkType: .raw, packets: 26, subject: "fixture relink",
              commandFrames: [6, 14, 16, 18, 22], replyFrames: [4, 8, 15, 17, 19, 21, 23], server: "127.0.0.1:25"),
    ]

    @Test(arguments: cases)
    func decodesTheDialogue(_ expected: Expectation) throws {
        let result = try analyzeFixture(expected.file)
        #expect(result.packets.frames == expected.packets)
        #expect(result.packets.linkTypes == [expected.linkType])
        #expect(result.packets.skipped.isEmpty)
        #expect(result.sessions.count == 1)
        let session = try #require(result.sessions.first)
        #expect(session.server.description == expected.server)
        #expect(session.client.address.description == "127.0.0.1")
        #expect(session.verbs == Self.verbs)
        #expect(session.commands.map(\.frame) == expected.commandFrames)
        #expect(session.replyCodes == [220, 250, 250, 250, 354, 250, 221])
        #expect(session.replies.map(\.frame) == expected.replyFrames)
        #expect(session.text[session.heloVerb] == "EHLO")
        #expect(session.text[session.heloArgument] == "client.example.org")
        #expect(session.greeting == 220)
        #expect(session.transactions.count == 1)
        let transaction = try #require(session.transactions.first)
        #expect(session.text[transaction.mailFrom] == "alice@example.org")
        #expect(session.text[transaction.rcptTo] == ["bob@example.net"])
        #expect(transaction.reply == 250)
        #expect(transaction.contentComplete)
        #expect(session.text[transaction.headers.subject] == expected.subject)
        #expect(session.text[transaction.headers.date] == "Mon, 01 Jan 2024 12:00:00 +0000")
        #expect(session.close == .quit)
        #expect(session.midstream == false)
        #expect(session.tls == false)
        #expect(session.text[session.extensions].contains("8BITMIME"))
    }

    @Test func ipv6SessionWithTwoRecipientsOnPort2525() throws {
        let result = try analyzeFixture("ipv6-ethernet.pcap")
        #expect(result.packets.frames == 28)
        let session = try #require(result.sessions.first)
        #expect(result.sessions.count == 1)
        #expect(session.server.description == "[::1]:2525")
        #expect(session.client.address == .v6(0, 1))
        #expect(session.verbs == ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"])
        #expect(session.replyCodes == [220, 250, 250, 250, 250, 354, 250, 221])
        #expect(session.transactions.first.map { session.text[$0.rcptTo] } == ["bob@example.net", "carol@example.net"])
        #expect(session.text[session.transactions.first?.headers.messageID] == "<ipv6-ethernet@client.example.org>")
        #expect(session.recipientCount == 2)
        #expect(session.close == .quit)
    }

    @Test func twoSessionsInOneCapture() throws {
        let result = try analyzeFixture("two-sessions.pcap")
        #expect(result.sessions.map(\.id) == [1, 2])
        #expect(result.sessions.map { $0.text[$0.transactions.first?.headers.subject] } == ["fixture two-sessions-1", "fixture two-sessions-2"])
        #expect(result.sessions.map(\.recipientCount) == [1, 2])
        #expect(result.sessions[0].client.port != result.sessions[1].client.port)
        #expect(result.sessions.allSatisfy { $0.close == .quit })
        #expect(result.tcp.connections == 2)
        #expect(result.connectionsOnSMTPPorts == 2)
    }

    /// Out-of-order (frame 24 after 23), an overlapping copy (frame 33) and a real kernel
    /// retransmission (frame 38): the message is delivered once, whole and in order.
    @Test func reorderedAndRetransmittedDataIsDeliveredOnce() throws {
        let result = try analyzeFixture("reordered.pcap")
        let session = try #require(result.sessions.first)
        #expect(result.sessions.count == 1)
        #expect(session.verbs == Self.verbs)
        #expect(session.replyCodes == [220, 250, 250, 250, 354, 250, 221])
        let transaction = try #require(session.transactions.first)
        #expect(transaction.contentComplete)
        #expect(transaction.reply == 250)
        #expect(session.text[transaction.headers.subject] == "fixture reordered")
        // 20,419 client bytes in all (tshark follow): the commands and the "." line around a
        // message whose size after the DATA line is counted here exactly once.
        #expect(session.bytes.clientToServer == 20_419)
        #expect(session.gapBytes.clientToServer == 0)
        #expect(result.tcp.reassembly.outOfOrderSegments == 1)
        #expect(result.tcp.reassembly.retransmittedSegments >= 1)
        #expect(result.tcp.reassembly.overlappingBytes == 0)
        #expect(result.tcp.reassembly.gaps == 0)
        #expect(session.close == .quit)
    }
}
