import CByteScan
import Testing

/// The C scans against the rules written plainly.
struct ByteScanTests {
    /// Printable ASCII other than quote and backslash, at every position of strings long
    /// enough to use the vector loop and its scalar tail.
    @Test func plainJSONTextFollowsTheRule() {
        var generator = SplitMix64(seed: 7)
        func random(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        var plain = 0, checked = 0
        for _ in 0..<20_000 {
            let length = random(48)
            var bytes = (0..<length).map { _ in UInt8(0x20 + random(0x5F)) }
            // Most strings get one octet from anywhere in 0...255 at a random place.
            if length > 0 && random(4) != 0 { bytes[random(length)] = UInt8(random(256)) }
            let expected = bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }
            let found = bytes.withUnsafeBufferPointer { byte_scan_is_plain_json_text($0.baseAddress, $0.count) }
            #expect(found == expected, "\(bytes)")
            if expected { plain += 1 }
            checked += 1
        }
        #expect(checked == 20_000)
        #expect(plain == 6_914)  // deterministic: the generator is seeded
    }
}
