/// A bounds-checked, big-endian reader over borrowed bytes. Every read of wire data can fail
/// (returns `nil`) rather than trap: packets are untrusted.
public struct ByteCursor {
    public let bytes: UnsafeRawBufferPointer
    public var offset: Int

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    @inlinable
    public var remaining: Int { bytes.count - offset }

    @inlinable @inline(__always)
    public mutating func readUInt8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    @inlinable @inline(__always)
    public mutating func readUInt16() -> UInt16? {
        guard remaining >= 2 else { return nil }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    @inlinable @inline(__always)
    public mutating func readUInt32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    @inlinable @inline(__always)
    public func peekUInt8(at delta: Int = 0) -> UInt8? {
        guard delta >= 0, remaining > delta else { return nil }
        return bytes[offset + delta]
    }

    @inlinable @inline(__always)
    public func peekUInt16(at delta: Int) -> UInt16? {
        guard delta >= 0, remaining >= delta + 2 else { return nil }
        return UInt16(bytes[offset + delta]) << 8 | UInt16(bytes[offset + delta + 1])
    }

    /// Skips `count` bytes; fails (and moves nothing) when fewer remain.
    @inlinable @inline(__always)
    @discardableResult
    public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        offset += count
        return true
    }

    /// The bytes from the current offset to the end.
    @inlinable
    public var rest: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[offset...])
    }
}
