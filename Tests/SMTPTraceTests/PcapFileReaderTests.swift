import Foundation
import SMTPTraceCapture
import Testing

/// The memory-mapped record reader must hand out exactly what libpcap does: the same frames,
/// bytes, times and lengths, and the same error at the same frame when a file is damaged.
@Suite struct PcapFileReaderTests {
    /// Every frame of a file as one reader sees it, and how the reading ended.
    struct Reading: Equatable {
        var frames: [Frame] = []
        var error: CaptureError? = nil

        struct Frame: Equatable {
            var number: UInt64
            var timestamp: CaptureTimestamp
            var linkType: LinkType
            var originalLength: Int
            var bytes: [UInt8]
        }
    }

    static func read(_ path: String, memoryMapped: Bool) throws -> (Reading, mapped: Bool) {
        let reader = try PcapFileReader(path: path, memoryMapped: memoryMapped)
        var reading = Reading()
        do {
            while let frame = try reader.next() {
                reading.frames.append(.init(
                    number: frame.number, timestamp: frame.timestamp, linkType: frame.linkType,
                    originalLength: frame.originalLength, bytes: Array(frame.bytes)))
            }
        } catch {
            reading.error = error
        }
        return (reading, reader.isMemoryMapped)
    }

    static var allCaptures: [String] {
        var paths: [String] = []
        let roots = [TestPaths.packageRoot.appendingPathComponent("Fixtures")] + (TestPaths.corpus.map { [$0] } ?? [])
        for root in roots {
            guard let walker = FileManager.default.enumerator(atPath: root.path) else { continue }
            for case let name as String in walker where name.hasSuffix(".pcap") || name.hasSuffix(".pcapng") {
                paths.append(root.appendingPathComponent(name).path)
            }
        }
        return paths.sorted()
    }

    @Test func mappedReadingEqualsLibpcapOnEveryCapture() throws {
        var mappedFiles = 0, frames = 0
        for path in Self.allCaptures {
            guard let (viaLibpcap, _) = try? Self.read(path, memoryMapped: false) else { continue }
            let (viaMap, mapped) = try Self.read(path, memoryMapped: true)
            #expect(viaMap == viaLibpcap, "\(path)")
            if mapped { mappedFiles += 1 }
            frames += viaMap.frames.count
        }
        print("PcapFileReaderTests: \(Self.allCaptures.count) captures, \(mappedFiles) read through the map, \(frames) frames compared")
        #expect(mappedFiles >= 40)
    }

    @Test func whichFilesAreMapped() throws {
        #expect(try PcapFileReader(path: TestPaths.fixture("founding-reply-during-data.pcap")).isMemoryMapped)
        #expect(try !PcapFileReader(path: TestPaths.fixture("founding-reply-during-data.pcap"), memoryMapped: false).isMemoryMapped)
        // pcapng and standard input go through libpcap.
        let pcapng = Self.allCaptures.first { $0.hasSuffix(".pcapng") }
        if let pcapng { #expect(try !PcapFileReader(path: pcapng).isMemoryMapped) }
    }

    /// A named pipe is read by libpcap alone, and opened once: a second open would wait for a
    /// writer that has already gone.
    @Test func namedPipesAreReadWithoutASecondOpen() throws {
        let fixture = TestPaths.fixture("founding-reply-during-data.pcap")
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(getpid()).pcap").path
        guard mkfifo(fifo, 0o600) == 0 else { Issue.record("mkfifo failed"); return }
        defer { unlink(fifo) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture))
        let writer = Thread {
            // Blocks until the reader opens the pipe, then writes everything and closes.
            guard let handle = FileHandle(forWritingAtPath: fifo) else { return }
            handle.write(bytes)
            try? handle.close()
        }
        writer.start()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (frames: Int, mapped: Bool)? = nil
        let reader = Thread {
            if let (reading, mapped) = try? Self.read(fifo, memoryMapped: true) { result = (reading.frames.count, mapped) }
            done.signal()
        }
        reader.start()
        guard done.wait(timeout: .now() + 20) == .success else {
            Issue.record("reading the named pipe did not finish within 20 s")
            return
        }
        let (expected, _) = try Self.read(fixture, memoryMapped: false)
        #expect(result?.frames == expected.frames.count)
        #expect(result?.mapped == false)
    }

    /// A file cut anywhere (inside a record header, inside the bytes, on a record boundary)
    /// ends with the same frames and the same message by either reader.
    @Test func truncatedFilesEndAlike() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("founding-reply-during-data.pcap")))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mapped-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // 24-octet file header, then records; frame 1 is a 74-octet SYN (16 + 74 = 90).
        let cuts = [24, 24 + 7, 24 + 16, 24 + 16 + 40, 24 + 90, 24 + 90 + 15, original.count - 1]
        var messages: [String] = []
        for cut in cuts {
            let path = directory.appendingPathComponent("cut-\(cut).pcap").path
            try original.prefix(cut).write(to: URL(fileURLWithPath: path))
            let (viaLibpcap, _) = try Self.read(path, memoryMapped: false)
            let (viaMap, mapped) = try Self.read(path, memoryMapped: true)
            #expect(mapped)
            #expect(viaMap == viaLibpcap, "cut at \(cut)")
            if case .readFailed(_, let frame, let reason) = viaMap.error { messages.append("\(frame): \(reason)") }
        }
        #expect(messages.count == 5)
        #expect(messages.first == "0: truncated dump file; tried to read 16 header bytes, only got 7")
        #expect(messages.contains("0: truncated dump file; tried to read 74 captured bytes, only got 40"))
    }

    /// A file cut shorter by another program while it is mapped (a capture rotated with
    /// `tcpdump -W`, reopened with O_TRUNC) ends the reading with an error instead of ending
    /// the process with SIGBUS, and no frame with bytes on a lost page is handed out. Cut on a
    /// page boundary, the next record's pages fault (the guard's path); cut inside a page, the
    /// rest of that page reads as zeros (the zero-header check), so a record that ends in it
    /// is handed out with zeros after the cut (nothing can tell).
    @Test(arguments: [8192, 6000, 4096 * 5])
    func fileCutShorterWhileMapped(cut: Int) throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("founding-reply-during-data.pcap")))
        // Where each record starts and ends: the leading ones that start before the cut and end
        // on a page the file still has are handed out.
        var records: [Range<Int>] = []
        var offset = 24
        while offset + 16 <= original.count {
            let caplen = original[(offset + 8)..<(offset + 12)].reversed().reduce(0) { $0 << 8 | Int($1) }
            records.append(offset..<(offset + 16 + caplen))
            offset += 16 + caplen
        }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let keptPages = (cut + page - 1) / page * page
        let expectedFrames = records.prefix { $0.lowerBound < cut && $0.upperBound <= keptPages }.count
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shrinking-\(getpid())-\(cut).pcap").path
        try original.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }

        let reader = try PcapFileReader(path: path)
        #expect(reader.isMemoryMapped)
        var frames: [[UInt8]] = []
        var failure: CaptureError?
        do {
            while let frame = try reader.next() {
                frames.append(Array(frame.bytes))  // touches every octet of the frame
                if frames.count == 1 { #expect(truncate(path, off_t(cut)) == 0) }
            }
        } catch {
            failure = error
        }
        #expect(frames.count == expectedFrames)
        guard case .readFailed(_, let afterFrame, let reason)? = failure else {
            Issue.record("no error after the file was cut to \(cut) octets: \(String(describing: failure))")
            return
        }
        #expect(afterFrame == UInt64(expectedFrames))
        #expect(reason.hasPrefix("the file shrank to \(cut) bytes while it was being read"))
        // The frames before the cut are the file's own; one across it has zeros after it.
        for (i, record) in records.prefix(frames.count).enumerated() {
            let own = Array(original[(record.lowerBound + 16)..<record.upperBound])
            let lost = max(0, record.upperBound - cut)
            #expect(frames[i] == own.dropLast(lost) + [UInt8](repeating: 0, count: lost), "frame \(i + 1)")
        }
    }

    /// The map's windows start on 2 MiB boundaries of the file: records placed across each of
    /// the first three boundaries in a different way (a record header cut by it, a record's
    /// data cut by it, a record ending exactly on it), with records of the largest size
    /// (256 KiB) around them, are read as libpcap reads them.
    @Test func recordsAcrossWindowBoundaries() throws {
        let boundary = 2 << 20, largest = 262_144
        var data = Data()
        func put(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        func put16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        var count = 0
        func record(_ caplen: Int) {
            put(1_700_000_000 + UInt32(count)); put(UInt32(count)); put(UInt32(caplen)); put(UInt32(caplen))
            data.append(contentsOf: [UInt8](repeating: UInt8(truncatingIfNeeded: count &* 7 &+ 1), count: caplen))
            count += 1
        }
        /// Largest records up to the boundary, then one that makes the next record start
        /// `before` octets ahead of it.
        func approach(_ edge: Int, before: Int) {
            while edge - before - data.count - 16 > largest { record(largest) }
            record(edge - before - data.count - 16)
        }
        put(0xA1B2_C3D4); put16(2); put16(4); put(0); put(0); put(UInt32(largest)); put(1)
        approach(boundary, before: 8)  // the next header is cut by the first boundary
        record(largest)
        approach(2 * boundary, before: 100)  // the next record's data is cut by the second
        record(largest)
        approach(3 * boundary, before: 16 + 40)  // a record of 40 octets ends on the third
        record(40)
        #expect(data.count == 3 * boundary)
        record(largest)
        record(1)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("windows-\(getpid()).pcap").path
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (viaLibpcap, _) = try Self.read(path, memoryMapped: false)
        let (viaMap, mapped) = try Self.read(path, memoryMapped: true)
        #expect(mapped)
        #expect(viaLibpcap.error == nil, "\(String(describing: viaLibpcap.error))")
        #expect(viaLibpcap.frames.count == count)
        #expect(viaMap == viaLibpcap)
    }

    /// Records longer than the file's snapshot length are cut to it; longer than 256 KiB,
    /// they are an error (libpcap's rules, which the map follows).
    @Test func oversizedRecords() throws {
        func file(snaplen: UInt32, records: [(caplen: UInt32, length: UInt32, fill: UInt8)]) -> Data {
            var data = Data()
            func put(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
            func put16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
            put(0xA1B2_C3D4); put16(2); put16(4); put(0); put(0); put(snaplen); put(1)
            for (i, r) in records.enumerated() {
                put(1_700_000_000 + UInt32(i)); put(250_000); put(r.caplen); put(r.length)
                data.append(contentsOf: [UInt8](repeating: r.fill, count: Int(r.caplen)))
            }
            return data
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("oversized-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases: [(String, Data)] = [
            ("longer-than-snaplen", file(snaplen: 100, records: [(60, 60, 1), (150, 150, 2), (60, 60, 3)])),
            ("insane", file(snaplen: 65535, records: [(60, 60, 1), (300_000, 300_000, 2)])),
        ]
        var readings: [String: Reading] = [:]
        for (name, data) in cases {
            let path = directory.appendingPathComponent(name + ".pcap").path
            try data.write(to: URL(fileURLWithPath: path))
            let (viaLibpcap, _) = try Self.read(path, memoryMapped: false)
            let (viaMap, mapped) = try Self.read(path, memoryMapped: true)
            #expect(mapped)
            #expect(viaMap == viaLibpcap, "\(name)")
            readings[name] = viaMap
        }
        let cut = try #require(readings["longer-than-snaplen"])
        #expect(cut.frames.map(\.bytes.count) == [60, 100, 60])
        #expect(cut.frames[1].originalLength == 150)
        #expect(cut.frames[2].bytes.first == 3)
        #expect(cut.frames[1].timestamp == CaptureTimestamp(seconds: 1_700_000_001, nanoseconds: 250_000_000))
        let insane = try #require(readings["insane"])
        #expect(insane.frames.count == 1)
        #expect(insane.error == .readFailed(path: directory.appendingPathComponent("insane.pcap").path, afterFrame: 1,
                                            reason: "invalid packet capture length 300000, bigger than snaplen of 65535"))
    }
}
