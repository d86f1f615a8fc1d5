/// Where text from the wire becomes printable for a terminal (JSON strings go through
/// `JSONWriter`, by the same rules). Control characters (C0, DEL, C1 — which covers every ANSI
/// escape sequence's introducer) become visible escapes, invalid UTF-8 has already become
/// U+FFFD, and long text is cut with an ellipsis. Nothing from a capture reaches a terminal or
/// a file without passing through one of the two.
public enum Escaping {
    /// `text` made inert for a terminal: `\r`, `\n`, `\t`, `\e`, `\xNN`, `\u{NN}`; at most
    /// `limit` characters (then `…`).
    public static func terminal(_ text: String, limit: Int = 200) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                out += "…"
                break
            }
            switch scalar.value {
            case 0x0D: out += "\\r"
            case 0x0A: out += "\\n"
            case 0x09: out += "\\t"
            case 0x1B: out += "\\e"
            case 0x00..<0x20, 0x7F: out += "\\x" + hex2(scalar.value)
            case 0x80..<0xA0: out += "\\u{" + String(scalar.value, radix: 16) + "}"
            case 0x2028, 0x2029, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
                // Line separators and bidirectional overrides could disguise the line.
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }

    private static func hex2(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }
}
