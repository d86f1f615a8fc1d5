/// TCP sequence-number arithmetic modulo 2^32 (RFC 1982 serial numbers).
///
/// The signed distance is what makes wrap-around invisible: 0x0000_0010 is 0x20 after
/// 0xFFFF_FFF0. (Adding 2^32 − 1 instead of 2^32 on wrap is a known bug elsewhere; here the
/// distance is a plain two's-complement subtraction.)
public enum SequenceNumber {
    /// `a − b` as a signed distance, valid while the two are within 2^31 of each other.
    @inlinable
    public static func distance(from b: UInt32, to a: UInt32) -> Int64 {
        Int64(Int32(bitPattern: a &- b))
    }

    @inlinable
    public static func advance(_ s: UInt32, by n: Int) -> UInt32 {
        s &+ UInt32(truncatingIfNeeded: n)
    }
}
