/// One line of a server reply (RFC 5321 §4.2): three digits (the first 2 to 5; servers do
/// send second digits above 5, e.g. `472`), then `-` (more lines follow), a space or the end of
/// the line, then text.
struct SMTPReplyLine {
    var code: Int
    var isLast: Bool
    /// Where the text starts in the line's octets (after the code and the separator). The text
    /// is not made a `String` here: a multi-line reply's later lines only need theirs trimmed,
    /// and only when they are an EHLO reply's extensions.
    var textStart: Int

    /// `nil` when the line does not start with a three-digit code followed by `-`, a space or
    /// the end of the line.
    static func parse(_ octets: UnsafeBufferPointer<UInt8>) -> SMTPReplyLine? {
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
