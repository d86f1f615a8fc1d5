import ArgumentParser

/// Where the packets come from: files (pcap or pcapng), `-` for standard input.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng); '-' reads standard input.", valueName: "file"))
    var files: [String] = []

    @Option(name: .customShort("r"), help: ArgumentHelp("Read this capture file (repeatable), as tcpdump -r.", valueName: "file"))
    var readFiles: [String] = []

    @Flag(help: "Treat several files as separate captures (different links or days), analysed in parallel and reported together.")
    var independent = false

    var allPaths: [String] { readFiles + files }

    func validate() throws {
        if allPaths.filter({ $0 == "-" }).count > 1 {
            throw ValidationError("standard input ('-') can be read only once")
        }
    }
}
