import SMTPTraceCapture

/// Which party a finding blames.
public enum Party: String, Sendable, Codable {
    case client
    case server
    case network
}

/// One evidence-backed finding: what, who, where (frame and time), and why (RFC).
public struct Finding: Sendable {
    public var kind: FindingKind
    public var severity: Severity
    /// The session's id, or nil for a finding on a connection that was not an SMTP session.
    public var session: Int?
    public var party: Party
    /// The frame that carries the offending command or reply, or the TCP event itself.
    public var frame: UInt64
    public var timestamp: CaptureTimestamp
    public var message: String
    /// The offending line as sent (escaped by the reports, never here).
    public var line: String?
    /// Fields of the finding's own (`cause`, `reply_code`, `fin_frame`, …), in a stable order.
    public var evidence: [(key: String, value: EvidenceValue)]

    public init(kind: FindingKind, severity: Severity? = nil, session: Int?, party: Party, frame: UInt64,
                timestamp: CaptureTimestamp, message: String, line: String? = nil,
                evidence: [(key: String, value: EvidenceValue)] = []) {
        self.kind = kind
        self.severity = severity ?? kind.defaultSeverity
        self.session = session
        self.party = party
        self.frame = frame
        self.timestamp = timestamp
        self.message = message
        self.line = line
        self.evidence = evidence
    }
}

/// A value of a finding's own evidence field.
public enum EvidenceValue: Sendable, Equatable {
    case int(Int)
    case string(String)
    case bool(Bool)
    case double(Double)
}
