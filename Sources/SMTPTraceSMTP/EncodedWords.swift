import Foundation

/// RFC 2047 encoded words in header fields (`=?UTF-8?B?…?=`, `=?iso-8859-1?Q?…?=`) decoded
/// to text. Charsets decoded: UTF-8, US-ASCII, ISO-8859-1/-15 and Windows-1252; an encoded
/// word in any other charset (or malformed) is left as it was, so nothing is ever guessed.
/// Whitespace between two adjacent encoded words is dropped, as §6.2 says.
public enum EncodedWords {
    public static func decode(_ text: String) -> String {
        // Cheap rejection: no "=?" in the bytes, nothing to decode (most header values).
        var copy = text
        let found = copy.withUTF8 { mayContainWord($0) }
        guard found else { return text }
        var out = ""
        var rest = Substring(text)
        var pendingSpace = ""
        var previousWasEncoded = false
        while !rest.isEmpty {
            if let range = rest.range(of: "=?"), let word = encodedWord(at: range.lowerBound, in: rest) {
                let before = rest[rest.startIndex..<range.lowerBound]
                if !(previousWasEncoded && before.allSatisfy({ $0 == " " || $0 == "\t" })) {
                    out += pendingSpace + before
                }
                pendingSpace = ""
                if let decoded = decodeWord(charset: word.charset, encoding: word.encoding, payload: word.payload) {
                    out += decoded
                    previousWasEncoded = true
                } else {
                    out += rest[range.lowerBound..<word.end]
                    previousWasEncoded = false
                }
                rest = rest[word.end...]
            } else {
                out += pendingSpace + rest
                break
            }
        }
        return out
    }

    /// Whether "=?" occurs in the octets: where an encoded word could start. With memchr on
    /// the octets where they are: iterating a `String.UTF8View` octet by octet cost about a
    /// thousand instructions per header value. (`memmem` would say it in one call, but Swift's
    /// Glibc module does not offer that GNU extension.)
    static func mayContainWord(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard var at = utf8.baseAddress else { return false }
        let end = at + utf8.count
        while at < end, let equals = memchr(at, Int32(UInt8(ascii: "=")), end - at) {
            let next = UnsafePointer(equals.assumingMemoryBound(to: UInt8.self)) + 1
            if next < end && next.pointee == UInt8(ascii: "?") { return true }
            at = next
        }
        return false
    }

    struct Word {
        var charset: Substring
        var encoding: Character
        var payload: Substring
        var end: Substring.Index
    }

    static func encodedWord(at start: Substring.Index, in text: Substring) -> Word? {
        let body = text[text.index(start, offsetBy: 2)...]
        guard let q1 = body.firstIndex(of: "?") else { return nil }
        let charset = body[..<q1]
        let afterCharset = body[body.index(after: q1)...]
        guard let encoding = afterCharset.first, afterCharset.count >= 2,
            afterCharset[afterCharset.index(after: afterCharset.startIndex)] == "?"
        else { return nil }
        let payloadStart = afterCharset.index(afterCharset.startIndex, offsetBy: 2)
        guard let close = afterCharset[payloadStart...].range(of: "?=") else { return nil }
        let payload = afterCharset[payloadStart..<close.lowerBound]
        guard !charset.isEmpty, charset.count < 40, !payload.contains(" ") else { return nil }
        return Word(charset: charset, encoding: Character(encoding.uppercased()), payload: payload, end: close.upperBound)
    }

    static func decodeWord(charset: Substring, encoding: Character, payload: Substring) -> String? {
        let bytes: [UInt8]
        switch encoding {
        case "B":
            var base64 = String(payload)
            while base64.count % 4 != 0 { base64 += "=" }
            guard let data = Data(base64Encoded: base64) else { return nil }
            bytes = Array(data)
        case "Q":
            let input = Array(payload.utf8)
            var out: [UInt8] = []
            var i = 0
            while i < input.count {
                let b = input[i]
                if b == UInt8(ascii: "_") {
                    out.append(0x20)
                } else if b == UInt8(ascii: "="), i + 2 < input.count,
                    let value = UInt8(String(decoding: input[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
                {
                    out.append(value)
                    i += 2
                } else {
                    out.append(b)
                }
                i += 1
            }
            bytes = out
        default:
            return nil
        }
        // RFC 2231 language suffix: charset*language.
        let name = charset.split(separator: "*").first.map { $0.lowercased() } ?? ""
        switch name {
        case "utf-8", "utf8", "us-ascii", "ascii":
            return String(decoding: bytes, as: UTF8.self)
        case "iso-8859-1", "latin1", "iso-8859-15":
            return String(bytes.map { Character(Unicode.Scalar($0)) })
        case "windows-1252", "cp1252":
            return String(data: Data(bytes), encoding: .windowsCP1252)
        default:
            return nil
        }
    }
}
