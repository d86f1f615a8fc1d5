#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A capture file's bytes, read again by their position in the file.
///
/// Frames are borrowed and gone once the next one is read, so whatever must be looked at later
/// is normally copied. For a capture read from a regular file the bytes are still there: TCP
/// keeps each unacknowledged segment's position instead of a copy of its payload and reads it
/// back only when a retransmission has to be compared with it (a fraction of a percent of
/// segments), which saves copying every payload octet once.
///
/// Immutable and safe to share between threads (`pread` takes its own offset). The file must
/// not be rewritten while it is analysed.
public final class CaptureFileBytes: Sendable {
    private let descriptor: Int32

    /// Opens the file at `path` for reading; nil if it cannot be opened.
    public init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        descriptor = fd
    }

    /// Opens its own descriptor on the file behind `descriptor`; nil if that fails.
    init?(duplicating descriptor: Int32) {
        let own = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard own >= 0 else { return nil }
        self.descriptor = own
    }

    deinit { close(descriptor) }

    /// Reads `count` octets at file offset `offset` into `destination`: false when the file
    /// no longer holds them.
    public func read(_ count: Int, at offset: Int64, into destination: UnsafeMutableRawPointer) -> Bool {
        var done = 0
        while done < count {
            let n = pread(descriptor, destination + done, count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }
}
