import CByteScan

/// Keeps the processor loading a buffer a fixed distance ahead of a reader that moves forward
/// through it, each cache line asked for once: for bytes read for the first time (a mapped
/// capture, a block of payloads copied there on another core), where the analysis of one packet
/// is long enough to hide the wait for the next ones.
public struct ReadAhead {
    /// How far past the reader's position the octets are asked for.
    public let distance: Int
    /// The offset up to which they have been asked for, in the caller's coordinates.
    private var askedUpTo = 0

    public init(distance: Int) {
        self.distance = distance
    }

    /// The reader is at offset `position`; the buffer holds offsets `bufferStart..<bufferEnd`,
    /// the first of them at `base`.
    @inline(__always)
    public mutating func advance(to position: Int, in base: UnsafeRawPointer, from bufferStart: Int, to bufferEnd: Int) {
        let end = min(position + distance, bufferEnd)
        let start = max(askedUpTo, position)
        guard end > start else { return }
        byte_scan_prefetch(base + (start - bufferStart), end - start)
        // Up to the end of the last line asked for (whole lines from `start`), so that the next
        // call does not ask for that line again.
        askedUpTo = start + ((end - start + 63) & ~63)
    }
}
