import ArgumentParser
import Foundation
import SMTPTraceFindings
import SMTPTraceSMTP
import SMTPTraceTCP

/// What counts as SMTP and the TCP layer's limits.
struct AnalysisOptions: ParsableArguments {
    @Option(help: ArgumentHelp("SMTP server ports, comma-separated (465 is followed as implicit TLS).", valueName: "ports"))
    var ports: String = "25,465,587,2525"

    @Flag(help: "Do not look for SMTP on other ports from the dialogue itself.")
    var noDetect = false

    @Option(help: ArgumentHelp("Close a connection after this many seconds without a packet (capture time).", valueName: "seconds"))
    var idleTimeout: Double = 600

    @Option(help: ArgumentHelp("Track at most this many TCP connections; the least recently active are evicted.", valueName: "n"))
    var maxConnections: Int = 262_144

    @Option(help: ArgumentHelp("Threads for one capture: with 2 or more, one reads and deals the connections out to the others, which analyse them; 1 does everything on one. The output is the same. (default: the number of cores)", valueName: "n"))
    var threads: Int?

    /// Analysis threads besides the reading one (0: everything on one thread).
    var shards: Int {
        let n = threads ?? ProcessInfo.processInfo.activeProcessorCount
        return n > 1 ? n - 1 : 0
    }

    func parsedPorts() throws -> Set<UInt16> {
        var set: Set<UInt16> = []
        for part in ports.split(separator: ",") {
            let trimmed = part.filter { $0 != " " }
            guard let port = UInt16(trimmed), port > 0 else {
                throw ValidationError("--ports: '\(part)' is not a port number (1-65535)")
            }
            set.insert(port)
        }
        return set
    }

    func validate() throws {
        _ = try parsedPorts()
        if idleTimeout <= 0 { throw ValidationError("--idle-timeout must be more than 0 seconds") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
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
