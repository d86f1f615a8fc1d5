import SMTPTraceSMTP

/// The rules that turn a finished session record into findings. They read records only,
/// never bytes or packets.
enum SessionRules {
    static func evaluate(_ record: SMTPSessionRecord) -> [Finding] {
        []
    }
}
