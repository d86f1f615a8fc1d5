import SMTPTraceCapture
import SMTPTraceTCP

/// A protocol fact the decoder noticed on a line or a reply — the raw material of the
/// line-level findings. It says what and where; the findings module says how bad and why.
///
/// Repeats of the same kind from the same side are folded into the first one (`count`), so a
/// message with ten thousand bare-LF lines costs one observation.
public struct SMTPObservation: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A server reply completed while the client's message content (after 354, before the
        /// end of data) or a BDAT chunk was still being sent.
        case replyDuringData
        /// A command line over 512 octets, a reply line over 512, a text line over 1000 (with CRLF).
        case lineTooLong
        /// A line ended by LF alone.
        case bareLF
        /// A CR not followed by LF inside a line.
        case bareCR
        /// An end-of-data sequence that only a lenient receiver takes as one.
        case smuggling
        /// Cleartext after STARTTLS and before a TLS handshake.
        case starttlsInjection
        /// Commands or data after QUIT, or server data after its 221.
        case afterQuit
        /// A malformed reply line, or a multi-line reply whose lines disagree on the code.
        case badReply
    }

    /// Where in the dialogue a line was.
    public enum Context: String, Sendable {
        case command
        case content
        case reply
        case authResponse = "auth_response"
    }

    public var kind: Kind
    /// Which side sent the line.
    public var side: Direction
    public var context: Context
    public var frame: UInt64
    public var timestamp: CaptureTimestamp
    /// The line as sent (kept prefix), escaped only by the reports.
    public var line: String?
    /// How many occurrences this one stands for.
    public var count: Int
    public var fields: [Field]

    public struct Field: Sendable, Equatable {
        public var key: String
        public var value: Value

        public init(_ key: String, _ value: Value) {
            self.key = key
            self.value = value
        }
    }

    public enum Value: Sendable, Equatable {
        case int(Int)
        case string(String)
        case bool(Bool)
        case strings([String])
    }

    public init(kind: Kind, side: Direction, context: Context, frame: UInt64, timestamp: CaptureTimestamp,
                line: String? = nil, count: Int = 1, fields: [Field] = []) {
        self.kind = kind
        self.side = side
        self.context = context
        self.frame = frame
        self.timestamp = timestamp
        self.line = line
        self.count = count
        self.fields = fields
    }

    public subscript(_ key: String) -> Value? {
        get { fields.first { $0.key == key }?.value }
        set {
            if let i = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[i].value = newValue } else { fields.remove(at: i) }
            } else if let newValue {
                fields.append(Field(key, newValue))
            }
        }
    }
}
