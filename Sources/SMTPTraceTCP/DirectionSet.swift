/// Which directions of a connection something happened for, in one octet: asked where a list
/// on the heap (the connection's events) would cost a cache miss of its own.
struct DirectionSet {
    private var bits: UInt8 = 0

    @inline(__always)
    func contains(_ direction: Direction) -> Bool { bits & Self.bit(direction) != 0 }

    @inline(__always)
    mutating func insert(_ direction: Direction) { bits |= Self.bit(direction) }

    @inline(__always)
    private static func bit(_ direction: Direction) -> UInt8 { direction == .clientToServer ? 1 : 2 }
}
