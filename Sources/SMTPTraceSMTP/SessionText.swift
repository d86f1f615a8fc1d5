/// Where one piece of a session's text is (a command's verb or argument, a reply's text, an
/// address, a header field): an octet range of the record's `SessionText`. Read it with
/// `record.text[ref]`.
///
/// A plain value with nothing to retain, so that the record's lists of commands, replies and
/// transactions are freed in one step each.
public struct TextRef: Sendable, Hashable {
    public let offset: UInt32
    public let count: UInt32

    @inlinable
    public init(offset: UInt32, count: UInt32) {
        self.offset = offset
        self.count = count
    }

    public var isEmpty: Bool { count == 0 }

    /// The part from `start` to `end` (octet offsets within this text, on UTF-8 character
    /// boundaries).
    @inlinable
    public func part(_ start: Int, _ end: Int) -> TextRef {
        TextRef(offset: offset &+ UInt32(truncatingIfNeeded: start), count: UInt32(truncatingIfNeeded: end &- start))
    }
}

/// All the text one session record keeps, in one buffer of valid UTF-8, each piece named by a
/// `TextRef`.
///
/// One growing buffer instead of a `String` per piece: a session keeps some forty pieces of
/// text, a `String` longer than fifteen octets is an allocation of its own, and every one of
/// them was released again, piece by piece, when the record was written and dropped — with
/// the making, a tenth of the analysis' instructions on the benchmark captures. Wire octets
/// are checked once as they enter (invalid UTF-8 becomes U+FFFD, as `String(decoding:)` makes
/// it), so that whoever reads a piece can take its octets as text.
public struct SessionText: Sendable {
    public private(set) var octets: [UInt8] = []

    public init() {}

    /// A session's usual text at once (its first piece), instead of growing four times.
    static let firstCapacity = 1024
    /// The most text one session keeps (offsets are 32 bits); a piece past it is kept empty.
    /// Far more than the per-session limits on commands and header fields let in.
    static let maximumCount = 1 << 28

    /// The piece's octets, valid during `body`.
    @inlinable
    public func withOctets<R>(_ ref: TextRef, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try octets.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[Int(ref.offset)..<Int(ref.offset) + Int(ref.count)]))
        }
    }

    /// The piece as a `String`.
    public subscript(ref: TextRef) -> String {
        withOctets(ref) { String(decoding: $0, as: UTF8.self) }
    }

    public subscript(ref: TextRef?) -> String? {
        ref.map { self[$0] }
    }

    public subscript(refs: [TextRef]) -> [String] {
        refs.map { self[$0] }
    }

    /// Whether the piece is `word`, ASCII letters compared without case.
    public func equalsIgnoringASCIICase(_ ref: TextRef, _ word: StaticString) -> Bool {
        ref.count == word.utf8CodeUnitCount && withOctets(ref) { hasASCIIPrefix($0, word) }
    }

    /// Whether the piece starts with `prefix`, ASCII letters compared without case.
    public func hasPrefixIgnoringASCIICase(_ ref: TextRef, _ prefix: StaticString) -> Bool {
        withOctets(ref) { hasASCIIPrefix($0, prefix) }
    }

    /// Appends octets from the wire: as they are when they are valid UTF-8 (all ASCII, the
    /// usual case, is seen in one pass), else decoded with U+FFFD for what is not.
    mutating func append(wire bytes: UnsafeBufferPointer<UInt8>, upperCased: Bool = false) -> TextRef {
        if bytes.allSatisfy({ $0 < 0x80 }) { return append(valid: bytes, upperCased: upperCased) }
        let decoded = upperCased
            ? String(decoding: bytes.map(upperCasedASCII), as: UTF8.self) : String(decoding: bytes, as: UTF8.self)
        return append(decoded)
    }

    /// The piece's first `limit` characters (`String.limited(to:)`): itself when its octet
    /// count alone says it is short enough.
    public func limited(_ ref: TextRef, to limit: Int) -> TextRef {
        guard ref.count > limit else { return ref }
        return ref.part(0, self[ref].limited(to: limit).utf8.count)
    }

    /// Appends octets from the wire to `octets` as `append(wire:)` keeps them.
    static func appendRepairing(_ bytes: UnsafeBufferPointer<UInt8>, to octets: inout [UInt8]) {
        if bytes.allSatisfy({ $0 < 0x80 }) {
            octets.append(contentsOf: bytes)
        } else {
            octets.append(contentsOf: String(decoding: bytes, as: UTF8.self).utf8)
        }
    }

    mutating func append(_ string: String) -> TextRef {
        var string = string
        return string.withUTF8 { append(valid: $0) }
    }

    /// Appends octets known to be valid UTF-8 (upper-cased, when `upperCased`, as ASCII).
    mutating func append(valid bytes: UnsafeBufferPointer<UInt8>, upperCased: Bool = false) -> TextRef {
        if octets.capacity == 0 { octets.reserveCapacity(Self.firstCapacity) }
        guard octets.count + bytes.count <= Self.maximumCount else { return TextRef(offset: 0, count: 0) }
        let ref = TextRef(offset: UInt32(truncatingIfNeeded: octets.count), count: UInt32(truncatingIfNeeded: bytes.count))
        if upperCased {
            for b in bytes { octets.append(upperCasedASCII(b)) }
        } else {
            octets.append(contentsOf: bytes)
        }
        return ref
    }
}
