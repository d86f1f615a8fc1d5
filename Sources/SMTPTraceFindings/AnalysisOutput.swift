import SMTPTraceSMTP

/// Where an analysis hands what it finds the moment it is final, for streamed output: each
/// session as it ends, with its findings, and the findings of each connection on an SMTP port
/// that carried no SMTP (only when there are some). Either may be left nil.
public struct AnalysisOutput {
    public var sessionEnded: ((SMTPSessionRecord, [Finding]) -> Void)?
    public var connectionEnded: (([Finding]) -> Void)?

    public init(sessionEnded: ((SMTPSessionRecord, [Finding]) -> Void)? = nil,
                connectionEnded: (([Finding]) -> Void)? = nil) {
        self.sessionEnded = sessionEnded
        self.connectionEnded = connectionEnded
    }
}
