import Foundation
import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTracePackets
import SMTPTraceReports
import Testing

/// The JSON Lines schema of the README, as data: every record every fixture (and the corpus)
/// produces must have exactly these keys with these types, and the README must name each key.
struct JSONSchemaTests {
    enum Kind: Equatable { case string, int, number, bool, object, array, null }

    /// key → allowed kinds. `nil` entries of nested objects are checked by their own schemas.
    static let session: [String: [Kind]] = [
        "type": [.string], "id": [.int], "client": [.object], "server": [.object], "start": [.string], "end": [.string],
        "duration": [.number, .int], "first_frame": [.int], "last_frame": [.int], "detected_by": [.string],
        "tunnel": [.string, .null], "midstream": [.bool], "greeting": [.int, .null], "helo": [.object, .null],
        "extensions": [.array], "tls": [.bool], "tls_decrypted": [.bool], "auth": [.string, .null],
        "transactions": [.array], "messages": [.int], "message_bytes": [.int], "last_reply": [.int, .null],
        "replies": [.object], "close": [.string], "bytes": [.object], "gap_bytes": [.object], "tcp": [.object, .null],
        "findings": [.array], "commands": [.array], "reply_sequence": [.array],
    ]
    static let endpoint: [String: [Kind]] = ["ip": [.string], "port": [.int]]
    static let transaction: [String: [Kind]] = [
        "mail_from": [.string], "mail_frame": [.int], "mail_reply": [.int, .null], "mail_parameters": [.array],
        "rcpt_to": [.array], "rcpt_replies": [.array], "size": [.int], "complete": [.bool], "reply": [.int, .null],
        "reply_frame": [.int, .null], "date": [.string, .null], "from": [.string, .null], "to": [.string, .null],
        "subject": [.string, .null], "subject_raw": [.string, .null], "message_id": [.string, .null],
    ]
    static let command: [String: [Kind]] = [
        "frame": [.int], "time": [.string], "verb": [.string], "argument": [.string], "reply": [.int, .null],
        "reply_frame": [.int, .null],
    ]
    static let reply: [String: [Kind]] = [
        "frame": [.int], "time": [.string], "code": [.int], "enhanced": [.string, .null], "text": [.string],
        "lines": [.int], "packets": [.int], "answers": [.string],
    ]
    static let tcp: [String: [Kind]] = [
        "handshake": [.bool], "midstream": [.bool], "fins": [.array], "reset": [.object, .null], "gaps": [.array],
        "bytes_after_fin": [.object], "retransmitted_segments": [.int], "out_of_order_segments": [.int],
        "conflicting_segments": [.int], "ignored_resets": [.int],
    ]
    static let findingCommon: [String: [Kind]] = [
        "type": [.string], "id": [.string], "severity": [.string], "session": [.int, .null], "party": [.string],
        "frame": [.int], "time": [.string], "message": [.string], "rfc": [.string], "line": [.string, .null],
    ]
    static let summary: [String: [Kind]] = [
        "type": [.string], "inputs": [.array], "packets": [.int], "bytes": [.int], "first": [.string, .null],
        "last": [.string, .null], "link_types": [.array], "tcp_segments": [.int], "skipped": [.object],
        "tcp_connections": [.int], "smtp_port_connections": [.int], "sessions": [.int], "messages": [.int],
        "closes": [.object], "findings": [.object], "evicted": [.int], "retransmitted_segments": [.int],
        "conflicting_segments": [.int], "ignored_resets": [.int], "out_of_order_segments": [.int], "gaps": [.int],
        "gap_bytes": [.int], "drops": [.int, .null], "warnings": [.array],
    ]

    /// A JSON value decoded strictly (true is no number, 1 is no boolean).
    indirect enum J: Decodable {
        case null, bool(Bool), int(Int64), number(Double), string(String), array([J]), object([String: J])

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int64.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([J].self) { self = .array(a) }
            else { self = .object(try c.decode([String: J].self)) }
        }

        var kind: Kind {
            switch self {
            case .null: .null
            case .bool: .bool
            case .int: .int
            case .number: .number
            case .string: .string
            case .array: .array
            case .object: .object
            }
        }

        var object: [String: J]? { if case .object(let o) = self { o } else { nil } }
        var array: [J]? { if case .array(let a) = self { a } else { nil } }
        var string: String? { if case .string(let s) = self { s } else { nil } }
    }

    func check(_ object: [String: J], _ schema: [String: [Kind]], exact: Bool, _ place: String) {
        for (key, kinds) in schema {
            guard let value = object[key] else {
                Issue.record("\(place): missing key \(key)")
                continue
            }
            #expect(kinds.contains(value.kind), "\(place).\(key): \(value.kind) not in \(kinds)")
        }
        if exact {
            for key in object.keys where schema[key] == nil { Issue.record("\(place): key \(key) not in the schema") }
        }
    }

    func validate(_ output: String, source: String) throws {
        let lines = output.split(separator: "\n")
        #expect(!lines.isEmpty)
        for (n, line) in lines.enumerated() {
            let object = try #require(try JSONDecoder().decode(J.self, from: Data(line.utf8)).object)
            let place = "\(source):\(n + 1)"
            switch object["type"]?.string {
            case "session":
                check(object, Self.session, exact: true, place)
                check(object["client"]!.object!, Self.endpoint, exact: true, place + ".client")
                check(object["server"]!.object!, Self.endpoint, exact: true, place + ".server")
                for t in object["transactions"]!.array! { check(t.object!, Self.transaction, exact: true, place + ".transactions") }
                for c in object["commands"]!.array! { check(c.object!, Self.command, exact: true, place + ".commands") }
                for r in object["reply_sequence"]!.array! { check(r.object!, Self.reply, exact: true, place + ".reply_sequence") }
                if let t = object["tcp"]?.object { check(t, Self.tcp, exact: true, place + ".tcp") }
                #expect(["port", "dialogue"].contains(object["detected_by"]!.string!))
                #expect(["quit", "fin", "rst", "half_open", "timeout", "capture_end"].contains(object["close"]!.string!))
            case "finding":
                check(object, Self.findingCommon, exact: false, place)
                #expect(FindingKind(rawValue: object["id"]!.string!) != nil)
                #expect(["info", "warning", "error"].contains(object["severity"]!.string!))
                #expect(["client", "server", "network"].contains(object["party"]!.string!))
            case "summary":
                check(object, Self.summary, exact: true, place)
                #expect(n == lines.count - 1, "the summary is the last line")
            default:
                Issue.record("\(place): unknown record type")
            }
        }
    }

    @Test func everyFixtureRecordFollowsTheSchema() throws {
        let fixtures = try FileManager.default.contentsOfDirectory(atPath: TestPaths.packageRoot.appendingPathComponent("Fixtures").path)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }
        #expect(fixtures.count >= 39)
        for fixture in fixtures {
            let result = try analyzeFixture(fixture)
            try validate(JSONLinesReport.render(result, inputs: [fixture]), source: fixture)
        }
    }

    @Test func everyCorpusRecordFollowsTheSchema() throws {
        for capture in CorpusTests.captures() {
            let result = try analyze([capture.path])
            try validate(JSONLinesReport.render(result, inputs: [capture.lastPathComponent]), source: capture.lastPathComponent)
        }
    }

    @Test func theREADMENamesEveryKey() throws {
        let readme = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let keys = [Self.session, Self.transaction, Self.command, Self.reply, Self.tcp, Self.findingCommon, Self.summary]
            .flatMap(\.keys)
        for key in Set(keys) {
            #expect(readme.contains("`\(key)`"), "README does not document `\(key)`")
        }
    }
}

/// The JSON writer places commas and escapes wire text by itself.
struct JSONWriterTests {
    /// Strings written from their octets (a record's text) and from a `String` escape alike,
    /// and as a scalar-by-scalar reading of the rules would: C0 controls, DEL, C1 controls and
    /// U+2028/9 as `\uNNNN` (the short forms for `\n`, `\r`, `\t`, `"` and `\`), every other
    /// character as it is — including the octets next to the C1 and U+2028 encodings.
    @Test func escapingOctetsEqualsEscapingScalars() {
        func reference(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar.value {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                case 0x00..<0x20, 0x7F..<0xA0, 0x2028, 0x2029:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        let pieces: [String] = ["a", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1F}", "\u{7F}", "\u{80}", "\u{9F}",
                                "\u{A0}", "\u{C2}", "é", "\u{2027}", "\u{2028}", "\u{2029}", "\u{202A}", "\u{2080}",
                                "€", "\u{FFFD}", "😀", " "]
        var random = SplitMix64(seed: 0x0C7E75)  // seeded: a failure can be reproduced
        for round in 0..<2000 {
            let text = (0..<(round % 12)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let fromString = JSONWriter(), fromOctets = JSONWriter()
            fromString.string(text)
            Array(text.utf8).withUnsafeBufferPointer { fromOctets.string(utf8: $0) }
            #expect(fromString.text == reference(text), "\(text.debugDescription)")
            #expect(fromOctets.text == reference(text), "\(text.debugDescription)")
        }
    }

    @Test func nestedValuesAndEscapes() {
        let out = JSONWriter()
        out.beginObject()
        out.key("a"); out.int(-12)
        out.key("b")
        out.beginArray()
        out.string("q\"\\"); out.null(); out.bool(false)
        out.beginObject(); out.endObject()
        out.strings(["x", "y"])
        out.endArray()
        out.dataKey("250"); out.int(UInt64(7))
        out.key("c"); out.string("\u{1B}[2J\r\n\u{85}\u{2028}é")
        out.key("d"); out.double(0.5)
        out.key("e"); out.int(Optional<Int>.none)
        out.endObject()
        out.newline()
        #expect(out.text == #"{"a":-12,"b":["q\"\\",null,false,{},["x","y"]],"250":7,"c":"\u001b[2J\r\n\u0085\u2028é","d":0.5,"e":null}"# + "\n")
        let numbers = JSONWriter()
        numbers.strings([])
        numbers.int(Int64.min + 1); numbers.int(UInt64.max); numbers.int(0)
        // Top-level values one after the other are separated too (records end with `newline`).
        #expect(numbers.text == "[],-9223372036854775807,18446744073709551615,0")
        // Every digit count, both signs, each against the standard library's own decimal.
        var value: Int64 = 7
        for _ in 0..<19 {
            for n in [value, -value, value - 1, value + 3] {
                let writer = JSONWriter()
                writer.int(n)
                #expect(writer.text == String(n))
            }
            value = value &* 10 &+ 3
        }
        // Where the digit count changes (every power of ten) and where the bit length does
        // (every power of two), with their neighbours: the count comes from the bit length.
        var boundaries: [UInt64] = [UInt64.max, UInt64.max - 1]
        var power: UInt64 = 1
        for _ in 0..<20 {
            boundaries += [power - 1, power, power + 1]
            power = power &* 10
        }
        for shift in 0..<64 { boundaries += [(1 << shift) - 1, 1 << shift, (1 << shift) + 1] }
        for n in boundaries where n > 0 {
            let writer = JSONWriter()
            writer.int(n)
            #expect(writer.text == String(n))
        }
        let extremes = JSONWriter()
        extremes.beginArray(); extremes.int(Int64.min); extremes.int(Int64.max); extremes.int(-9); extremes.endArray()
        #expect(extremes.text == "[-9223372036854775808,9223372036854775807,-9]")
    }

    /// IPv4 addresses and timestamps are formatted in place: every octet width, and every
    /// microsecond digit, against the standard library's formatting.
    @Test func addressesAndTimestampsInPlace() {
        let out = JSONWriter()
        out.beginArray()
        for v: UInt32 in [0, 0xFFFF_FFFF, 0x090A_6364, 0x0A00_0119, 0x7F00_0001] { out.address(.v4(v)) }
        out.endArray()
        #expect(out.text == #"["0.0.0.0","255.255.255.255","9.10.99.100","10.0.1.25","127.0.0.1"]"#)
        // IPv6 by RFC 5952 (§4: lower case, no leading zeros, the longest run of two or more
        // zero groups as "::", the first of equal runs): examples, then random groups with
        // zero runs against the rule written plainly.
        let v6 = JSONWriter()
        v6.beginArray()
        for (high, low): (UInt64, UInt64) in [(0, 0), (0, 1), (0x2001_0DB8_0000_0000, 1), (0x2001_0DB8_0000_0001, 0x0000_0000_0000_0001),
                                               (0x2001_0DB8_0000_0000, 0x0001_0000_0000_0001), (0xFE80_0000_0000_0000, 0x0000_0000_0000_0000),
                                               (0x2001_0DB8_AAAA_BBBB, 0xCCCC_DDDD_EEEE_0FFF), (0x0000_0000_0000_0000, 0x0000_FFFF_C000_0201)] {
            v6.address(.v6(high, low))
        }
        v6.endArray()
        #expect(v6.text == #"["::","::1","2001:db8::1","2001:db8:0:1::1","2001:db8::1:0:0:1","fe80::","2001:db8:aaaa:bbbb:cccc:dddd:eeee:fff","::ffff:c000:201"]"#)
        func rfc5952(_ groups: [UInt16]) -> String {
            var best = (start: -1, length: 0), i = 0
            while i < 8 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > best.length { best = (i, j - i) }
                i = j == i ? i + 1 : j
            }
            let hex = groups.map { String($0, radix: 16) }
            guard best.length >= 2 else { return hex.joined(separator: ":") }
            return hex[..<best.start].joined(separator: ":") + "::" + hex[(best.start + best.length)...].joined(separator: ":")
        }
        var random = SplitMix64(seed: 0x1F6)
        for _ in 0..<5000 {
            let groups = (0..<8).map { _ -> UInt16 in random.next() % 3 == 0 ? 0 : UInt16(truncatingIfNeeded: random.next() >> UInt64(random.next() % 16)) }
            let high = groups[..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }, low = groups[4...].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
            let one = JSONWriter()
            one.address(.v6(high, low))
            #expect(one.text == "\"" + rfc5952(groups) + "\"", "\(groups)")
            #expect(IPAddress.v6(high, low).description == rfc5952(groups))
        }
        // The second timestamp of a second reuses the first's date; its microseconds are new.
        let times = JSONWriter()
        times.beginArray()
        for micros: UInt32 in [0, 123_456, 7, 999_999, 40_302] {
            times.timestamp(CaptureTimestamp(seconds: 1_764_079_200, nanoseconds: micros * 1000 + 999))
        }
        times.endArray()
        let expected = [0, 123_456, 7, 999_999, 40_302].map { m -> String in
            let digits = String(m)
            return "\"2025-11-25T14:00:00." + String(repeating: "0", count: 6 - digits.count) + digits + "Z\""
        }
        #expect(times.text == "[" + expected.joined(separator: ",") + "]")
        // Across seconds and minutes, forwards and back, before 1970, and odd fractions: each
        // the same as the whole formatting.
        let writer = JSONWriter()
        var generator = SplitMix64(seed: 0x71_3E)
        var seconds: Int64 = 1_764_079_195
        for step in 0..<3000 {
            switch step % 7 {
            case 0: seconds += Int64(generator.next() % 200)
            case 1: seconds -= Int64(generator.next() % 130)
            case 2: seconds = -Int64(generator.next() % 100_000)
            case 3: seconds = Int64(generator.next() % 4_000_000_000)
            default: seconds += Int64(generator.next() % 3)
            }
            let t = CaptureTimestamp(seconds: max(seconds, -100_000), nanoseconds: UInt32(generator.next() % 1_200_000_000))
            writer.reset()
            writer.timestamp(t)
            var whole = [UInt8](repeating: 0, count: TimeFormatting.rfc3339Length)
            whole.withUnsafeMutableBufferPointer { TimeFormatting.writeRFC3339(t, to: $0.baseAddress!) }
            #expect(writer.text == "\"" + String(decoding: whole, as: UTF8.self) + "\"", "\(t)")
        }
    }

    /// Durations and reply-code keys are written without making a `String`: the same text as
    /// `double` of the value rounded to the microsecond and as `dataKey` of the code, on both
    /// sides of every boundary of the fast range and across the digits of the fraction.
    @Test func durationsAndCodeKeysInPlace() {
        var values: [Double] = [0, 1e-7, 4e-5, 0.00005, 0.0000999, 0.0001, 0.00010049, 0.000052, 0.105213, 0.1, 3,
                                59.999999, 100.000001, 12.5, 86_400.25, 999_999_999.999999, 1e9, 1e12, -0.5, 0.0000005]
        var generator = SplitMix64(seed: 0xD0_2A7_10)
        for _ in 0..<2000 {
            let micros = generator.next() % 10_000_000_000
            values.append(Double(micros) / 1e6 + Double(generator.next() % 1000) / 1e10)
        }
        for value in values {
            let fast = JSONWriter(), plain = JSONWriter()
            fast.microseconds(value)
            plain.double((value * 1e6).rounded() / 1e6)
            #expect(fast.text == plain.text, "\(value)")
        }
        let keys = JSONWriter(), plainKeys = JSONWriter()
        keys.beginObject(); plainKeys.beginObject()
        for code in [220, 250, 354, 421, 552, 0, 7, 99_999] {
            keys.intKey(code); keys.int(1)
            plainKeys.dataKey(String(code)); plainKeys.int(1)
        }
        keys.endObject(); plainKeys.endObject()
        #expect(keys.text == plainKeys.text)
        #expect(keys.text.hasPrefix(#"{"220":1,"250":1,"354":1,"#))
    }
}
