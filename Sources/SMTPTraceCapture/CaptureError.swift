/// Why a capture could not be opened or read. Every case names the input, so the message
/// a user sees says which file and what to do.
public enum CaptureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not exist.
    case noSuchFile(path: String)
    /// The file exists but may not be read by this user.
    case permissionDenied(path: String)
    /// The path names a directory.
    case isDirectory(path: String)
    /// libpcap read the file but it is neither pcap nor pcapng (or its header is corrupt).
    case notACapture(path: String, reason: String)
    /// libpcap could not open the input for another reason (its own message).
    case openFailed(path: String, reason: String)
    /// The capture ended in the middle of a record or a record is corrupt; frames before
    /// `afterFrame` were read.
    case readFailed(path: String, afterFrame: UInt64, reason: String)

    public var path: String {
        switch self {
        case .noSuchFile(let p), .permissionDenied(let p), .isDirectory(let p): p
        case .notACapture(let p, _), .openFailed(let p, _), .readFailed(let p, _, _): p
        }
    }

    /// One line: which input, what went wrong, what to do about it.
    public var description: String {
        let name = path == "-" ? "standard input" : "'\(path)'"
        switch self {
        case .noSuchFile:
            return "cannot read \(name): no such file; check the path"
        case .permissionDenied:
            return "cannot read \(name): permission denied; run as a user who may read it"
        case .isDirectory:
            return "cannot read \(name): it is a directory; give a capture file inside it"
        case .notACapture(_, let reason):
            return "cannot read \(name): not a pcap or pcapng capture (\(reason)); "
                + "check the file or convert it with editcap"
        case .openFailed(_, let reason):
            return "cannot read \(name): \(reason)"
        case .readFailed(_, let frame, let reason):
            return "\(name) is damaged or truncated after frame \(frame) (\(reason)); "
                + "results cover the frames before it"
        }
    }
}
