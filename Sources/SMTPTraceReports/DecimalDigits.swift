/// Decimal digits two at a time, for the writers that format numbers in place per record
/// (the JSON writer's integers and addresses, a timestamp's second and microseconds): one
/// table lookup per two digits instead of a division and a remainder per digit.
enum DecimalDigits {
    /// "00", "01" … "99", one after the other.
    static let pairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    /// How many decimal digits `n` (at least 1) has: its bit length times log10 2 (≈ 1233/4096)
    /// is one fewer than the digits of the largest number of that length, and `n` has that many
    /// or one more, which one comparison with a power of ten tells (instead of a multiplication
    /// and a comparison per digit).
    @inline(__always)
    static func count(_ n: UInt64) -> Int {
        let bits = 64 &- n.leadingZeroBitCount
        let estimate = (bits &* 1233) >> 12
        return estimate &+ (n >= powersOfTen[estimate] ? 1 : 0)
    }

    /// 10⁰ … 10¹⁹.
    static let powersOfTen: [UInt64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
        10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000,
        1_000_000_000_000_000, 10_000_000_000_000_000, 100_000_000_000_000_000,
        1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ]

    /// The two digits of `value` (0...99) at `at`.
    @inline(__always)
    static func writePair(_ value: Int, to at: UnsafeMutablePointer<UInt8>) {
        let table = pairs.utf8Start
        at[0] = table[value &* 2]
        at[1] = table[value &* 2 &+ 1]
    }
}
