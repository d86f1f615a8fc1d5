/// A packet's capture time: whole seconds since the Unix epoch and nanoseconds within the second.
///
/// All time in smtp-trace is capture time, never the wall clock, so that analysing a capture
/// twice gives the same answer.
public struct CaptureTimestamp: Hashable, Comparable, Sendable {
    public var seconds: Int64
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static let zero = CaptureTimestamp(seconds: 0, nanoseconds: 0)

    /// Total nanoseconds since the epoch (wraps only after year 2262).
    @inlinable
    public var totalNanoseconds: Int64 { seconds &* 1_000_000_000 &+ Int64(nanoseconds) }

    public init(totalNanoseconds: Int64) {
        var s = totalNanoseconds / 1_000_000_000
        var n = totalNanoseconds % 1_000_000_000
        if n < 0 { s -= 1; n += 1_000_000_000 }
        self.init(seconds: s, nanoseconds: UInt32(n))
    }

    /// Seconds elapsed from `earlier` to `self` (negative when `earlier` is later).
    public func seconds(since earlier: CaptureTimestamp) -> Double {
        Double(totalNanoseconds - earlier.totalNanoseconds) / 1e9
    }

    public func adding(seconds delta: Double) -> CaptureTimestamp {
        CaptureTimestamp(totalNanoseconds: totalNanoseconds + Int64(delta * 1e9))
    }

    @inlinable
    public static func < (lhs: CaptureTimestamp, rhs: CaptureTimestamp) -> Bool {
        lhs.seconds != rhs.seconds ? lhs.seconds < rhs.seconds : lhs.nanoseconds < rhs.nanoseconds
    }
}
