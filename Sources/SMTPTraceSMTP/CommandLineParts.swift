/// Where a client command line's verb and argument are (RFC 5321 §4.1), read in place (no
/// string made): what the conversation copies into its record's text.
struct CommandLineParts {
    /// The verb as one smtp-trace knows (`.other` for any other or a malformed one: not 1 to
    /// 16 ASCII letters).
    var kind: SMTPVerb
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
        let isWellFormed = verbLength >= 1 && verbLength <= 16 && lettersOnly
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
            let word = nextSpaceDelimitedWord(bytes, from: &start)
            (start, end) = (word.lowerBound, word.upperBound)
        }
        argument = start..<end
    }
}
