/// The command verbs smtp-trace knows (RFC 5321 and the extensions it follows), read once from
/// a command line's octets: following the dialogue and applying the rules then compares small
/// numbers, where comparing verb strings cost a call into the string library every time
/// (several per command and per reply).
public enum SMTPVerb: UInt8, Sendable, CaseIterable {
    case helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, starttls, auth
    case turn, etrn, atrn, send, soml, saml, xclient, xforward
    /// Any other verb, well formed or not.
    case other

    /// The verb whose upper-cased letters, at most eight, are packed in `letters` (the first
    /// in the lowest octet, as `SMTPCommand.parse` packs them); `.other` when no name matches.
    init(packedLetters letters: UInt64) {
        let names = Self.packedNames
        for i in 0..<names.count - 1 where names[i] == letters {
            self = SMTPVerb(rawValue: UInt8(i)) ?? .other
            return
        }
        self = .other
    }

    /// The verb as sent on the wire (upper case).
    public var name: String {
        switch self {
        case .helo: "HELO"
        case .ehlo: "EHLO"
        case .mail: "MAIL"
        case .rcpt: "RCPT"
        case .data: "DATA"
        case .bdat: "BDAT"
        case .rset: "RSET"
        case .noop: "NOOP"
        case .quit: "QUIT"
        case .vrfy: "VRFY"
        case .expn: "EXPN"
        case .help: "HELP"
        case .starttls: "STARTTLS"
        case .auth: "AUTH"
        case .turn: "TURN"
        case .etrn: "ETRN"
        case .atrn: "ATRN"
        case .send: "SEND"
        case .soml: "SOML"
        case .saml: "SAML"
        case .xclient: "XCLIENT"
        case .xforward: "XFORWARD"
        case .other: ""
        }
    }

    /// Each case's name packed as `init(packedLetters:)` reads it, indexed by raw value.
    private static let packedNames: [UInt64] = allCases.map { verb in
        verb.name.utf8.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
