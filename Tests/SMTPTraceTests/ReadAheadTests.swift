import Foundation
import SMTPTraceCapture
import Testing

/// Reading on a thread of its own must hand out exactly what the file holds: the same frames,
/// numbers, times and bytes, and a read error after the same frame.
struct ReadAheadTests {
    struct Seen: Equatable {
        var number: UInt64
        var seconds: Int64
        var nanoseconds: UInt32
        var originalLength: Int
        var bytes: [UInt8]
    }

    func frames(of source: FrameSource) -> (frames: [Seen], error: String?) {
        var seen: [Seen] = []
        do {
            while let f = try source.next() {
                seen.append(Seen(number: f.number, seconds: f.timestamp.seconds, nanoseconds: f.timestamp.nanoseconds,
                                 originalLength: f.originalLength, bytes: Array(f.bytes)))
            }
            return (seen, nil)
        } catch {
            return (seen, error.description)
        }
    }

    /// Fixtures and their frame counts (capinfos).
    static let captures: [(String, Int)] = [
        ("founding-reply-during-data.pcap", 63), ("two-sessions.pcap", 53), ("ipv4-ethernet.pcap", 26),
        ("founding-helo-trailing-dot.pcap", 17), ("reordered.pcap", 49),
    ]

    /// Blocks of 1 KiB: full-size frames do not fit and take blocks of their own, small ones
    /// share, and the reader waits for the two blocks to come back again and again.
    @Test(arguments: captures)
    func sameFramesAsReadingTheFileDirectly(_ name: String, frameCount: Int) throws {
        let path = TestPaths.fixture(name)
        let direct = frames(of: try MergedFrameSource(paths: [path]))
        let ahead = frames(of: ReadAheadFrameSource(try MergedFrameSource(paths: [path]), blockBytes: 1024, blockCount: 2))
        #expect(direct.error == nil)
        #expect(ahead.error == nil)
        #expect(direct.frames.count == frameCount)
        #expect(ahead.frames.map(\.number) == Array(1...UInt64(frameCount)))
        #expect(ahead.frames == direct.frames)
    }

    @Test func aReadErrorComesAfterTheSameFrames() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("ipv4-ethernet.pcap")))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cut-\(UUID().uuidString).pcap")
        defer { try? FileManager.default.removeItem(at: path) }
        try original.prefix(original.count - 150).write(to: path)
        let direct = frames(of: try PcapFileReader(path: path.path))
        let ahead = frames(of: ReadAheadFrameSource(try PcapFileReader(path: path.path), blockBytes: 4096, blockCount: 2))
        #expect(direct.error != nil)
        #expect(ahead.error == direct.error)
        #expect(ahead.frames == direct.frames)
        // Through the merged source the error is a warning, kept for the report.
        let merged = ReadAheadFrameSource(try MergedFrameSource(paths: [path.path]))
        let read = frames(of: merged)
        #expect(read.error == nil)
        #expect(read.frames.count == direct.frames.count)
        #expect(merged.warnings.map(\.description) == [direct.error!])
    }

    @Test func droppingTheSourceEarlyStopsTheReader() throws {
        // Two small blocks fill at once; the reader then waits for a free one. Dropping the
        // source must release it (the test would hang otherwise).
        for _ in 0..<20 {
            let source = ReadAheadFrameSource(
                try MergedFrameSource(paths: [TestPaths.fixture("founding-reply-during-data.pcap")]),
                blockBytes: 2048, blockCount: 2)
            #expect(try source.next()?.number == 1)
        }
    }
}
