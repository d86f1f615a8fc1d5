import Foundation
import SMTPTraceCapture
import SMTPTraceFindings
import SMTPTraceTCP
import Testing

/// The bytes kept for comparing retransmissions, copied or located in the capture file, against
/// the rule written plainly; and whole captures analysed both ways.
struct RecentBytesTests {
    /// The rule: the bytes delivered since the last discontinuity, at most `limit` of the newest,
    /// less what the peer acknowledged; a comparison counts the octets that differ where the
    /// bytes given overlap them.
    struct Reference {
        let limit: Int
        var start: UInt32 = 0
        var kept: [UInt8] = []

        mutating func append(_ bytes: [UInt8], at sequence: UInt32) {
            if kept.isEmpty || sequence != start &+ UInt32(kept.count) {
                kept = []
                start = sequence
            }
            kept += bytes
            if kept.count > limit {
                let drop = kept.count - limit
                kept.removeFirst(drop)
                start &+= UInt32(drop)
            }
        }

        mutating func acknowledge(_ ack: UInt32) {
            let d = Int(Int32(bitPattern: ack &- start))
            guard d > 0 else { return }
            let k = min(d, kept.count)
            kept.removeFirst(k)
            start &+= UInt32(k)
        }

        func compare(_ bytes: [UInt8], at sequence: UInt32) -> (compared: Int, differing: Int) {
            var compared = 0, differing = 0
            for (i, b) in bytes.enumerated() {
                let position = Int(Int32(bitPattern: sequence &+ UInt32(i) &- start))
                guard position >= 0, position < kept.count else { continue }
                compared += 1
                if kept[position] != b { differing += 1 }
            }
            return (compared, differing)
        }
    }

    /// A file standing in for a capture: each delivered chunk written at its own place, with
    /// other octets (headers) between chunks.
    final class ScratchFile {
        let path: String
        let handle: FileHandle
        var end: Int64 = 0

        init() throws {
            path = FileManager.default.temporaryDirectory
                .appendingPathComponent("recent-bytes-\(UUID().uuidString).bin").path
            FileManager.default.createFile(atPath: path, contents: nil)
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }

        deinit {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: path)
        }

        /// Writes a header's worth of filler and then `bytes`; returns where `bytes` starts.
        func write(_ bytes: [UInt8]) throws -> Int64 {
            let offset = end + 54
            try handle.write(contentsOf: [UInt8](repeating: 0xEE, count: 54) + bytes)
            end = offset + Int64(bytes.count)
            return offset
        }
    }

    @Test func copiedAndLocatedBytesFollowTheRule() throws {
        let file = try ScratchFile()
        let limit = 4096
        guard let bytesAgain = CaptureFileBytes(path: file.path) else {
            Issue.record("cannot open \(file.path)")
            return
        }
        var copied = RecentBytes(limit: limit)
        var located = RecentBytes(limit: limit, file: bytesAgain)
        var reference = Reference(limit: limit)
        var generator = SplitMix64(seed: 0x5EED_0F_B17E5)
        func random(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        // Near the top of the sequence space, so that the numbers wrap part-way.
        var next: UInt32 = 0xFFFF_0000
        var comparisons = 0, differingSeen = 0, octetsCompared = 0
        for step in 0..<4000 {
            switch random(10) {
            case 0..<5:
                // New bytes, nearly always continuing the stream; now and then a burst of tiny
                // segments, more than the located runs may number (they become copies).
                if random(40) == 0 { next &+= UInt32(1 + random(5000)) }
                let length = step % 500 < 250 ? 1 + random(8) : 100 + random(step % 3 == 0 ? 6000 : 1400)
                let chunk = (0..<length).map { _ in UInt8(random(256)) }
                let offset = try file.write(chunk)
                chunk.withUnsafeBytes {
                    copied.append($0, at: next)
                    located.append($0, at: next, fileOffset: offset)
                }
                reference.append(chunk, at: next)
                next &+= UInt32(chunk.count)
            case 5..<7:
                // During a burst of tiny segments, acknowledgements lag far behind.
                let ack = next &- UInt32(step % 500 < 250 ? 4000 + random(2000) : random(6000))
                reference.acknowledge(ack)
                copied.acknowledge(ack)
                located.acknowledge(ack)
            default:
                // A retransmission of some of the kept bytes (and around them), a few altered.
                let from = reference.start &+ UInt32(truncatingIfNeeded: random(reference.kept.count + 200)) &- 100
                let length = 1 + random(3000)
                var bytes = (0..<length).map { i -> UInt8 in
                    let position = Int(Int32(bitPattern: from &+ UInt32(i) &- reference.start))
                    return position >= 0 && position < reference.kept.count ? reference.kept[position] : UInt8(random(256))
                }
                if random(3) == 0 { for _ in 0..<(1 + random(4)) { bytes[random(length)] ^= 0x20 } }
                let expected = reference.compare(bytes, at: from)
                let byCopy = bytes.withUnsafeBytes { copied.compare($0, at: from) }
                let byLocation = bytes.withUnsafeBytes { located.compare($0, at: from) }
                #expect(byCopy == expected, "step \(step)")
                #expect(byLocation == expected, "step \(step)")
                comparisons += 1
                octetsCompared += expected.compared
                if expected.differing > 0 { differingSeen += 1 }
            }
            #expect(copied.startSequence == reference.start && copied.count == reference.kept.count, "step \(step)")
            #expect(located.startSequence == reference.start && located.count == reference.kept.count, "step \(step)")
        }
        // Deterministic (the generator is seeded): enough comparisons with and without differences.
        #expect(comparisons == 1192)
        #expect(differingSeen == 216)
        #expect(octetsCompared == 724_153)
    }

    /// Many tiny segments in flight: past `limit / 64` runs they are read back and kept as
    /// copies (bounded memory), so every byte can still be compared, as from a ring.
    @Test func manyTinyRunsBecomeCopies() throws {
        let file = try ScratchFile()
        let bytesAgain = try #require(CaptureFileBytes(path: file.path))
        var located = RecentBytes(limit: 4096, file: bytesAgain)
        var sent: [UInt8] = []
        for i in 0..<100 {
            let octet = [UInt8(i)]
            let offset = try file.write(octet)
            octet.withUnsafeBytes { located.append($0, at: 1000 + UInt32(i), fileOffset: offset) }
            sent += octet
        }
        #expect(located.count == 100)
        #expect(located.startSequence == 1000)
        sent[0] = 0xFF
        sent[99] = 0xFE
        let result = sent.withUnsafeBytes { located.compare($0, at: 1000) }
        #expect(result.compared == 100)
        #expect(result.differing == 2)
        // Acknowledged up to 1090: ten left, and located again once everything is acknowledged.
        located.acknowledge(1090)
        #expect(located.count == 10 && located.startSequence == 1090)
        located.acknowledge(1100)
        let more: [UInt8] = [7, 8, 9]
        let offset = try file.write(more)
        more.withUnsafeBytes { located.append($0, at: 1100, fileOffset: offset) }
        let again = [UInt8](repeating: 7, count: 3).withUnsafeBytes { located.compare($0, at: 1100) }
        #expect(again.compared == 3 && again.differing == 2)
    }

    /// Every fixture and corpus capture analysed from the mapped file (bytes located, read
    /// again for comparisons) and through libpcap (bytes copied): the same TCP counters,
    /// conflicting overlaps included, and the same findings.
    @Test func analysisIsTheSameWhetherBytesAreCopiedOrLocated() throws {
        var compared = 0, retransmitted = 0
        for path in PcapFileReaderTests.allCaptures {
            guard let plain = try? PcapFileReader(path: path, memoryMapped: false) else { continue }
            let mapped = try PcapFileReader(path: path)
            guard mapped.isMemoryMapped else { continue }
            let byCopy = try CaptureAnalyzer.analyze(MergedFrameSource(readers: [plain]))
            let byLocation = try CaptureAnalyzer.analyze(MergedFrameSource(readers: [mapped]))
            #expect(byLocation.tcp == byCopy.tcp, "\(path)")
            #expect(byLocation.findings.map { "\($0.kind.id)@\($0.frame)" } == byCopy.findings.map { "\($0.kind.id)@\($0.frame)" }, "\(path)")
            compared += 1
            retransmitted += byCopy.tcp.reassembly.retransmittedSegments
        }
        print("RecentBytesTests: \(compared) mapped captures analysed both ways, \(retransmitted) retransmitted segments")
        #expect(compared >= 150)
        #expect(retransmitted >= 10)
    }
}
