import Foundation
import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTraceReports
import SMTPTraceSMTP
import Testing

/// Where the package's fixtures and the shared corpus are, found from this file's path.
enum TestPaths {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> String {
        packageRoot.appendingPathComponent("Fixtures").appendingPathComponent(name).path
    }

    /// `../shared/corpus` beside the checkout, or `SMTP_TRACE_CORPUS`.
    static var corpus: URL? {
        if let env = ProcessInfo.processInfo.environment["SMTP_TRACE_CORPUS"] {
            return URL(fileURLWithPath: env)
        }
        let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus")
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("MANIFEST.md").path) ? url : nil
    }

    /// The `smtp-trace` executable built beside the test bundle.
    static var executable: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [bundle, bundle.deletingLastPathComponent()]
        for dir in candidates {
            let url = dir.appendingPathComponent("smtp-trace")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return packageRoot.appendingPathComponent(".build/debug/smtp-trace")
    }
}

/// Analyses capture files as the command line does.
func analyze(_ paths: [String], configuration: AnalyzerConfiguration = AnalyzerConfiguration()) throws -> AnalysisResult {
    let source = try MergedFrameSource(paths: paths)
    return try CaptureAnalyzer.analyze(source, configuration: configuration)
}

func analyzeFixture(_ name: String) throws -> AnalysisResult {
    try analyze([TestPaths.fixture(name)])
}

/// Runs the executable; returns exit status, stdout and stderr.
func runTool(_ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = TestPaths.executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

extension SMTPSessionRecord {
    var verbs: [String] { commands.map { text[$0.verb] } }
    var replyCodes: [Int] { replies.map(\.code) }
}
