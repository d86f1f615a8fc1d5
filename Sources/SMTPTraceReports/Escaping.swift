/// The only place text from the wire becomes printable. Control characters (C0, DEL, C1 —
/// which covers every ANSI escape sequence's introducer) become visible escapes, invalid
/// UTF-8 has already become U+FFFD, and long text is cut with an ellipsis. Nothing from a
/// capture reaches a terminal or a file without passing through here.
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

    /// `text` as a JSON string literal (with quotes): every C0/C1 control and DEL escaped.
    public static func json(_ text: String) -> String {
        // Most strings need nothing escaped: one pass over the UTF-8 bytes decides.
        var plain = true
        var previous: UInt8 = 0, beforePrevious: UInt8 = 0
        for b in text.utf8 {
            if b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F
                || (previous == 0xC2 && b >= 0x80 && b <= 0x9F)  // C1 controls
                || (beforePrevious == 0xE2 && previous == 0x80 && (b == 0xA8 || b == 0xA9))  // U+2028/9
            {
                plain = false
                break
            }
            beforePrevious = previous
            previous = b
        }
        if plain { return "\"" + text + "\"" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x00..<0x20, 0x7F..<0xA0, 0x2028, 0x2029:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func hex2(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }
}
