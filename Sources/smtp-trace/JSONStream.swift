import SMTPTraceFindings
import SMTPTraceReports
import SMTPTraceSMTP

/// `--json` records written as sessions end: each session's record and its findings, and the
/// findings of connections that carried no SMTP, so that nothing has to be kept.
///
/// Reading a file, records are gathered into writes of about `batchBytes` (a write per session
/// cost a twentieth of the run on a large capture); live, `batchBytes` is 0 and each goes out
/// the moment its session ends. Not thread-safe: one caller at a time.
final class JSONStream {
    private let writer = JSONWriter()
    private let batchBytes: Int

    init(batchBytes: Int) {
        self.batchBytes = batchBytes
    }

    /// Where `CaptureAnalyzer` or `ShardMerge` hands each finished session.
    var output: AnalysisOutput {
        AnalysisOutput(sessionEnded: { [self] session, findings in write(session, findings: findings) },
                       connectionEnded: { [self] findings in write(findings) })
    }

    func write(_ session: SMTPSessionRecord, findings: [Finding]) {
        JSONLinesReport.writeSession(session, findings: findings, to: writer)
        written()
    }

    func write(_ findings: [Finding]) {
        JSONLinesReport.writeFindings(findings, to: writer)
        written()
    }

    private func written() {
        if writer.byteCount >= batchBytes { flush() }
    }

    /// The closing summary after everything gathered, all written out.
    func finish(_ result: AnalysisResult, inputs: [String]) {
        JSONLinesReport.writeSummary(result, inputs: inputs, to: writer)
        flush()
    }

    /// Writes out what is gathered (before an error, or at the end).
    func flush() {
        guard writer.byteCount > 0 else { return }
        writer.withBytes(Terminal.write(bytes:))
        writer.reset()
    }
}
