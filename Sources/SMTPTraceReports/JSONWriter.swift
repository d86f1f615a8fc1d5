import SMTPTraceCapture

/// Writes JSON straight into UTF-8 bytes, keys in the order they are written.
///
/// Hand-written rather than Foundation's `JSONEncoder`: the JSON Lines records want `type`
/// first and a fixed key order (the encoders sort or scramble keys), wire text must be escaped
/// by our own rules (every C0/C1 control, DEL, U+2028/9), and `--json` on a busy capture writes
/// hundreds of thousands of records — building a value tree per record and then a `String`
/// cost more than the analysis itself. Commas are placed by the writer, so a record is a
/// sequence of `key`/value calls between `beginObject` and `endObject`.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// One bit per open object/array (innermost lowest): set once it holds a member.
    private var hasMember: UInt64 = 0
    private var depth = 0
    /// A key was just written: the next value follows it without a comma.
    private var afterKey = false

    public init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    /// Empties the buffer, keeping its storage, for the next record.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        hasMember = 0
        depth = 0
        afterKey = false
    }

    /// The text written so far.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    // MARK: Structure

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Ends a JSON Lines record.
    public mutating func newline() { bytes.append(0x0A) }

    /// An object member's key. Keys are the schema's own ASCII names, never wire text.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// A key that is data (a reply code, a finding id), escaped like any string.
    public mutating func dataKey(_ name: String) {
        separate()
        appendEscaped(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    // MARK: Values

    public mutating func null() {
        separate()
        appendLiteral("null")
    }

    public mutating func bool(_ value: Bool) {
        separate()
        appendLiteral(value ? "true" : "false")
    }

    public mutating func int<T: BinaryInteger>(_ value: T) {
        separate()
        appendDecimal(value)
    }

    public mutating func int<T: BinaryInteger>(_ value: T?) {
        if let value { int(value) } else { null() }
    }

    public mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func string(_ text: String) {
        separate()
        appendEscaped(text)
    }

    public mutating func string(_ text: String?) {
        if let text { string(text) } else { null() }
    }

    public mutating func strings(_ texts: [String]) {
        beginArray()
        for text in texts { string(text) }
        endArray()
    }

    /// RFC 3339 with microseconds, UTC: `2009-10-05T06:06:07.492060Z`.
    public mutating func timestamp(_ t: CaptureTimestamp) {
        separate()
        let (year, month, day, rest) = TimeFormatting.civilFields(t.seconds)
        appendFormatted(capacity: 29) { out in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var v = value
                for i in stride(from: width - 1, through: 0, by: -1) {
                    out[offset + i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            out[0] = UInt8(ascii: "\"")
            put(year, 4, at: 1); out[5] = UInt8(ascii: "-")
            put(month, 2, at: 6); out[8] = UInt8(ascii: "-")
            put(day, 2, at: 9); out[11] = UInt8(ascii: "T")
            put(rest / 3600, 2, at: 12); out[14] = UInt8(ascii: ":")
            put(rest % 3600 / 60, 2, at: 15); out[17] = UInt8(ascii: ":")
            put(rest % 60, 2, at: 18); out[20] = UInt8(ascii: ".")
            put(Int(t.nanoseconds / 1000), 6, at: 21); out[27] = UInt8(ascii: "Z")
            out[28] = UInt8(ascii: "\"")
            return 29
        }
    }

    // MARK: Internals

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        depth += 1
        hasMember &= ~(1 << UInt64(min(depth, 63)))
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        depth -= 1
        afterKey = false
    }

    /// Before any value or key: a comma when the enclosing container already holds a member.
    @inline(__always)
    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        guard depth > 0 else { return }
        let bit: UInt64 = 1 << UInt64(min(depth, 63))
        if hasMember & bit != 0 { bytes.append(UInt8(ascii: ",")) } else { hasMember |= bit }
    }

    /// Formats into a small stack buffer, then appends it at once: one capacity check per
    /// number instead of one per digit.
    @inline(__always)
    private mutating func appendFormatted(capacity: Int, _ format: (UnsafeMutablePointer<UInt8>) -> Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            let count = format(buffer.baseAddress!)
            bytes.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress!, count: count))
        }
    }

    private mutating func appendLiteral(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private mutating func appendDecimal<T: BinaryInteger>(_ value: T) {
        let negative = value < 0
        let n = UInt64(value.magnitude)
        var digits = 1
        var m = n
        while m >= 10 {
            m /= 10
            digits += 1
        }
        let total = digits + (negative ? 1 : 0)
        appendFormatted(capacity: 21) { out in
            if negative { out[0] = UInt8(ascii: "-") }
            var v = n
            for i in stride(from: total - 1, through: total - digits, by: -1) {
                out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            return total
        }
    }

    /// `text` as a JSON string literal: `"` and `\` escaped, every C0 control, DEL, C1
    /// control and U+2028/U+2029 (line breaks to some readers) as `\uNNNN` or its short form.
    /// Text with nothing to escape — nearly all of it — is copied in one append.
    private mutating func appendEscaped(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
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
        if plain {
            bytes.append(contentsOf: text.utf8)
        } else {
            for scalar in text.unicodeScalars {
                switch scalar.value {
                case 0x22: appendLiteral("\\\"")
                case 0x5C: appendLiteral("\\\\")
                case 0x0A: appendLiteral("\\n")
                case 0x0D: appendLiteral("\\r")
                case 0x09: appendLiteral("\\t")
                case 0x00..<0x20, 0x7F..<0xA0, 0x2028, 0x2029:
                    appendLiteral("\\u")
                    let hex: StaticString = "0123456789abcdef"
                    for shift in stride(from: 12, through: 0, by: -4) {
                        bytes.append(hex.utf8Start[Int(scalar.value >> UInt32(shift)) & 0xF])
                    }
                default: bytes.append(contentsOf: String(scalar).utf8)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension Escaping {
    /// `text` as a JSON string literal (with quotes), by `JSONWriter`'s rules.
    public static func json(_ text: String) -> String {
        var writer = JSONWriter(capacity: text.utf8.count + 2)
        writer.string(text)
        return writer.text
    }
}
