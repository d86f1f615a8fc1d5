/// A client command line split into its verb and argument (RFC 5321 §4.1).
///
/// The verb is upper-cased; the argument is kept as sent, except that `AUTH` keeps only its
/// mechanism: credentials never enter a record.
public struct SMTPCommand: Sendable, Equatable {
    public var verb: String
    public var argument: String
    /// The verb is 1 to 16 ASCII letters (possibly one that no RFC defines).
    public var isWellFormed: Bool
    /// The verb as one smtp-trace knows (`.other` for any other or a malformed one).
    public var kind: SMTPVerb

    public init(verb: String, argument: String, isWellFormed: Bool = true, kind: SMTPVerb? = nil) {
        self.verb = verb
        self.argument = argument
        self.isWellFormed = isWellFormed
        self.kind = kind ?? (isWellFormed ? SMTPVerb(upperCased: verb.utf8) : .other)
    }

    /// Parses a line's bytes (no CR/LF). Invalid UTF-8 in the argument becomes U+FFFD.
    public static func parse(_ bytes: some Collection<UInt8>) -> SMTPCommand {
        if let parsed = bytes.withContiguousStorageIfAvailable({ parse(octets: $0) }) { return parsed }
        return Array(bytes).withUnsafeBufferPointer { parse(octets: $0) }
    }

    /// The line's octets read in place (`CommandLineParts`), then the verb and argument made
    /// strings: a known verb is its name from `SMTPVerb` (a literal, nothing to build).
    static func parse(octets bytes: UnsafeBufferPointer<UInt8>) -> SMTPCommand {
        let parts = CommandLineParts(bytes)
        let verb = parts.kind != .other ? parts.kind.name : String(unsafeUninitializedCapacity: parts.verbLength) { out in
            for i in 0..<parts.verbLength { out[i] = upperCasedASCII(bytes[i]) }
            return parts.verbLength
        }
        let argument = String(decoding: UnsafeBufferPointer(rebasing: bytes[parts.argument]), as: UTF8.self)
        return SMTPCommand(verb: verb, argument: argument, isWellFormed: parts.isWellFormed, kind: parts.kind)
    }
}

/// Where a command line's verb and argument are, read in place (no string made): what the
/// conversation copies into its record's text, and what `SMTPCommand` decodes.
struct CommandLineParts {
    /// The verb as one smtp-trace knows (`.other` for any other or a malformed one).
    var kind: SMTPVerb
    /// The verb is 1 to 16 ASCII letters.
    var isWellFormed: Bool
    /// The verb is the line's first `verbLength` octets (at most 32 looked at).
    var verbLength: Int
    /// The argument's octets: after the verb and one space; for AUTH its first word only (the
    /// mechanism, never an initial response).
    var argument: Range<Int>

    @inline(__always)
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        var verbLength = 0
        var lettersOnly = true
        while verbLength < bytes.count, bytes[verbLength] != 0x20, verbLength < 32 {
            if !isASCIILetter(bytes[verbLength]) { lettersOnly = false }
            verbLength += 1
        }
        isWellFormed = verbLength >= 1 && verbLength <= 16 && lettersOnly
        self.verbLength = verbLength
        kind = isWellFormed ? SMTPVerb(upperCased: UnsafeBufferPointer(rebasing: bytes[..<verbLength]).lazy.map(upperCasedASCII)) : .other
        var start = verbLength
        if start < bytes.count, bytes[start] == 0x20 { start += 1 }
        var end = bytes.count
        if kind == .auth {
            // Its first word: octets up to the first space after any spaces (spaces are ASCII,
            // so UTF-8 stays whole). A space a combining mark follows ends the word too, where
            // splitting the decoded `String` by `Character` did not, and kept the start of the
            // initial response with the mechanism.
            while start < end, bytes[start] == 0x20 { start += 1 }
            var wordEnd = start
            while wordEnd < end, bytes[wordEnd] != 0x20 { wordEnd += 1 }
            end = wordEnd
        }
        argument = start..<end
    }
}

@inline(__always)
func upperCasedASCII(_ b: UInt8) -> UInt8 { b >= 0x61 && b <= 0x7A ? b - 0x20 : b }

/// One line of a server reply (RFC 5321 §4.2): three digits (the first 2 to 5; servers do
/// send second digits above 5, e.g. `472`), then `-` (more lines follow), a space or the end of
/// the line, then text.
public struct SMTPReplyLine: Sendable, Equatable {
    public var code: Int
    public var isLast: Bool
    /// Where the text starts in the line's octets (after the code and the separator). The text
    /// is not made a `String` here: a multi-line reply's later lines only need theirs trimmed,
    /// and only when they are an EHLO reply's extensions.
    public var textStart: Int

    /// `nil` when the line does not start with a three-digit code followed by `-`, a space or
    /// the end of the line.
    public static func parse(_ octets: UnsafeBufferPointer<UInt8>) -> SMTPReplyLine? {
        guard octets.count >= 3, (0x32...0x35).contains(octets[0]), (0x30...0x39).contains(octets[1]),
            (0x30...0x39).contains(octets[2])
        else { return nil }
        let code = Int(octets[0] &- 0x30) &* 100 &+ Int(octets[1] &- 0x30) &* 10 &+ Int(octets[2] &- 0x30)
        if octets.count == 3 { return SMTPReplyLine(code: code, isLast: true, textStart: 3) }
        switch octets[3] {
        case 0x2D: return SMTPReplyLine(code: code, isLast: false, textStart: 4)
        case 0x20: return SMTPReplyLine(code: code, isLast: true, textStart: 4)
        default: return nil
        }
    }
}

/// The length of the RFC 3463 enhanced status code at the start of a reply's text (`5.5.4`),
/// when present and consistent with the reply's class; read from the first line's octets
/// where the framer left them.
func enhancedStatusCodeLength(octets: UnsafeBufferPointer<UInt8>, replyCode: Int) -> Int? {
    // class "." subject "." detail, each of subject and detail 1-3 digits, then a space or
    // the end; the class must be the reply's (RFC 3463 §2). Most texts fail at the first
    // octet. Classes 2, 4 and 5 only.
    let replyClass = replyCode / 100
    guard replyClass == 2 || replyClass == 4 || replyClass == 5 else { return nil }
    var index = 0
    guard index < octets.count, octets[index] == UInt8(ascii: "0") + UInt8(clamping: replyClass) else { return nil }
    index += 1
    for _ in 0..<2 {
        guard index < octets.count, octets[index] == UInt8(ascii: ".") else { return nil }
        index += 1
        var digits = 0
        while index < octets.count, octets[index] >= 0x30, octets[index] <= 0x39 {
            digits += 1
            index += 1
        }
        guard digits >= 1, digits <= 3 else { return nil }
    }
    guard index == octets.count || octets[index] == 0x20 else { return nil }
    return index
}

/// Whether `octets` start with `prefix`, ASCII letters compared without case (nothing else
/// folded): the one keyword test on octets, in place.
@inlinable @inline(__always)
public func hasASCIIPrefix(_ octets: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
    let length = prefix.utf8CodeUnitCount
    guard octets.count >= length else { return false }
    let wanted = prefix.utf8Start
    for i in 0..<length where !sameIgnoringASCIICase(octets[i], wanted[i]) { return false }
    return true
}

/// Whether `octets` are `word` (`hasASCIIPrefix`, and no more octets).
@inlinable @inline(__always)
public func isASCIIWord(_ octets: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
    octets.count == word.utf8CodeUnitCount && hasASCIIPrefix(octets, word)
}

/// Whether octet `b` is `w`, or the same ASCII letter in the other case.
@inlinable @inline(__always)
public func sameIgnoringASCIICase(_ b: UInt8, _ w: UInt8) -> Bool { b == w || (isASCIILetter(b) && b ^ 0x20 == w) }

/// The part of `octets` without the spaces and tabs at either end.
@inline(__always)
func spaceTrimmedRange(_ octets: UnsafeBufferPointer<UInt8>, from start: Int = 0) -> Range<Int> {
    var start = start, end = octets.count
    while start < end, octets[start] == 0x20 || octets[start] == 0x09 { start += 1 }
    while end > start, octets[end - 1] == 0x20 || octets[end - 1] == 0x09 { end -= 1 }
    return start..<end
}

@inlinable @inline(__always)
public func isASCIILetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
