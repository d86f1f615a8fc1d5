import ArgumentParser
import Foundation
import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTraceReports
import SMTPTraceSMTP
import SMTPTraceTCP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Exit statuses, documented in `--help` and the README.
enum ExitStatus {
    static let success: Int32 = 0
    static let usage: Int32 = 2
    static let unreadableInput: Int32 = 3
    static let partialInput: Int32 = 4
}

@main
struct SMTPTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtp-trace",
        abstract: "Decode the SMTP dialogues in a packet capture and show who did what, frame by frame.",
        discussion: """
            Reads pcap and pcapng files through libpcap, reassembles TCP, decodes each SMTP \
            session (on ports 25, 465, 587 and 2525, and on any port where the dialogue itself \
            is SMTP) and prints one line per session followed by an overview of the capture. \
            Several files are read as one capture, merged in time order as mergecap does.

            EXAMPLES:
              smtp-trace relay.pcap               sessions and overview
              smtp-trace -r a.pcap -r b.pcapng    two files as one capture
              tcpdump -w - port 25 | smtp-trace -  read standard input
              smtp-trace --json relay.pcap        JSON Lines (session, finding, summary)
              smtp-trace --ports 25,10025 x.pcap  SMTP servers on other ports

            EXIT STATUS:
              0  the capture was read completely
              2  usage error (unknown option, bad value)
              3  an input could not be opened or is not a capture; nothing was analysed
              4  an input is truncated or damaged part-way; the report covers what was read
            """,
        version: "0.1.0"
    )

    @OptionGroup(title: "Input")
    var input: InputOptions

    @OptionGroup(title: "Analysis")
    var analysis: AnalysisOptions

    @OptionGroup(title: "Output")
    var output: OutputOptions

    /// Runs the command, mapping usage errors to status 2 (tcpdump's convention, not
    /// sysexits' 64) with a one-line message instead of the whole help text.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                let text = message(for: error)
                let ended = text.hasSuffix(".") || text.hasSuffix("?")
                Terminal.error(text + (ended ? " See 'smtp-trace --help'." : "; see 'smtp-trace --help'"))
                Foundation.exit(ExitStatus.usage)
            }
            exit(withError: error)
        }
    }

    func run() throws {
        let paths = input.allPaths
        let source: MergedFrameSource
        do {
            source = try MergedFrameSource(paths: paths)
        } catch {
            Terminal.error(error.description)
            throw ExitCode(ExitStatus.unreadableInput)
        }
        let result: AnalysisResult
        do {
            result = try CaptureAnalyzer.analyze(source, configuration: analysis.configuration())
        } catch {
            Terminal.error(error.description)
            throw ExitCode(ExitStatus.unreadableInput)
        }
        let names = paths.map { $0 == "-" ? "(standard input)" : $0 }
        if output.json {
            Terminal.write(JSONLinesReport.render(result, inputs: names))
        } else {
            let width = output.width ?? Terminal.width() ?? 100
            Terminal.write(TextReport(width: width).render(result, inputs: names))
        }
        for warning in result.warnings { Terminal.warning(warning.description) }
        if !result.warnings.isEmpty { throw ExitCode(ExitStatus.partialInput) }
    }
}

struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng); '-' reads standard input.", valueName: "file"))
    var files: [String] = []

    @Option(name: .customShort("r"), help: ArgumentHelp("Read this capture file (repeatable), as tcpdump -r.", valueName: "file"))
    var readFiles: [String] = []

    var allPaths: [String] { readFiles + files }

    func validate() throws {
        if allPaths.isEmpty {
            throw ValidationError("give a capture file to read (smtp-trace capture.pcap), or '-' for standard input")
        }
        if allPaths.filter({ $0 == "-" }).count > 1 {
            throw ValidationError("standard input ('-') can be read only once")
        }
    }
}

struct AnalysisOptions: ParsableArguments {
    @Option(help: ArgumentHelp("SMTP server ports, comma-separated (465 is followed as implicit TLS).", valueName: "ports"))
    var ports: String = "25,465,587,2525"

    @Flag(help: "Do not look for SMTP on other ports from the dialogue itself.")
    var noDetect = false

    @Option(help: ArgumentHelp("Close a connection after this many seconds without a packet (capture time).", valueName: "seconds"))
    var idleTimeout: Double = 600

    @Option(help: ArgumentHelp("Track at most this many TCP connections; the least recently active are evicted.", valueName: "n"))
    var maxConnections: Int = 262_144

    func parsedPorts() throws -> Set<UInt16> {
        var set: Set<UInt16> = []
        for part in ports.split(separator: ",") {
            guard let port = UInt16(part.trimmingCharacters(in: " ")), port > 0 else {
                throw ValidationError("--ports: '\(part)' is not a port number (1-65535)")
            }
            set.insert(port)
        }
        return set
    }

    func validate() throws {
        _ = try parsedPorts()
        if idleTimeout <= 0 { throw ValidationError("--idle-timeout must be more than 0 seconds") }
        if maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
    }

    func configuration() -> AnalyzerConfiguration {
        let ports = (try? parsedPorts()) ?? SMTPSettings.defaultPorts
        let tls = ports.intersection([465])
        return AnalyzerConfiguration(
            smtp: SMTPSettings(ports: ports.subtracting(tls), implicitTLSPorts: tls, detectOnAnyPort: !noDetect),
            reassembly: ReassemblyLimits(maxConnections: maxConnections, idleTimeout: idleTimeout))
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Write JSON Lines (session, finding and summary records) instead of tables.")
    var json = false

    @Option(help: ArgumentHelp("Fit tables to this many columns (default: the terminal's width, or 100).", valueName: "columns"))
    var width: Int?
}

extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return s
    }
}
