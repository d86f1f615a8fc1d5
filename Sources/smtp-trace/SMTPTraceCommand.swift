import ArgumentParser
import Foundation
import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTraceReports
import SMTPTraceSMTP
import SMTPTraceTCP

/// Exit statuses, documented in `--help` and the README.
enum ExitStatus {
    static let success: Int32 = 0
    static let findings: Int32 = 1
    static let usage: Int32 = 2
    static let unreadableInput: Int32 = 3
    static let partialInput: Int32 = 4
}

@main
struct SMTPTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtp-trace",
        abstract: "Decode the SMTP dialogues in a packet capture and show who broke the protocol where, frame by frame.",
        discussion: """
            Reads pcap and pcapng files through libpcap, reassembles TCP, decodes each SMTP \
            session (on ports 25, 465, 587 and 2525, and on any port where the dialogue itself \
            is SMTP) and reports findings with the frames that show them. Several files are \
            read as one capture, merged in time order as mergecap does.

            EXAMPLES:
              smtp-trace relay.pcap                     findings, sessions, reply codes, overview
              smtp-trace -r a.pcap -r b.pcapng          two files as one capture
              smtp-trace --independent day1.pcap day2.pcap   separate captures, in parallel
              tcpdump -w - port 25 | smtp-trace -       read standard input
              smtp-trace --transcript 3 relay.pcap      session 3 as a C:/S: ladder
              smtp-trace --transcript all relay.pcap    every session's ladder
              smtp-trace --json relay.pcap | jq …       JSON Lines: session, finding, summary
              smtp-trace --write-flagged bad.pcap --only smtp.reply_during_data relay.pcap
              smtp-trace --fail-on error relay.pcap     exit 1 when any error-level finding exists
              smtp-trace -i eth0                        live: findings as they happen, report on Ctrl-C
              smtp-trace -i eth0 -f 'port 25' -w s.pcap live, with a filter, saving the packets
              smtp-trace -D                             list the capture interfaces

            EXIT STATUS:
              0  the capture was read completely (and no finding reached --fail-on)
              1  a finding at or above the --fail-on severity exists
              2  usage error (unknown option, bad value)
              3  an input could not be opened or is not a capture; nothing was analysed
              4  an input is truncated or damaged part-way; the report covers what was read
            Input problems (3, 4) take precedence over findings (1).
            """,
        version: "0.2.0"
    )

    @OptionGroup(title: "Input")
    var input: InputOptions

    @OptionGroup(title: "Live capture")
    var capture: CaptureOptions

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

    func validate() throws {
        if capture.listInterfaces || capture.interface != nil {
            if !input.allPaths.isEmpty { throw ValidationError("read files or capture live (-i), not both") }
            if output.transcript != nil || output.writeFlagged != nil {
                throw ValidationError("--transcript and --write-flagged work on capture files; save the live packets with -w and read them afterwards")
            }
        } else if input.allPaths.isEmpty {
            throw ValidationError("give a capture file to read (smtp-trace capture.pcap), '-' for standard input, or -i interface to capture live")
        }
    }

    func run() throws {
        if capture.listInterfaces {
            do {
                for (n, i) in try LiveCapture.interfaces().enumerated() {
                    var line = "\(n + 1).\(i.name)"
                    if let d = i.description { line += " (\(d))" }
                    if !i.flags.isEmpty { line += " [" + i.flags.joined(separator: ", ") + "]" }
                    Terminal.write(line + "\n")
                }
            } catch {
                Terminal.error(error.description)
                throw ExitCode(ExitStatus.unreadableInput)
            }
            return
        }
        if capture.interface != nil {
            let status = try LiveRun(capture: capture, analysis: analysis, output: output).run()
            if status != 0 { throw ExitCode(status) }
            return
        }
        let paths = input.allPaths
        let source: MergedFrameSource
        do {
            source = try MergedFrameSource(paths: paths)
        } catch {
            Terminal.error(error.description)
            throw ExitCode(ExitStatus.unreadableInput)
        }
        let progress = ProgressLine(total: source.totalBytes, enabled: Terminal.isTerminal(STDERR_FILENO) && !output.quiet)
        // Memory follows the open connections, not the capture: JSON is streamed as sessions
        // end and nothing is kept; the table report keeps a bounded sample; only a transcript
        // of every session or --write-flagged keep all.
        var configuration = analysis.configuration()
        if output.writeFlagged != nil || output.transcript == "all" {
            configuration.retention = .all
        } else if let transcript = output.transcript {
            let id = Int(transcript.hasPrefix("#") ? String(transcript.dropFirst()) : transcript) ?? 0
            configuration.retention = Retention(maxSessions: 0, maxFindingsPerID: nil, alwaysKeep: [id])
        } else if output.json {
            configuration.retention = Retention(maxSessions: 0, maxFindingsPerID: 0)
        } else {
            configuration.retention = Retention(maxSessions: 1000, maxFindingsPerID: 50)
        }
        let result: AnalysisResult
        let stream = output.json ? JSONStream(batchBytes: 1 << 18) : nil
        do {
            if input.independent && source.readers.count > 1 {
                result = try IndependentAnalysis(readers: source.readers, configuration: configuration, stream: stream).run()
            } else {
                let shards = analysis.shards
                if shards > 0 {
                    let sharded = ShardedAnalysis(source: source, configuration: configuration, shards: shards)
                    if let stream { sharded.merge.output = stream.output }
                    result = sharded.run { sharded in
                        progress.update(bytesRead: source.bytesRead, frames: sharded.framesRead, sessions: sharded.sessionsSoFar)
                    }
                } else {
                    let analyzer = CaptureAnalyzer(configuration: configuration)
                    if let stream { analyzer.output = stream.output }
                    result = try CaptureAnalyzer.analyze(source, with: analyzer) { analyzer in
                        progress.update(bytesRead: source.bytesRead, frames: analyzer.framesSoFar, sessions: analyzer.sessionsSoFar)
                    }
                }
            }
        } catch {
            progress.clear()
            stream?.flush()
            Terminal.error(error.description)
            throw ExitCode(ExitStatus.unreadableInput)
        }
        progress.clear()
        let names = paths.map { $0 == "-" ? "(standard input)" : $0 }
        let width = output.width ?? Terminal.width() ?? 100
        let style = TextStyle(colors: output.useColor())

        if let stream {
            stream.finish(result, inputs: names)
        } else if let which = output.transcript {
            try printTranscripts(which, result: result, width: width, style: style)
        } else {
            Terminal.write(TextReport(width: width, style: style).render(result, inputs: names))
        }
        if let flaggedPath = output.writeFlagged {
            try writeFlagged(result, to: flaggedPath, paths: paths)
        }
        for warning in result.warnings { Terminal.warning(warning.description) }
        if !result.warnings.isEmpty { throw ExitCode(ExitStatus.partialInput) }
        if let level = output.failOn, result.totals.severities.contains(where: { $0.key >= level.severity && $0.value > 0 }) {
            throw ExitCode(ExitStatus.findings)
        }
    }

    func printTranscripts(_ which: String, result: AnalysisResult, width: Int, style: TextStyle) throws {
        let report = TranscriptReport(width: width, style: style)
        let sessions: [SMTPSessionRecord]
        if which == "all" {
            sessions = result.sessions
        } else {
            let id = Int(which.hasPrefix("#") ? String(which.dropFirst()) : which)!
            guard let session = result.sessions.first(where: { $0.id == id }) else {
                Terminal.error("there is no session \(id) in this capture (it has \(result.totals.sessions)); run without --transcript to list them")
                throw ExitCode(ExitStatus.usage)
            }
            sessions = [session]
        }
        if sessions.isEmpty { Terminal.write("No SMTP sessions found.\n") }
        let texts = sessions.map { s in report.render(s, findings: result.findings.filter { $0.session == s.id }) }
        Terminal.write(texts.joined(separator: "\n"))
    }

    /// Second pass over the input: the packets of every flagged session, into a pcap.
    func writeFlagged(_ result: AnalysisResult, to path: String, paths: [String]) throws {
        let only = output.only.flatMap { FindingKind(rawValue: $0) }
        let selection = FlaggedPackets(result: result, only: only)
        let linkTypes = result.packets.linkTypes
        guard linkTypes.count <= 1 else {
            Terminal.error("cannot write '\(path)': the inputs mix link types (\(linkTypes.map(\.name).sorted().joined(separator: ", "))) and a pcap file holds one; give inputs of one link type")
            throw ExitCode(ExitStatus.usage)
        }
        let writer: PcapDumpWriter
        let again: MergedFrameSource
        do {
            writer = try PcapDumpWriter(path: path, linkType: linkTypes.first ?? .ethernet)
            again = try MergedFrameSource(paths: paths)
        } catch {
            Terminal.error(error.description)
            throw ExitCode(ExitStatus.unreadableInput)
        }
        if !selection.isEmpty {
            while let frame = try? again.next() {
                if selection.contains(frame) { writer.write(frame) }
            }
        }
        writer.flush()
        let ids = selection.sessionIDs.map { "#\($0)" }.joined(separator: " ")
        let count = selection.sessionIDs.count
        Terminal.note("wrote \(writer.framesWritten) packets of \(count) flagged session\(count == 1 ? "" : "s") to '\(path)'"
            + (ids.isEmpty ? "" : " (\(ids))"))
    }
}
