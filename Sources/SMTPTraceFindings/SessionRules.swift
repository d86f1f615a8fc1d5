import SMTPTraceSMTP

/// The rules that turn a finished session record into findings. They read records only,
/// never bytes or packets.
enum SessionRules {
    static func evaluate(_ record: SMTPSessionRecord, liveCapture: Bool = false) -> [Finding] {
        var findings: [Finding] = SMTPRules.evaluate(record)
        if let tcp = record.tcp {
            findings += TCPRules.evaluate(tcp.summary, session: record.id, close: record.close,
                                          resynchronisations: record.resynchronisations,
                                          liveCapture: liveCapture)
        }
        return findings.sorted { $0.frame < $1.frame }
    }
}
