@testable import SMTPTraceFindings
@testable import SMTPTraceSMTP
import Testing

/// One reading of a BDAT argument for the dialogue, the reply pairing and the rules.
struct BDATArgumentTests {
    static func read(_ text: String) -> BDATArgument? {
        Array(text.utf8).withUnsafeBufferPointer { BDATArgument($0) }
    }

    @Test func wellFormedArguments() {
        #expect(Self.read("100") == BDATArgument(size: 100, last: false))
        #expect(Self.read("100 LAST") == BDATArgument(size: 100, last: true))
        #expect(Self.read("0 last") == BDATArgument(size: 0, last: true))
        #expect(Self.read(" 7  LaSt ") == BDATArgument(size: 7, last: true))
        #expect(Self.read("999999999999999") == BDATArgument(size: 999_999_999_999_999, last: false))
    }

    @Test func malformedArgumentsOpenNoChunk() {
        for text in ["", " ", "LAST", "100 BLAST", "100 LASTX", "100 LAST X", "-1 LAST", "+5", "1e3",
                     "1000000000000000", "10\tLAST", "10 la\u{17F}t", "10 LA\u{13}T", "١٢ LAST"] {
            #expect(Self.read(text) == nil, "\(text.debugDescription)")
        }
    }

    /// `BDAT 100 BLAST` is refused without a chunk; it ends no transaction, so the
    /// `BDAT 5 LAST` after it is no sequence error and its reply is the transaction's. (The
    /// rules used to read any argument ending in LAST as the last chunk.)
    @Test func aMalformedBDATEndsNoTransaction() throws {
        let s = try #require(Dialogue()
            .S("220 mx\r\n").C("EHLO c\r\n").S("250-mx\r\n250 CHUNKING\r\n")
            .C("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 100 BLAST\r\n")
            .S("250 ok\r\n250 ok\r\n501 syntax\r\n")
            .C("BDAT 5 LAST\r\nhello").S("250 queued\r\n")
            .C("QUIT\r\n").S("221 bye\r\n").closeBoth())
        #expect(s.verbs == ["EHLO", "MAIL", "RCPT", "BDAT", "BDAT", "QUIT"])
        #expect(s.bdatArgument(ofCommand: 3) == nil)
        #expect(s.bdatArgument(ofCommand: 4) == BDATArgument(size: 5, last: true))
        #expect(s.bdatArgument(ofCommand: 0) == nil)  // EHLO
        let t = try #require(s.transactions.first)
        #expect(s.transactions.count == 1)
        #expect(t.size == 5)
        #expect(t.contentComplete)
        #expect(t.reply == 250)
        #expect(SMTPRules.evaluate(s).filter { $0.kind == .sequenceError }.map(\.frame) == [])
    }
}
