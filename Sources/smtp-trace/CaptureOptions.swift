import ArgumentParser

/// Live capture, as tcpdump spells it: -i, -D, -f, -c, -s, --no-promisc, -w.
struct CaptureOptions: ParsableArguments {
    @Option(name: .customShort("i"), help: ArgumentHelp("Capture live on this interface until Ctrl-C, -c or --duration.", valueName: "interface"))
    var interface: String?

    @Flag(name: .customShort("D"), help: "List the interfaces that can be captured on, as tcpdump -D does.")
    var listInterfaces = false

    @Option(name: .customShort("f"), help: ArgumentHelp("BPF capture filter (default: tcp on the SMTP ports).", valueName: "filter"))
    var filter: String?

    @Option(name: .customShort("c"), help: ArgumentHelp("Stop after this many packets.", valueName: "count"))
    var count: Int?

    @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    var duration: Double?

    @Option(name: .customShort("s"), help: ArgumentHelp("Snapshot length: bytes kept of each packet.", valueName: "snaplen"))
    var snapshotLength: Int = 262_144

    @Flag(help: "Do not put the interface into promiscuous mode.")
    var noPromisc = false

    @Option(name: .customShort("w"), help: ArgumentHelp("Also write the packets captured live to this pcap file.", valueName: "file"))
    var writeFile: String?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("-c must be at least 1") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be more than 0 seconds") }
        if snapshotLength < 68 || snapshotLength > 262_144 { throw ValidationError("-s must be between 68 and 262144") }
        if interface == nil {
            if count != nil || duration != nil || filter != nil || writeFile != nil || noPromisc {
                throw ValidationError("-c, --duration, -f, -w and --no-promisc go with a live capture (-i interface)")
            }
        }
    }
}
