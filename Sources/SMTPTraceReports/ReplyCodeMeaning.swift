/// What reply codes (RFC 5321 §4.2, RFC 4954, RFC 3030, RFC 7504) and enhanced status codes
/// (RFC 3463, RFC 5248) mean, in a few words, for the reply-code table.
public enum ReplyCodeMeaning {
    public static func of(_ code: Int) -> String {
        switch code {
        case 211: "system status"
        case 214: "help message"
        case 220: "service ready"
        case 221: "closing connection"
        case 235: "authentication succeeded"
        case 250: "completed"
        case 251: "user not local; will forward"
        case 252: "cannot verify user; will attempt delivery"
        case 334: "AUTH continue"
        case 354: "start mail input"
        case 421: "service not available, closing"
        case 432: "password transition needed"
        case 450: "mailbox unavailable (temporary)"
        case 451: "local error in processing"
        case 452: "insufficient system storage"
        case 454: "temporary authentication failure"
        case 455: "server unable to accommodate parameters"
        case 500: "syntax error, command unrecognised"
        case 501: "syntax error in parameters"
        case 502: "command not implemented"
        case 503: "bad sequence of commands"
        case 504: "parameter not implemented"
        case 521: "host does not accept mail"
        case 530: "authentication required"
        case 534: "authentication mechanism too weak"
        case 535: "authentication credentials invalid"
        case 538: "encryption required for mechanism"
        case 550: "mailbox unavailable / rejected"
        case 551: "user not local"
        case 552: "exceeded storage allocation"
        case 553: "mailbox name not allowed"
        case 554: "transaction failed"
        case 555: "MAIL/RCPT parameters not recognised"
        case 556: "domain does not accept mail"
        default:
            switch code / 100 {
            case 2: "success"
            case 3: "intermediate"
            case 4: "transient failure"
            case 5: "permanent failure"
            default: "unknown"
            }
        }
    }

    /// RFC 3463 §3 subject and detail, e.g. `5.5.4` → "invalid command arguments".
    public static func enhanced(_ text: String) -> String? {
        let parts = text.split(separator: ".")
        guard parts.count == 3, let subject = Int(parts[1]), let detail = Int(parts[2]) else { return nil }
        switch (subject, detail) {
        case (0, 0): return "other"
        case (1, 0): return "other address status"
        case (1, 1): return "bad destination mailbox"
        case (1, 2): return "bad destination system"
        case (1, 3): return "bad destination mailbox syntax"
        case (1, 6): return "mailbox has moved"
        case (1, 7): return "bad sender's mailbox syntax"
        case (1, 8): return "bad sender's system address"
        case (1, 10): return "recipient address has null MX"
        case (2, 0): return "mailbox status"
        case (2, 1): return "mailbox disabled"
        case (2, 2): return "mailbox full"
        case (2, 3): return "message length exceeds administrative limit"
        case (3, 0): return "mail system status"
        case (3, 1): return "mail system full"
        case (3, 4): return "message too big for system"
        case (4, 0): return "network or routing status"
        case (4, 1): return "no answer from host"
        case (4, 2): return "bad connection"
        case (4, 3): return "directory server failure"
        case (4, 4): return "unable to route"
        case (4, 7): return "delivery time expired"
        case (5, 0): return "protocol status"
        case (5, 1): return "invalid command"
        case (5, 2): return "syntax error"
        case (5, 3): return "too many recipients"
        case (5, 4): return "invalid command arguments"
        case (5, 5): return "wrong protocol version"
        case (6, 0): return "message content status"
        case (6, 3): return "conversion required but not supported"
        case (7, 0): return "security status"
        case (7, 1): return "delivery not authorized, message refused"
        case (7, 8): return "authentication credentials invalid"
        case (7, 9): return "authentication mechanism too weak"
        case (7, 25): return "reverse DNS validation failed"
        case (7, 26): return "multiple authentication checks failed"
        default:
            switch subject {
            case 1: return "addressing status"
            case 2: return "mailbox status"
            case 3: return "mail system status"
            case 4: return "network or routing status"
            case 5: return "protocol status"
            case 6: return "message content status"
            case 7: return "security or policy status"
            default: return nil
            }
        }
    }
}
