import SMTPTraceSMTP

/// How serious a finding is.
public enum Severity: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    /// A notable event.
    case info = 0
    /// A likely fault or a risk.
    case warning = 1
    /// A protocol violation by a party.
    case error = 2

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }

    public init?(name: String) {
        guard let match = Severity.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}

/// The closed catalogue of findings. The string ids are an interface (JSON output, `--fail-on`,
/// users' scripts and SIEM rules): once published, an id keeps its meaning.
public enum FindingKind: String, CaseIterable, Sendable, Codable {
    case replyDuringData = "smtp.reply_during_data"
    case missingHelo = "smtp.missing_helo"
    case heloSyntax = "smtp.helo_syntax"
    case heloRejected = "smtp.helo_rejected"
    case ehloFallback = "smtp.ehlo_fallback"
    case noGreetingAccepted = "smtp.no_greeting_accepted"
    case halfOpen = "tcp.half_open"
    case unsolicitedReply = "smtp.unsolicited_reply"
    case unansweredCommand = "smtp.unanswered_command"
    case earlyTalker = "smtp.early_talker"
    case pipeliningUnadvertised = "smtp.pipelining_unadvertised"
    case badReply = "smtp.bad_reply"
    case lineTooLong = "smtp.line_too_long"
    case bareLF = "smtp.bare_lf"
    case bareCR = "smtp.bare_cr"
    case smuggling = "smtp.smuggling"
    case sizeExceeded = "smtp.size_exceeded"
    case starttlsInjection = "smtp.starttls_injection"
    case authCleartext = "smtp.auth_cleartext"
    case afterQuit = "smtp.after_quit"
    case sequenceError = "smtp.sequence_error"
    case serviceClosing = "smtp.service_closing"
    case reset = "tcp.reset"
    case gap = "tcp.gap"
    case midstream = "tcp.midstream"

    public var id: String { rawValue }

    /// The catalogue's severity (`smtp.ehlo_fallback` is raised to warning when the fallback fails).
    public var defaultSeverity: Severity {
        switch self {
        case .replyDuringData, .missingHelo, .heloRejected, .noGreetingAccepted, .unsolicitedReply,
            .badReply, .smuggling, .starttlsInjection:
            .error
        case .heloSyntax, .halfOpen, .unansweredCommand, .earlyTalker, .pipeliningUnadvertised,
            .lineTooLong, .bareLF, .bareCR, .sizeExceeded, .authCleartext, .afterQuit, .sequenceError,
            .reset:
            .warning
        case .ehloFallback, .serviceClosing, .gap, .midstream:
            .info
        }
    }

    /// The standard the finding rests on.
    public var reference: String {
        switch self {
        case .replyDuringData: "RFC 5321 §4.2, §4.3.2; RFC 821 §4.2, §4.4"
        case .missingHelo: "RFC 5321 §4.1.4"
        case .heloSyntax: "RFC 5321 §4.1.1.1, §4.1.2, §4.1.3"
        case .heloRejected: "RFC 5321 §4.1.1.1"
        case .ehloFallback: "RFC 1869 §4.5, RFC 5321 §3.2"
        case .noGreetingAccepted: "RFC 5321 §4.1.4"
        case .halfOpen: "RFC 793 §3.5"
        case .unsolicitedReply: "RFC 5321 §4.2, §4.3"
        case .unansweredCommand: "RFC 5321 §4.2"
        case .earlyTalker: "RFC 5321 §4.3.1"
        case .pipeliningUnadvertised: "RFC 2920"
        case .badReply: "RFC 5321 §4.2"
        case .lineTooLong: "RFC 5321 §4.5.3.1"
        case .bareLF, .bareCR: "RFC 5321 §2.3.8, §4.1.1.4"
        case .smuggling: "CVE-2023-51764/51765/51766"
        case .sizeExceeded: "RFC 1870"
        case .starttlsInjection: "CVE-2011-0411, RFC 3207 §4"
        case .authCleartext: "RFC 4954 §4"
        case .afterQuit: "RFC 5321 §4.1.1.10"
        case .sequenceError: "RFC 5321 §4.1.4, §3.3"
        case .serviceClosing: "RFC 5321 §3.8"
        case .reset: "RFC 793"
        case .gap, .midstream: ""
        }
    }
}

extension FindingKind {
    // Compared and hashed by case, not by the raw text (`caseIndex(of:)`).
    @inlinable
    public static func == (a: FindingKind, b: FindingKind) -> Bool { caseIndex(of: a) == caseIndex(of: b) }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(caseIndex(of: self)) }
}
