import SMTPTracePackets
import SMTPTraceTCP
import Testing

/// The hand-written connection table against the standard `Dictionary`, through inserts,
/// replacements and removals that grow it and make long probe runs (few servers, many
/// clients, as on a relay), IPv4 and IPv6 alike.
struct ConnectionTableTests {
    /// A value filed under its own key, as a connection is.
    struct Filed: ConnectionTableValue {
        var key: ConnectionKey
        var step: Int
    }

    @Test func behavesLikeADictionary() {
        var table = ConnectionTable<Filed>(capacity: 4)
        var reference: [ConnectionKey: Int] = [:]
        var generator = SplitMix64(seed: 42)
        func random(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        func key(_ n: Int) -> ConnectionKey {
            let server = Endpoint(address: .v4(0x0A00_0019 + UInt32(n % 3)), port: 25)
            let client = n % 5 == 0
                ? Endpoint(address: .v6(0x2001_0DB8_0000_0000, UInt64(n / 5)), port: UInt16(40_000 + n % 1000))
                : Endpoint(address: .v4(0x0A33_0000 + UInt32(n / 7)), port: UInt16(1024 + n % 50_000))
            return ConnectionKey(client, server)
        }
        var removals = 0, mismatches = 0
        for step in 0..<60_000 {
            let n = random(step < 30_000 ? 5_000 : 1_500)
            let k = key(n)
            switch random(3) {
            case 0, 1:
                table.insert(Filed(key: k, step: step))
                reference[k] = step
            default:
                let removed = table.remove(k)
                if removed != (reference.removeValue(forKey: k) != nil) { mismatches += 1 }
                if removed { removals += 1 }
            }
            if table[k]?.step != reference[k] { mismatches += 1 }
            if let found = table[k], found.key != k { mismatches += 1 }
            if step % 1000 == 0 {
                for probe in 0..<5_000 where table[key(probe)]?.step != reference[key(probe)] { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(table.count == reference.count)
        #expect(table.values.map(\.step).sorted() == reference.values.sorted())
        #expect(removals == 12_270)  // deterministic: the generator is seeded
    }
}
