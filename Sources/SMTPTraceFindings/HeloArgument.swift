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
        if argument.isEmpty || argument.allSatisfy({ $0 == " " || $0 == "\t" }) { return .missing }
        if argument.last == " " || argument.last == "\t" { return .trailingSpace }
        if argument.hasPrefix("[") {
            return argument.hasSuffix("]") && isAddressLiteral(argument.dropFirst().dropLast()) ? nil : .invalid
        }
        if isIPv4(Substring(argument)) || (argument.contains(":") && isIPv6(Substring(argument))) { return .bareIP }
        if argument.hasSuffix(".") {
            return isDomain(argument.dropLast()) ? .trailingDot : .invalid
        }
        return isDomain(Substring(argument)) ? nil : .invalid
    }

    /// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str].
    static func isDomain(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 255 else { return false }
        for label in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard let first = label.utf8.first, let last = label.utf8.last, label.utf8.count <= 63 else { return false }
            guard isLetDig(first), isLetDig(last), label.utf8.allSatisfy({ isLetDig($0) || $0 == UInt8(ascii: "-") }) else {
                return false
            }
        }
        return true
    }

    static func isLetDig(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    static func isAddressLiteral(_ inner: Substring) -> Bool {
        if isIPv4(inner) { return true }
        if inner.uppercased().hasPrefix("IPV6:") { return isIPv6(inner.dropFirst(5)) }
        // General-address-literal: Standardized-tag ":" 1*dcontent
        if let colon = inner.firstIndex(of: ":") {
            let tag = inner[..<colon]
            return !tag.isEmpty && isDomainLabelLike(tag) && inner.index(after: colon) < inner.endIndex
        }
        return false
    }

    static func isDomainLabelLike(_ s: Substring) -> Bool {
        s.utf8.allSatisfy { isLetDig($0) || $0 == UInt8(ascii: "-") }
    }

    static func isIPv4(_ s: Substring) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy { $0.isASCII && $0.isNumber } && (Int(p) ?? 256) <= 255
        }
    }

    static func isIPv6(_ s: Substring) -> Bool {
        guard s.contains(":"), s.count >= 2, s.count <= 45 else { return false }
        var text = String(s)
        // An embedded IPv4 tail counts as two groups.
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard isIPv4(text[text.index(after: lastColon)...]) else { return false }
            text = String(text[...lastColon]) + "0:0"
        }
        let doubleColons = text.components(separatedBy: "::").count - 1
        guard doubleColons <= 1 else { return false }
        let groups = text.split(separator: ":", omittingEmptySubsequences: true)
        guard groups.allSatisfy({ $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }) else { return false }
        return doubleColons == 1 ? groups.count < 8 : groups.count == 8
    }
}
