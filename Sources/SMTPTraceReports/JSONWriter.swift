import CByteScan
import SMTPTraceCapture
import SMTPTracePackets

/// Writes JSON straight into UTF-8 bytes, keys in the order they are written.
///
/// Hand-written rather than Foundation's `JSONEncoder`: the JSON Lines records want `type`
/// first and a fixed key order (the encoders sort or scramble keys), wire text must be escaped
/// by our own rules (every C0/C1 control, DEL, U+2028/9), and `--json` on a busy capture writes
/// hundreds of thousands of records — building a value tree per record and then a `String`
/// cost more than the analysis itself. Commas are placed by the writer, so a record is a
/// sequence of `key`/value calls between `beginObject` and `endObject`: every value (and every
/// closed object or array) is followed by a comma, and closing a container or ending the
/// line takes back the one before it — no state to consult per key or value.
///
/// The bytes live in one buffer the writer owns and grows (a class, so that it can free it):
/// an `Array` would check its uniqueness on every append, thousands of times per record.
public final class JSONWriter {
    private var storage: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int
    /// The minute of the last timestamp written, whose date, hour and minute serve the rest of
    /// that minute (sessions end interleaved, so consecutive timestamps often change second).
    private var cachedMinute = Int64.min
    private var cachedText: (UInt64, UInt64, UInt64, UInt32) = (0, 0, 0, 0)

    public init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 64)
        storage = .allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    /// The bytes written so far, valid during `body`.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: writtenCount))
    }

    /// How many bytes have been written since the last `reset`.
    public var byteCount: Int { writtenCount }

    /// Empties the buffer, keeping its storage, for the next record.
    public func reset() {
        count = 0
    }

    /// The text written so far.
    public var text: String {
        String(decoding: UnsafeBufferPointer(start: storage, count: writtenCount), as: UTF8.self)
    }

    /// The bytes written, without the comma that follows a last top-level value (a value never
    /// ends in a comma of its own: strings end in a quote).
    private var writtenCount: Int {
        endsInComma ? count &- 1 : count
    }

    // MARK: Structure

    public func beginObject() { open(UInt8(ascii: "{")) }
    public func endObject() { close(UInt8(ascii: "}")) }
    public func beginArray() { open(UInt8(ascii: "[")) }
    public func endArray() { close(UInt8(ascii: "]")) }

    /// Ends a JSON Lines record (in place of the comma after its last value).
    public func newline() {
        takeBackComma()
        appendByte(0x0A)
    }

    /// An object member's key. Keys are the schema's own ASCII names, never wire text.
    /// Inlined where it is called, so that copying a key of known length is a few moves
    /// (a session record writes about 170 of them).
    @inline(__always)
    public func key(_ name: StaticString) {
        appendQuoted(name, then: UInt8(ascii: ":"))
    }

    /// A key that is data (a reply code, a finding id), escaped like any string.
    public func dataKey(_ name: String) {
        appendEscaped(name, then: UInt8(ascii: ":"))
    }

    /// A key that is a number (a reply code): `"250":`.
    public func intKey<T: BinaryInteger>(_ value: T) {
        appendByte(UInt8(ascii: "\""))
        appendDecimal(value)
        reserve(2)
        storage[count] = UInt8(ascii: "\"")
        storage[count &+ 1] = UInt8(ascii: ":")
        count &+= 2
    }

    // MARK: Values

    public func null() {
        appendLiteral("null,")
    }

    public func bool(_ value: Bool) {
        appendLiteral(value ? "true," : "false,")
    }

    public func int<T: BinaryInteger>(_ value: T) {
        appendDecimal(value)
        storage[count] = UInt8(ascii: ",")  // room left by `appendDecimal`
        count &+= 1
    }

    public func int<T: BinaryInteger>(_ value: T?) {
        if let value { int(value) } else { null() }
    }

    public func double(_ value: Double) {
        guard value.isFinite else { return null() }
        appendBuffer(String(value).utf8)
        endValue()
    }

    /// A number of seconds rounded to the microsecond, written as `double` writes the rounded
    /// value (Swift's shortest form: `0.105213`, `3.0`, `5.2e-05`), without making a `String`
    /// for the common range: from 0.0001 up to 10⁹ s that form is the six decimals with their
    /// trailing zeros cut (a decimal of at most 15 digits is the shortest that reads back).
    public func microseconds(_ seconds: Double) {
        let rounded = (seconds * 1e6).rounded() / 1e6
        guard rounded >= 1e-4 && rounded < 1e9 else { return double(rounded) }
        let micros = UInt64((rounded * 1e6).rounded())
        appendDecimal(micros / 1_000_000)
        var fraction = micros % 1_000_000
        var digits = 6
        while digits > 1 && fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        reserve(7)
        storage[count] = UInt8(ascii: ".")
        for i in stride(from: digits, through: 1, by: -1) {
            storage[count &+ i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: fraction % 10)
            fraction /= 10
        }
        count &+= digits &+ 1
        endValue()
    }

    public func string(_ text: String) {
        appendEscaped(text, then: UInt8(ascii: ","))
    }

    /// A string the schema itself defines (a record type, a label): ASCII with nothing to
    /// escape, so copied without the check wire text gets.
    public func constant(_ text: StaticString) {
        appendQuoted(text, then: UInt8(ascii: ","))
    }

    /// An IP address as a string, formatted in place (one per endpoint of every record).
    public func address(_ address: IPAddress) {
        switch address {
        case .v4(let v):
            reserve(18)  // "255.255.255.255",
            storage[count] = UInt8(ascii: "\"")
            count &+= 1
            appendOctet(UInt8(truncatingIfNeeded: v >> 24), then: UInt8(ascii: "."))
            appendOctet(UInt8(truncatingIfNeeded: v >> 16), then: UInt8(ascii: "."))
            appendOctet(UInt8(truncatingIfNeeded: v >> 8), then: UInt8(ascii: "."))
            appendOctet(UInt8(truncatingIfNeeded: v), then: UInt8(ascii: "\""))
            storage[count] = UInt8(ascii: ",")
            count &+= 1
        case .v6(let high, let low):
            reserve(IPAddress.maxIPv6TextLength &+ 3)
            let at = storage + count
            at[0] = UInt8(ascii: "\"")
            let length = IPAddress.writeIPv6(high: high, low: low, to: at + 1)
            at[length &+ 1] = UInt8(ascii: "\"")
            at[length &+ 2] = UInt8(ascii: ",")
            count &+= length &+ 3
        }
    }

    /// One octet of a dotted quad in decimal and the character after it (room reserved).
    @inline(__always)
    private func appendOctet(_ octet: UInt8, then next: UInt8) {
        if octet >= 100 {
            storage[count] = UInt8(ascii: "0") &+ octet / 100
            DecimalDigits.writePair(Int(octet % 100), to: storage + (count &+ 1))
            count &+= 3
        } else if octet >= 10 {
            DecimalDigits.writePair(Int(octet), to: storage + count)
            count &+= 2
        } else {
            storage[count] = UInt8(ascii: "0") &+ octet
            count &+= 1
        }
        storage[count] = next
        count &+= 1
    }

    /// A string given as its UTF-8 octets, which must be valid UTF-8 (a session record's text,
    /// repaired as it was kept): they are copied or escaped, not checked.
    public func string(utf8 octets: UnsafeBufferPointer<UInt8>) {
        appendText(utf8: octets, then: UInt8(ascii: ","))
    }

    public func string(_ text: String?) {
        if let text { string(text) } else { null() }
    }

    public func strings(_ texts: [String]) {
        beginArray()
        for text in texts { string(text) }
        endArray()
    }

    /// RFC 3339 with microseconds, UTC: `"2009-10-05T06:06:07.492060Z"`. The date, hour and
    /// minute are kept from the previous call: a capture's timestamps share their minute.
    public func timestamp(_ t: CaptureTimestamp) {
        let length = TimeFormatting.rfc3339Length
        reserve(length + 3)
        storage[count] = UInt8(ascii: "\"")
        let text = storage + count + 1
        // Times before 1970 (a broken clock) are written whole each time.
        let minute = t.seconds >= 0 ? t.seconds / 60 : Int64.min
        if minute != cachedMinute || minute == Int64.min {
            cachedMinute = minute
            TimeFormatting.writeRFC3339(t, to: text)
            withUnsafeMutableBytes(of: &cachedText) { $0.copyMemory(from: UnsafeRawBufferPointer(start: text, count: length)) }
        } else {
            withUnsafeBytes(of: &cachedText) { text.update(from: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count: length) }
            TimeFormatting.writeSecondAndMicroseconds(
                second: Int(t.seconds % 60), nanoseconds: t.nanoseconds, to: text)  // seconds not negative here
        }
        text[length] = UInt8(ascii: "\"")
        text[length &+ 1] = UInt8(ascii: ",")
        count &+= length &+ 3
    }

    // MARK: Internals

    @inline(__always)
    private func reserve(_ more: Int) {
        if _slowPath(count &+ more > capacity) { grow(toHold: more) }
    }

    @inline(never)
    private func grow(toHold more: Int) {
        var grown = capacity * 2
        while count + more > grown { grown *= 2 }
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        larger.update(from: storage, count: count)
        storage.deallocate()
        storage = larger
        capacity = grown
    }

    @inline(__always)
    private func appendByte(_ byte: UInt8) {
        reserve(1)
        storage[count] = byte
        count += 1
    }

    @inline(__always)
    private func appendBuffer(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        reserve(buffer.count)
        (storage + count).update(from: base, count: buffer.count)
        count += buffer.count
    }

    private func appendBuffer(_ text: String.UTF8View) {
        if let done: Void = text.withContiguousStorageIfAvailable({ appendBuffer($0) }) { return done }
        for b in text { appendByte(b) }
    }

    @inline(__always)
    private func open(_ bracket: UInt8) {
        appendByte(bracket)
    }

    /// The bracket in place of the comma after the container's last member (or after the
    /// opening bracket of an empty one), then the comma that follows the container itself.
    @inline(__always)
    private func close(_ bracket: UInt8) {
        takeBackComma()
        reserve(2)
        let at = storage + count
        at[0] = bracket
        at[1] = UInt8(ascii: ",")
        count &+= 2
    }

    /// The comma after every value.
    @inline(__always)
    private func endValue() {
        appendByte(UInt8(ascii: ","))
    }

    @inline(__always)
    private func takeBackComma() {
        if endsInComma { count &-= 1 }
    }

    /// Whether the last octet written is the comma after a value.
    @inline(__always)
    private var endsInComma: Bool {
        count > 0 && storage[count &- 1] == UInt8(ascii: ",")
    }

    /// `"text"` for schema-defined ASCII (no escaping) and the octet after it. Written through
    /// one local pointer: through `storage[count]` each store made the compiler load both
    /// fields again (the stores might have changed them), a third of a key's instructions.
    @inline(__always)
    private func appendQuoted(_ text: StaticString, then last: UInt8) {
        appendQuoted(text.utf8Start, count: text.utf8CodeUnitCount, then: last)
    }

    /// `"octets"` as they are (checked or schema-defined) and the octet after it.
    @inline(__always)
    private func appendQuoted(_ octets: UnsafePointer<UInt8>, count length: Int, then last: UInt8) {
        reserve(length &+ 3)
        let at = storage + count
        at[0] = UInt8(ascii: "\"")
        UnsafeMutableRawPointer(at + 1).copyMemory(from: octets, byteCount: length)
        at[length &+ 1] = UInt8(ascii: "\"")
        at[length &+ 2] = last
        count &+= length &+ 3
    }

    private func appendLiteral(_ text: StaticString) {
        text.withUTF8Buffer { appendBuffer($0) }
    }

    /// The digits, with room reserved for one octet more after them.
    private func appendDecimal<T: BinaryInteger>(_ value: T) {
        reserve(22)
        let storage = self.storage  // one load (stores through it could change the field)
        if value < 0 {
            storage[count] = UInt8(ascii: "-")
            count &+= 1
        }
        var n = UInt64(value.magnitude)
        if n < 10 {
            // Most counts and flags: one digit.
            storage[count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n)
            count &+= 1
            return
        }
        // The digit count, then the digits written backwards in place, two at a time from a
        // table of pairs (half the divisions).
        let digits = DecimalDigits.count(n)
        var at = count &+ digits
        count = at
        while n >= 100 {
            at &-= 2
            DecimalDigits.writePair(Int(truncatingIfNeeded: n % 100), to: storage + at)
            n /= 100
        }
        if n >= 10 {
            DecimalDigits.writePair(Int(truncatingIfNeeded: n), to: storage + (at &- 2))
        } else {
            storage[at &- 1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n)
        }
    }

    /// `text` as a JSON string literal, then `last` (`,` or `:`): `"` and `\` escaped, every C0
    /// control, DEL, C1 control and U+2028/U+2029 (line breaks to some readers) as `\uNNNN` or
    /// its short form. Text with nothing to escape — nearly all of it — is copied in one append.
    ///
    /// Declared to release nothing (`@_effects(releasenone)`). The attribute's documented
    /// meaning is stricter (no release of any class instance at all); it is used here in the
    /// weaker sense the standard library itself relies on: every release it makes balances a
    /// retain it made (a string made contiguous, a temporary), nothing the caller can reach is
    /// released, and it frees only the writer's raw buffer. Without
    /// the declaration every string read where it lies (a record's commands, replies, lists)
    /// was retained and released around the call, in case the writer's stores freed it: 25
    /// pairs of atomic operations per session (callgrind, 20 MB file: 109.58 M -> 108.75 M
    /// instructions). Whoever makes this function release a reference it did not take itself
    /// must remove the declaration.
    @_effects(releasenone)
    private func appendEscaped(_ text: String, then last: UInt8) {
        // Read in the string's own storage when it has one (nearly always).
        if text.utf8.withContiguousStorageIfAvailable({ appendText(utf8: $0, then: last) }) != nil { return }
        var text = text
        text.withUTF8 { appendText(utf8: $0, then: last) }
    }

    /// Valid UTF-8 as a JSON string literal, then `last`: printable ASCII with nothing to
    /// escape, the usual case, copied in one append (sixteen octets tested a step,
    /// `CByteScan`); anything else escaped an octet at a time.
    @inline(__always)
    private func appendText(utf8: UnsafeBufferPointer<UInt8>, then last: UInt8) {
        if let base = utf8.baseAddress, byte_scan_is_plain_json_text(base, utf8.count) {
            appendQuoted(base, count: utf8.count, then: last)
        } else {
            appendEscaped(utf8: utf8, then: last)
        }
    }

    /// `appendEscaped` on valid UTF-8 octets (a `String`'s, or a session record's text) that
    /// are not plain printable ASCII (the callers' vector test said so), an octet at a time:
    /// every escaped character but the C1 controls and U+2028/9 is ASCII, and those have fixed
    /// encodings (C2 80–9F, E2 80 A8/A9), so no scalar is decoded and everything else is
    /// copied as it is.
    private func appendEscaped(utf8: UnsafeBufferPointer<UInt8>, then last: UInt8) {
        appendByte(UInt8(ascii: "\""))
        if Self.needsNoEscape(utf8) {
            appendBuffer(utf8)
        } else {
            var i = 0
            while i < utf8.count {
                let b = utf8[i]
                switch b {
                case 0x22: appendLiteral("\\\"")
                case 0x5C: appendLiteral("\\\\")
                case 0x0A: appendLiteral("\\n")
                case 0x0D: appendLiteral("\\r")
                case 0x09: appendLiteral("\\t")
                case 0x00..<0x20, 0x7F: appendUnicodeEscape(UInt32(b))
                case 0xC2 where i + 1 < utf8.count && (0x80...0x9F).contains(utf8[i + 1]):
                    appendUnicodeEscape(UInt32(utf8[i + 1]))  // U+0080...U+009F
                    i += 1
                case 0xE2 where i + 2 < utf8.count && utf8[i + 1] == 0x80 && (utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9):
                    appendUnicodeEscape(0x2000 | UInt32(utf8[i + 2] - 0x80))  // U+2028, U+2029
                    i += 2
                default: appendByte(b)
                }
                i += 1
            }
        }
        reserve(2)
        storage[count] = UInt8(ascii: "\"")
        storage[count &+ 1] = last
        count &+= 2
    }

    /// `\uNNNN`, lower-case hex.
    private func appendUnicodeEscape(_ value: UInt32) {
        appendLiteral("\\u")
        let hex: StaticString = "0123456789abcdef"
        for shift in stride(from: 12, through: 0, by: -4) {
            appendByte(hex.utf8Start[Int(value >> UInt32(shift)) & 0xF])
        }
    }

    /// Whether octets that are not plain printable ASCII (the callers' vector test said so)
    /// can still be copied as they are: UTF-8 holding no control, `"`, `\`, DEL, C1 control
    /// (C2 80–9F) or U+2028/U+2029 (E2 80 A8/A9).
    static func needsNoEscape(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        if utf8.isEmpty { return true }
        var previous: UInt8 = 0, beforePrevious: UInt8 = 0
        for b in utf8 {
            if b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F
                || (previous == 0xC2 && b >= 0x80 && b <= 0x9F)
                || (beforePrevious == 0xE2 && previous == 0x80 && (b == 0xA8 || b == 0xA9))
            {
                return false
            }
            beforePrevious = previous
            previous = b
        }
        return true
    }
}
