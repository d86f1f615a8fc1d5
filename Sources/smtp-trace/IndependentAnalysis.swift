import Dispatch
import Foundation
import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTraceReports
import SMTPTraceSMTP

/// `--independent`: each input is its own capture (another link, another day), analysed on
/// its own core, and the results are reported together. With `--json`, sessions are streamed
/// as they end, numbered 1, 2, 3… across all inputs in the order they end; the table report
/// numbers them file by file.
final class IndependentAnalysis: @unchecked Sendable {
    let readers: [PcapFileReader]
    let configuration: AnalyzerConfiguration
    /// Where `--json` records go (under `lock`: the inputs' threads share it); nil for the table.
    let stream: JSONStream?
    private let lock = NSLock()
    private var results: [AnalysisResult?]
    private var failures: [CaptureError] = []
    private var nextStreamedID = 0

    init(readers: [PcapFileReader], configuration: AnalyzerConfiguration, stream: JSONStream?) {
        self.readers = readers
        self.configuration = configuration
        self.stream = stream
        self.results = Array(repeating: nil, count: readers.count)
    }

    func run() throws(CaptureError) -> AnalysisResult {
        DispatchQueue.concurrentPerform(iterations: readers.count) { index in
            let analyzer = CaptureAnalyzer(configuration: configuration)
            if let stream { self.stream(analyzer, to: stream) }
            do {
                let result = try CaptureAnalyzer.analyze(MergedFrameSource(readers: [readers[index]]), with: analyzer)
                lock.lock()
                results[index] = result
                lock.unlock()
            } catch {
                lock.lock()
                failures.append(error as? CaptureError ?? .openFailed(path: readers[index].path, reason: "\(error)"))
                lock.unlock()
            }
        }
        if let failure = failures.first { throw failure }
        return AnalysisResult.merging(results.compactMap { $0 })
    }

    /// One writer at a time; ids unique across the inputs.
    private func stream(_ analyzer: CaptureAnalyzer, to stream: JSONStream) {
        analyzer.output.sessionEnded = { [self] session, findings in
            lock.lock()
            defer { lock.unlock() }
            nextStreamedID += 1
            var renumbered = session
            renumbered.id = nextStreamedID
            let findings = findings.map { f in
                var f = f
                f.session = nextStreamedID
                return f
            }
            stream.write(renumbered, findings: findings)
        }
        analyzer.output.connectionEnded = { [self] findings in
            lock.lock()
            defer { lock.unlock() }
            stream.write(findings)
        }
    }
}
