import ArgumentParser
import Foundation
import SMTPTraceFindings

/// What to print and when to fail.
struct OutputOptions: ParsableArguments {
    enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, always, never
    }

    enum FailLevel: String, ExpressibleByArgument, CaseIterable {
        case info, warning, error
        var severity: Severity { Severity(name: rawValue)! }
    }

    @Flag(help: "Write JSON Lines (session, finding and summary records) instead of tables.")
    var json = false

    @Option(help: ArgumentHelp("Print session ID (or 'all') as a C:/S: ladder with frames, TCP events and findings.", valueName: "id|all"))
    var transcript: String?

    @Option(help: ArgumentHelp("Also write the packets of every session with findings to this pcap file.", valueName: "file"))
    var writeFlagged: String?

    @Option(help: ArgumentHelp("With --write-flagged: only sessions with this finding id (e.g. smtp.reply_during_data).", valueName: "id"))
    var only: String?

    @Option(help: ArgumentHelp("Exit with status 1 when a finding of this severity or worse exists.", valueName: "info|warning|error"))
    var failOn: FailLevel?

    @Option(help: ArgumentHelp("Colour by severity: auto (on a terminal, unless NO_COLOR is set), always or never.", valueName: "when"))
    var color: ColorChoice = .auto

    @Option(help: ArgumentHelp("Fit tables to this many columns (default: the terminal's width, or 100).", valueName: "columns"))
    var width: Int?

    @Flag(name: .shortAndLong, help: "No progress line on standard error.")
    var quiet = false

    func validate() throws {
        if json && transcript != nil { throw ValidationError("--json and --transcript are two outputs; choose one") }
        if let transcript, transcript != "all" {
            let digits = transcript.hasPrefix("#") ? String(transcript.dropFirst()) : transcript
            guard let id = Int(digits), id > 0 else {
                throw ValidationError("--transcript takes a session number (as the report lists them) or 'all', not '\(transcript)'")
            }
        }
        if let only {
            guard FindingKind(rawValue: only) != nil else {
                throw ValidationError("--only: '\(only)' is no finding id; ids look like smtp.reply_during_data or tcp.half_open")
            }
            if writeFlagged == nil { throw ValidationError("--only selects what --write-flagged writes; give --write-flagged FILE") }
        }
        if let width, width < 40 { throw ValidationError("--width must be at least 40 columns") }
    }

    func useColor() -> Bool {
        switch color {
        case .always: return true
        case .never: return false
        case .auto:
            if let value = ProcessInfo.processInfo.environment["NO_COLOR"], !value.isEmpty { return false }
            return Terminal.isTerminal(STDOUT_FILENO) && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        }
    }
}
