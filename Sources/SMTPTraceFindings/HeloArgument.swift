import SMTPTraceSMTP

/// What is wrong with a HELO/EHLO argument, if anything (RFC 5321 §4.1.1.1: a Domain or an
/// address-literal; §4.1.2 for their syntax).
public enum HeloDefect: String, Sendable {
    case missing
    case trailingDot = "trailing_dot"
    case trailingSpace = "trailing_space"
    /// An IP address without the brackets of an address-literal.
    case bareIP = "bare_ip"
    case invalid

    /// Classifies an argument exactly as sent (trailing spaces kept).
    public static func of(_ argument: String) -> HeloDefect? {
        // Every rule is about ASCII octets: read them once, never as Characters (and where the
        // string keeps them, not copied into an array first).
        var text = argument
        return text.withUTF8 { of($0[...]) }
    }

    /// The argument's octets, where they are kept (the session's text, or a string's own).
    typealias Octets = Slice<UnsafeBufferPointer<UInt8>>

    static func of(_ a: Octets) -> HeloDefect? {
        if a.allSatisfy({ $0 == space || $0 == tab }) { return .missing }
        if a.last == space || a.last == tab { return .trailingSpace }
        if a.first == openBracket {
            return a.count >= 2 && a.last == closeBracket && isAddressLiteral(a.dropFirst().dropLast()) ? nil : .invalid
        }
        if isIPv4(a) || (a.contains(colon) && isIPv6(a)) { return .bareIP }
        if a.last == dot {
            return isDomain(a.dropLast()) ? .trailingDot : .invalid
        }
        return isDomain(a) ? nil : .invalid
    }

    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), dot = UInt8(ascii: ".")
    private static let colon = UInt8(ascii: ":"), openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")

    /// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]. One pass over the
    /// octets: every label 1–63 octets, starting and ending with a letter or digit.
    static func isDomain(_ text: Octets) -> Bool {
        guard !text.isEmpty, text.count <= 255 else { return false }
        var labelLength = 0
        var previous: UInt8 = dot
        for b in text {
            if b == dot {
                guard labelLength > 0, isLetDig(previous) else { return false }
                labelLength = 0
            } else {
                guard isLetDig(b) || (b == UInt8(ascii: "-") && labelLength > 0) else { return false }
                labelLength += 1
                guard labelLength <= 63 else { return false }
            }
            previous = b
        }
        return labelLength > 0 && isLetDig(previous)
    }

    static func isLetDig(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }

    static func isAddressLiteral(_ inner: Octets) -> Bool {
        if isIPv4(inner) { return true }
        if hasASCIIPrefix(UnsafeBufferPointer(rebasing: inner), "IPV6:") {
            return isIPv6(inner.dropFirst(5))
        }
        // General-address-literal: Standardized-tag ":" 1*dcontent
        if let colonIndex = inner.firstIndex(of: colon) {
            let tag = inner[..<colonIndex]
            return !tag.isEmpty && tag.allSatisfy({ isLetDig($0) || $0 == UInt8(ascii: "-") })
                && inner.index(after: colonIndex) < inner.endIndex
        }
        return false
    }

    /// Four dot-separated decimal numbers of one to three digits, each at most 255.
    static func isIPv4(_ s: some Collection<UInt8>) -> Bool {
        var parts = 0, digits = 0, value = 0
        for b in s {
            if b == dot {
                guard digits > 0, value <= 255 else { return false }
                parts += 1
                digits = 0
                value = 0
            } else {
                guard b >= 0x30 && b <= 0x39, digits < 3 else { return false }
                digits += 1
                value = value * 10 + Int(b - 0x30)
            }
        }
        return parts == 3 && digits > 0 && value <= 255
    }

    static func isIPv6(_ s: Octets) -> Bool {
        guard s.contains(colon), s.count >= 2, s.count <= 45 else { return false }
        var text = Array(s)
        // An embedded IPv4 tail counts as two groups.
        if let lastColon = text.lastIndex(of: colon), text[(lastColon + 1)...].contains(dot) {
            guard isIPv4(text[(lastColon + 1)...]) else { return false }
            text = Array(text[...lastColon]) + Array("0:0".utf8)
        }
        // "::" at most once (counted left to right, without overlap).
        var doubleColons = 0
        var i = 0
        while i + 1 < text.count {
            if text[i] == colon && text[i + 1] == colon {
                doubleColons += 1
                i += 2
            } else {
                i += 1
            }
        }
        guard doubleColons <= 1 else { return false }
        let groups = text.split(separator: colon, omittingEmptySubsequences: true)
        guard groups.allSatisfy({ $0.count <= 4 && $0.allSatisfy(isHexDigit) }) else { return false }
        return doubleColons == 1 ? groups.count < 8 : groups.count == 8
    }
}
