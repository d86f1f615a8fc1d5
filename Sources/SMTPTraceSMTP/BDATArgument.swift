/// A BDAT command's argument (RFC 3030 §2): `chunk-size [SP end-marker]`, the size at most
/// fifteen decimal digits here and the marker `LAST` in any case, words separated by spaces.
/// Anything else is a syntax error that servers reject without reading a chunk (Postfix: 521
/// or 501).
///
/// One reading for everyone who asks whether a BDAT opens a chunk or ends a message: the
/// dialogue (which bytes are opaque), the reply pairing (which reply ends a transaction) and
/// the rules (where a transaction ends). Octets, not characters: `laſt` is no `LAST`.
public struct BDATArgument: Equatable, Sendable {
    public var size: UInt64
    public var last: Bool
}

extension BDATArgument {
    /// The argument's size and marker, or nil when it is not a well-formed BDAT argument.
    public init?(_ octets: UnsafeBufferPointer<UInt8>) {
        // Spaces before, between and after the words are skipped.
        var i = 0
        let sizeWord = nextSpaceDelimitedWord(octets, from: &i), marker = nextSpaceDelimitedWord(octets, from: &i)
        guard nextSpaceDelimitedWord(octets, from: &i).isEmpty, !sizeWord.isEmpty, sizeWord.count <= 15 else { return nil }
        var size: UInt64 = 0
        for at in sizeWord {
            let digit = octets[at] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            size = size * 10 + UInt64(digit)  // fifteen digits at most: no overflow
        }
        if marker.isEmpty {
            last = false
        } else if isASCIIWord(UnsafeBufferPointer(rebasing: octets[marker]), "LAST") {
            last = true
        } else {
            return nil
        }
        self.size = size
    }
}

extension SMTPSessionRecord {
    /// The argument of the BDAT command at `index` in `commands`, read from the record's text
    /// as the dialogue read it from the line; nil for another command or an argument that is
    /// not a BDAT one. (Past the text's cap, 256 MiB, an argument is an empty piece: nil.)
    public func bdatArgument(ofCommand index: Int) -> BDATArgument? {
        guard commands.indices.contains(index), commands[index].kind == .bdat else { return nil }
        return text.withOctets(commands[index].argument) { BDATArgument($0) }
    }
}
