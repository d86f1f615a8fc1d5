/// Captures whose reassembled bytes differ from tshark's `follow,tcp,raw`, with the reason
/// smtp-trace's stream is the right one.
enum StreamDifferences {
    static let explained: [String: String] = [
        "arkime/arkime_synthetic.pcap": "stream 37 (DNS over TCP, port 53): the server's response (frame 354) acknowledges 35 client bytes that are not in the capture (tshark: 'ACKed unseen segment'); we mark them as a gap at the end of the connection, tshark's follow does not",
        "pcapplusplus/Smtp.pcap": "frames 7-8 reuse stream 0's 4-tuple 13 years later with rewound sequence numbers (spliced in from another capture): after the idle timeout they are a new connection of ours, while tshark appends them to stream 0",
    ]
}
