/// Decimal digits two at a time, for the writers that format numbers in place per record
/// (the JSON writer's integers and addresses, a timestamp's second and microseconds): one
/// table lookup per two digits instead of a division and a remainder per digit.
enum DecimalDigits {
    /// "00", "01" … "99", one after the other.
    static let pairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    /// The two digits of `value` (0...99) at `at`.
    @inline(__always)
    static func writePair(_ value: Int, to at: UnsafeMutablePointer<UInt8>) {
        let table = pairs.utf8Start
        at[0] = table[value &* 2]
        at[1] = table[value &* 2 &+ 1]
    }
}
