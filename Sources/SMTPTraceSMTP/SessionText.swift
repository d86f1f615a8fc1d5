/// Where one piece of a session's text is (a command's verb or argument, a reply's text, an
/// address, a header field): an octet range of the record's `SessionText`. Read it with
/// `record.text[ref]`.
///
/// A plain value with nothing to retain, so that the record's lists of commands, replies and
/// transactions are freed in one step each. Two refs are equal when they name the same place:
/// the records that hold them (`CommandRecord`, `ReplyRecord`…) compare places, not text, so
/// compare `record.text[ref]` across records.
public struct TextRef: Sendable, Hashable {
    public let offset: UInt32
    public let count: UInt32

    @inlinable
    public init(offset: UInt32, count: UInt32) {
        self.offset = offset
        self.count = count
    }

    public var isEmpty: Bool { count == 0 }

    /// The part from `start` to `end` (octet offsets within this piece, on UTF-8 character
    /// boundaries).
    @inlinable
    public func part(_ start: Int, _ end: Int) -> TextRef {
        precondition(0 <= start && start <= end && end <= Int(count), "a part outside its piece")
        return TextRef(offset: offset + UInt32(start), count: UInt32(end - start))
    }
}

/// All the text one session record keeps, in one buffer of valid UTF-8, each piece named by a
/// `TextRef`.
///
/// One growing buffer instead of a `String` per piece: a session keeps some forty pieces of
/// text, a `String` longer than fifteen octets is an allocation of its own, and every one of
/// them was released again, piece by piece, when the record was written and dropped (making
/// and dropping them cost about 5% of the analysis' instructions on the benchmark captures, 5%
/// of its time). Wire octets
/// are checked once as they enter (invalid UTF-8 becomes U+FFFD, as `String(decoding:)` makes
/// it), so that whoever reads a piece can take its octets as text.
public struct SessionText: Sendable {
    public private(set) var octets: [UInt8] = []

    public init() {}

    /// A session's usual text at once (its first piece), instead of growing four times.
    static let firstCapacity = 1024
    /// The most text one session keeps (offsets are 32 bits): 256 MiB, a quarter of a million
    /// replies of a full line each (their number is not limited otherwise; everything else
    /// is, per command kept or per transaction). A piece past it is kept empty.
    static let maximumCount = 1 << 28

    /// The piece's octets, valid during `body`.
    @inlinable
    public func withOctets<R>(_ ref: TextRef, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try octets.withUnsafeBufferPointer { try body(Self.octets(of: ref, in: $0)) }
    }

    /// The piece's octets in `all` (this text's octets): checked to lie inside them, since a
    /// ref is a public value that could come from another record.
    @inlinable
    public static func octets(of ref: TextRef, in all: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        let start = Int(ref.offset), end = start + Int(ref.count)
        precondition(end <= all.count, "a text piece outside its record's text")
        return UnsafeBufferPointer(rebasing: all[start..<end])
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
        withOctets(ref) { isASCIIWord($0, word) }
    }

    /// Whether the piece starts with `prefix`, ASCII letters compared without case.
    public func hasPrefixIgnoringASCIICase(_ ref: TextRef, _ prefix: StaticString) -> Bool {
        withOctets(ref) { hasASCIIPrefix($0, prefix) }
    }

    /// The piece's first `limit` characters (`String.limited(to:)`): itself when its octet
    /// count alone says it is short enough.
    public func limited(_ ref: TextRef, to limit: Int) -> TextRef {
        guard ref.count > limit else { return ref }
        return ref.part(0, self[ref].limited(to: limit).utf8.count)
    }

    /// Appends octets from the wire, kept as `appendRepairing` keeps them.
    mutating func append(wire bytes: UnsafeBufferPointer<UInt8>) -> TextRef {
        // A repaired piece is at most three times as long (U+FFFD for each octet).
        guard let start = room(for: 3 * bytes.count) else { return TextRef(offset: 0, count: 0) }
        Self.appendRepairing(bytes, to: &octets)
        return TextRef(offset: UInt32(start), count: UInt32(octets.count - start))
    }

    /// Appends octets that are all ASCII; nil (nothing appended) when they are not, or the
    /// text is full. A command line's verb and argument go in with one append this way, the
    /// parts named after.
    mutating func append(ascii bytes: UnsafeBufferPointer<UInt8>) -> TextRef? {
        guard Self.isASCII(bytes), let start = room(for: bytes.count) else { return nil }
        octets.append(contentsOf: bytes)
        return TextRef(offset: UInt32(start), count: UInt32(bytes.count))
    }

    /// Appends octets known to be valid UTF-8 (a string's, or octets repaired already).
    mutating func append(valid bytes: UnsafeBufferPointer<UInt8>) -> TextRef {
        guard let start = room(for: bytes.count) else { return TextRef(offset: 0, count: 0) }
        octets.append(contentsOf: bytes)
        return TextRef(offset: UInt32(start), count: UInt32(bytes.count))
    }

    mutating func append(_ string: String) -> TextRef {
        var string = string
        return string.withUTF8 { append(valid: $0) }
    }

    /// Upper-cases the ASCII letters of a piece in place (a verb; other octets unchanged, so
    /// a repaired piece stays valid).
    mutating func upperCaseASCII(_ ref: TextRef) {
        let end = Int(ref.offset) + Int(ref.count)
        precondition(end <= octets.count, "a text piece outside its record's text")
        octets.withUnsafeMutableBufferPointer { all in
            for i in Int(ref.offset)..<end { all[i] = upperCasedASCII(all[i]) }
        }
    }

    /// Where `count` more octets would start: nil past `maximumCount` (then the piece is kept
    /// empty). Room for a session's usual text at its first piece.
    private mutating func room(for count: Int) -> Int? {
        if octets.capacity == 0 { octets.reserveCapacity(Self.firstCapacity) }
        return octets.count + count <= Self.maximumCount ? octets.count : nil
    }

    /// Appends octets from the wire to `octets`: as they are when they are all ASCII (the
    /// usual case, seen eight octets a step), else decoded as `String(decoding:)` decodes them
    /// (U+FFFD for what is not UTF-8), so that whatever is kept reads as text.
    static func appendRepairing(_ bytes: UnsafeBufferPointer<UInt8>, to octets: inout [UInt8]) {
        if isASCII(bytes) {
            octets.append(contentsOf: bytes)
        } else {
            octets.append(contentsOf: String(decoding: bytes, as: UTF8.self).utf8)
        }
    }

    @inline(__always)
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var high: UInt64 = 0, i = 0
        while i + 8 <= bytes.count {
            high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            high |= UInt64(bytes[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }
}
