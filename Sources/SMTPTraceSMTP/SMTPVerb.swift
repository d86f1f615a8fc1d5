/// The command verbs smtp-trace knows (RFC 5321 and the extensions it follows), read once from
/// a command line's octets: following the dialogue and applying the rules then compares small
/// numbers, where comparing verb strings cost a call into the string library every time
/// (several per command and per reply).
public enum SMTPVerb: UInt8, Sendable, CaseIterable {
    case helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, starttls, auth
    case turn, etrn, atrn, send, soml, saml, xclient, xforward
    /// Any other verb, well formed or not.
    case other

    /// The known verb spelt by `octets` (upper case, as a record keeps verbs); `.other`
    /// for any other. The names are four to eight letters: packed into one integer they are
    /// found with a comparison each.
    init(upperCased octets: some Collection<UInt8>) {
        guard octets.count >= 4 && octets.count <= 8 else {
            self = .other
            return
        }
        let letters = Self.packed(octets)
        self = Self.packedNames.first { $0.letters == letters }?.verb ?? .other
    }

    /// Octets packed into one integer, the first in the lowest octet.
    @inline(__always)
    private static func packed(_ octets: some Collection<UInt8>) -> UInt64 {
        var letters: UInt64 = 0, shift: UInt64 = 0
        for octet in octets {
            letters |= UInt64(octet) << shift
            shift &+= 8
        }
        return letters
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

    /// Each known verb with its name packed as `init(upperCased:)` reads it, in the order
    /// of the cases (the common verbs first).
    private static let packedNames: [(letters: UInt64, verb: SMTPVerb)] =
        allCases.filter { $0 != .other }.map { (packed($0.name.utf8), $0) }
}
