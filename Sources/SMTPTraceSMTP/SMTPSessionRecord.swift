import SMTPTraceCapture
import SMTPTracePackets
import SMTPTraceTCP

/// How an SMTP session ended (the spec's `close` values).
public enum SessionClose: String, Sendable, Codable, CaseIterable {
    /// QUIT answered by 221 (whatever TCP did after).
    case quit
    /// Both sides closed with FIN, without a completed QUIT.
    case fin
    /// A RST ended the connection.
    case rst
    /// One side sent FIN, the other neither closed nor reset by the end.
    case halfOpen = "half_open"
    /// No packet for longer than the idle timeout (or evicted from a full table).
    case timeout
    /// The capture ended with the connection open.
    case captureEnd = "capture_end"
}

/// A command the client sent, with the reply it got.
public struct CommandRecord: Sendable, Equatable {
    /// Upper-cased.
    public var verb: TextRef
    /// The verb as one smtp-trace knows (`.other` for any other): what code compares.
    public var kind: SMTPVerb
    /// As sent, except AUTH (mechanism only). Escaping happens in the reports.
    public var argument: TextRef
    public var frame: UInt64
    public var timestamp: CaptureTimestamp
    /// Octets in the command line, excluding CRLF.
    public var length: Int
    /// Index into `SMTPSessionRecord.replies` of the reply it got, if any.
    public var replyIndex: Int?
    /// Sent while an earlier command (or the end of data) still awaited its reply.
    public var sentBeforePreviousReply: Bool = false
    /// PIPELINING had been advertised in an EHLO reply before this command was sent.
    public var pipeliningAdvertised: Bool = false
}

/// What a reply answered.
public enum ReplyTarget: Sendable, Equatable {
    case greeting
    /// The command at this index of `SMTPSessionRecord.commands`.
    case command(Int)
    /// The end of the message content sent after DATA's 354 (the command index of DATA).
    case endOfData(Int)
    /// A line of an AUTH exchange (the command index of AUTH).
    case authExchange(Int)
    /// Nothing visible was waiting for it, but client bytes were lost in a gap just before:
    /// it answers a command the capture did not keep.
    case lostCommand
    /// Sent while the client's message content (or a BDAT chunk) was still arriving (the
    /// DATA/BDAT command index).
    case duringData(Int)
    /// Nothing was waiting for a reply.
    case unsolicited
}

/// A complete (possibly multi-line) server reply.
public struct ReplyRecord: Sendable, Equatable {
    public var code: Int
    /// RFC 3463 enhanced status code from the first line, e.g. `5.5.4` (the start of `text`).
    public var enhancedCode: TextRef?
    /// Text of the first line (after the code and separator), at most 512 characters.
    public var text: TextRef
    public var lineCount: Int
    /// How many packets carried its lines (a multi-line reply may span several).
    public var packetCount: Int
    /// Frame and time of the first line.
    public var frame: UInt64
    public var timestamp: CaptureTimestamp
    public var target: ReplyTarget
    /// Whether its lines disagreed on the code.
    public var inconsistentCodes: Bool
}

/// One mail transaction: MAIL FROM up to the end of its message, RSET or the session's end.
public struct TransactionRecord: Sendable, Equatable {
    public var mailFrom: TextRef
    public var mailFrame: UInt64
    public var mailReply: Int?
    /// ESMTP parameters of MAIL (`SIZE=1000`, `BODY=8BITMIME`, `SMTPUTF8`…), as sent.
    public var mailParameters: [TextRef] = []
    /// The client's `SIZE=` declaration.
    public var declaredSize: UInt64?
    public var rcptTo: [TextRef] = []
    /// Reply codes of the RCPT commands, in order (nil where none came).
    public var rcptReplies: [Int?] = []
    /// Message octets after dot-unstuffing, excluding the final `.` line; BDAT: chunk octets.
    public var size: UInt64 = 0
    /// Whether message content was sent (DATA after 354, or BDAT).
    /// The DATA (or first BDAT) command's frame and DATA's reply.
    public var dataFrame: UInt64?
    public var dataReply: Int?
    /// Frames of the first content line and of the end of data (`.` line, or BDAT LAST).
    public var contentFrame: UInt64?
    public var contentTimestamp: CaptureTimestamp?
    public var endFrame: UInt64?
    public var endTimestamp: CaptureTimestamp?
    public var contentSent = false
    /// Whether the content's end was seen (`.` line or `BDAT … LAST`).
    public var contentComplete = false
    /// The reply to the end of data (or to BDAT LAST).
    public var reply: Int?
    public var replyFrame: UInt64?
    public var headers = MessageHeaders()

    /// A transaction as its MAIL command opens it, with room for a few recipients (instead of
    /// growing twice for the second).
    public init(mailFrom: TextRef, mailFrame: UInt64, mailParameters: [TextRef] = [], declaredSize: UInt64? = nil) {
        self.mailFrom = mailFrom
        self.mailFrame = mailFrame
        self.mailParameters = mailParameters
        self.declaredSize = declaredSize
        rcptTo.reserveCapacity(4)
        rcptReplies.reserveCapacity(4)
    }
}

/// The header fields smtp-trace reports from a message (unfolded, bounded; From, To and
/// Subject with RFC 2047 encoded words decoded, `subjectRaw` as sent).
public struct MessageHeaders: Sendable, Equatable {
    public var date: TextRef?
    public var from: TextRef?
    public var to: TextRef?
    public var subject: TextRef?
    public var subjectRaw: TextRef?
    public var messageID: TextRef?

    public init() {}
}

/// Everything smtp-trace learnt about one SMTP session: the finished result of an
/// `SMTPConversation`, which the findings and reports read (they never see bytes).
public struct SMTPSessionRecord: Sendable {
    // The fields every segment of the session updates come first, in one cache line of the
    // conversation that holds the record (a struct is laid out in declaration order).
    public var end: CaptureTimestamp
    public var lastFrame: UInt64
    /// Bytes carried per direction (client→server, server→client).
    public var bytes = DirectionCounts.zero
    /// 1, 2, 3… in the order the sessions' connections began.
    public var id: Int
    public var connectionID: UInt64
    public var client: Endpoint
    public var server: Endpoint
    public var start: CaptureTimestamp
    public var firstFrame: UInt64
    /// How the session was recognised: a known server port, or the dialogue itself.
    public var detectedBy: Detection
    /// The proxy handshake the dialogue was found behind (`socks4`, `socks5`, `http-connect`).
    public var tunnel: String?
    public var midstream: Bool
    public var greeting: Int?
    /// The last HELO/EHLO sent: verb and argument.
    public var heloVerb: TextRef?
    public var heloArgument: TextRef?
    /// Extensions advertised in the last successful EHLO reply (keywords with parameters).
    public var extensions: [TextRef] = []
    public var commands: [CommandRecord] = []
    public var replies: [ReplyRecord] = []
    public var transactions: [TransactionRecord] = []
    /// STARTTLS was answered 220 and a TLS handshake followed.
    public var tls = false
    /// The dialogue went on in cleartext after STARTTLS on both sides: a capture whose TLS
    /// layer was decrypted.
    public var tlsDecrypted = false
    /// The session used implicit TLS (port 465): nothing to decode.
    public var implicitTLS = false
    /// SASL mechanism of the last AUTH command, upper-cased.
    public var authMechanism: TextRef?
    public var close: SessionClose
    /// Bytes never captured (gaps), per direction.
    public var gapBytes = DirectionCounts.zero
    /// Lines the decoder could not place (malformed replies, lines after a gap before
    /// resynchronising…).
    public var undecodedLines = 0
    /// Commands beyond the per-session record limit (counted, not kept).
    public var commandsNotKept = 0
    /// Line-level protocol facts for the findings (folded, bounded).
    public var observations: [SMTPObservation] = []
    /// Where the client's AUTH responses were (their content is never kept).
    public var authResponses: [FrameMark] = []
    /// How decoding picked up again after each gap.
    public var resynchronisations: [Resynchronisation] = []
    /// The TCP layer's evidence (FINs, reset, gaps), in SMTP roles.
    public var tcp: SessionTCPEvidence? = nil
    /// The octets of every `TextRef` above.
    public var text = SessionText()

    public enum Detection: String, Sendable {
        case port
        case dialogue
    }

    public init(id: Int, connectionID: UInt64, client: Endpoint, server: Endpoint, start: CaptureTimestamp,
                firstFrame: UInt64, detectedBy: Detection, midstream: Bool) {
        self.id = id
        self.connectionID = connectionID
        self.client = client
        self.server = server
        self.start = start
        self.end = start
        self.firstFrame = firstFrame
        self.lastFrame = firstFrame
        self.detectedBy = detectedBy
        self.midstream = midstream
        self.close = .captureEnd
    }

    /// The code of the last reply the server sent.
    public var lastReplyCode: Int? { replies.last?.code }

    /// Messages whose content was completely sent.
    public var messageCount: Int {
        var count = 0
        for i in transactions.indices where transactions[i].contentComplete { count += 1 }
        return count
    }

    // Summed by index: `reduce` hands each transaction over as a copy (every list in it
    // retained and released again).
    public var messageBytes: UInt64 {
        var total: UInt64 = 0
        for i in transactions.indices { total += transactions[i].size }
        return total
    }

    public var recipientCount: Int {
        var total = 0
        for i in transactions.indices { total += transactions[i].rcptTo.count }
        return total
    }

    public var duration: Double { end.seconds(since: start) }

    /// A command as its line read: the verb, then a space and the argument if it has one.
    public func commandLine(_ c: CommandRecord) -> String {
        c.argument.isEmpty ? text[c.verb] : "\(text[c.verb]) \(text[c.argument])"
    }
}

/// A connection's TCP evidence with its sides named by SMTP role (the TCP layer may have
/// guessed the roles the other way round when no handshake was captured).
public struct SessionTCPEvidence: Sendable, Equatable {
    public var summary: TCPConnectionSummary

    public init(_ summary: consuming TCPConnectionSummary, clientIsTCPClient: Bool) {
        var s = consume summary
        if !clientIsTCPClient {
            for i in s.fins.indices { s.fins[i].side = s.fins[i].side.reversed }
            if let reset = s.reset { s.reset?.side = reset.side.reversed }
            for i in s.gaps.indices { s.gaps[i].side = s.gaps[i].side.reversed }
            s.bytesAfterPeerFIN = s.bytesAfterPeerFIN.reversed
            s.packetsBySide = s.packetsBySide.reversed
            swap(&s.client, &s.server)
        }
        self.summary = consume s
    }
}

/// Where the decoder resumed after bytes were lost: the gap's frame, the frame of the first
/// line it could trust again, and how many lines it had to skip to get there.
public struct Resynchronisation: Sendable, Equatable {
    public var side: Direction
    public var gapFrame: UInt64
    /// Nil when no recognisable line came after the gap.
    public var resumedFrame: UInt64?
    public var skippedLines: Int
    /// The gap fell inside a message (or BDAT chunk): decoding went on counting it.
    public var inMessage: Bool

    public init(side: Direction, gapFrame: UInt64, resumedFrame: UInt64?, skippedLines: Int, inMessage: Bool) {
        self.side = side
        self.gapFrame = gapFrame
        self.resumedFrame = resumedFrame
        self.skippedLines = skippedLines
        self.inMessage = inMessage
    }
}

/// A frame and its time: where something happened, without what.
public struct FrameMark: Sendable, Equatable {
    public var frame: UInt64
    public var timestamp: CaptureTimestamp

    public init(frame: UInt64, timestamp: CaptureTimestamp) {
        self.frame = frame
        self.timestamp = timestamp
    }
}

extension SessionClose {
    // Compared and hashed by case, not by the raw text (`caseIndex(of:)`).
    @inlinable
    public static func == (a: SessionClose, b: SessionClose) -> Bool { caseIndex(of: a) == caseIndex(of: b) }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(caseIndex(of: self)) }
}
