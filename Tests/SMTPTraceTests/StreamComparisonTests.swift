import Foundation
import SMTPTraceCapture
import SMTPTracePackets
import SMTPTraceTCP
import Testing

/// Hashes every reassembled byte of every connection, per direction (FNV-1a 64), as the
/// oracle file does with tshark's `follow,tcp,raw` output, gaps written as tshark marks them.
final class StreamHasher: TCPStreamConsumer {
    struct Stream {
        var client: Endpoint
        var server: Endpoint
        var firstFrame: UInt64
        var bytes: [UInt64] = [0, 0]
        var hash: [UInt64] = [0xcbf2_9ce4_8422_2325, 0xcbf2_9ce4_8422_2325]
    }

    var open: [UInt64: Stream] = [:]
    var finished: [Stream] = []

    func handle(_ event: StreamEvent, on connection: TCPConnection) -> StreamDisposition {
        switch event {
        case .opened:
            open[connection.id] = Stream(client: connection.client, server: connection.server, firstFrame: connection.firstFrame)
        case .data(let direction, let chunk):
            add(chunk.bytes, direction, connection.id)
        case .gap(let direction, let missing, _, _):
            // tshark's follow writes this marker (with a NUL) where bytes were not captured.
            Array("[\(missing) bytes missing in capture file]\0".utf8).withUnsafeBytes { add($0, direction, connection.id) }
        case .closed:
            if let s = open.removeValue(forKey: connection.id) { finished.append(s) }
        case .finished, .reset:
            break
        }
        return .keepDelivering
    }

    func add(_ bytes: UnsafeRawBufferPointer, _ direction: Direction, _ id: UInt64) {
        var h = open[id]!.hash[direction.rawValue]
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        open[id]!.hash[direction.rawValue] = h
        open[id]!.bytes[direction.rawValue] += UInt64(bytes.count)
    }
}

/// Reassembled streams compared byte for byte (by length and hash) with tshark's
/// `follow,tcp,raw` for every TCP stream of the corpus and of the fixtures.
struct StreamComparisonTests {
    struct OracleRow {
        var capture: String
        var stream: Int
        var nodes: [String]
        var bytes: [UInt64]
        var hashes: [UInt64]
    }

    static let oracleFile = TestPaths.packageRoot.appendingPathComponent("Tests/CorpusOracles/tshark-streams.tsv")

    static func oracle() -> [String: [OracleRow]] {
        guard let text = try? String(contentsOf: oracleFile, encoding: .utf8) else { return [:] }
        var rows: [String: [OracleRow]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: "\t").map(String.init)
            guard f.count == 8, let stream = Int(f[1]), let b0 = UInt64(f[4]), let h0 = UInt64(f[5], radix: 16),
                let b1 = UInt64(f[6]), let h1 = UInt64(f[7], radix: 16)
            else { continue }
            rows[f[0], default: []].append(OracleRow(capture: f[0], stream: stream, nodes: [f[2], f[3]], bytes: [b0, b1], hashes: [h0, h1]))
        }
        return rows
    }

    static func path(of capture: String) -> String? {
        if capture.hasPrefix("Fixtures/") { return TestPaths.packageRoot.appendingPathComponent(capture).path }
        return TestPaths.corpus?.appendingPathComponent(capture).path
    }

    static func captures() -> [String] {
        oracle().keys.filter { path(of: $0) != nil }.sorted()
    }

    /// Our streams, reassembled with every byte kept.
    static func reassemble(_ path: String) throws -> [StreamHasher.Stream] {
        let hasher = StreamHasher()
        let reassembler = TCPReassembler(consumer: hasher, serverPorts: [25, 465, 587, 2525])
        let source = try MergedFrameSource(paths: [path])
        while let frame = try? source.next() {
            if case .tcp(let segment) = PacketDecoder.decode(frame) { reassembler.process(segment) }
        }
        reassembler.finish()
        return hasher.finished.sorted { $0.firstFrame < $1.firstFrame }
    }

    /// Compares one capture; returns the streams compared and a description of each mismatch.
    static func compare(_ capture: String) throws -> (compared: Int, mismatches: [String]) {
        guard let path = path(of: capture), let rows = oracle()[capture] else { return (0, []) }
        var ours = try reassemble(path)
        var mismatches: [String] = []
        var compared = 0
        for row in rows {
            if row.bytes == [0, 0] { continue }  // no payload either way: nothing to compare
            let pair = Set(row.nodes)
            guard let index = ours.firstIndex(where: { Set([$0.client.description, $0.server.description]) == pair }) else {
                mismatches.append("stream \(row.stream) (\(row.nodes.joined(separator: " ↔ "))): no connection of ours")
                continue
            }
            let stream = ours.remove(at: index)
            compared += 1
            for node in 0...1 {
                let direction: Direction = stream.client.description == row.nodes[node] ? .clientToServer : .serverToClient
                let d = direction.rawValue
                if stream.bytes[d] != row.bytes[node] || stream.hash[d] != row.hashes[node] {
                    mismatches.append("stream \(row.stream) from \(row.nodes[node]): tshark \(row.bytes[node]) bytes, ours \(stream.bytes[d])")
                }
            }
        }
        return (compared, mismatches)
    }

    @Test(arguments: captures())
    func reassembledStreamsMatchTsharkFollow(_ capture: String) throws {
        let (_, mismatches) = try Self.compare(capture)
        if let reason = StreamDifferences.explained[capture] {
            #expect(!mismatches.isEmpty, "\(capture) now matches tshark; remove its explanation: \(reason)")
        } else {
            #expect(mismatches.isEmpty, "\(capture): \(mismatches.joined(separator: "; "))")
        }
    }
}

extension StreamComparisonTests {
    /// The figures for the record: streams compared and identical, over the corpus and the
    /// fixtures (`swift test --filter StreamComparisonTests` prints them).
    @Test func totals() throws {
        var compared = 0, differing = 0, captures = 0
        for capture in Self.captures() {
            let (n, mismatches) = try Self.compare(capture)
            compared += n
            captures += 1
            differing += Set(mismatches.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }).count
        }
        print("stream comparison with tshark follow,tcp,raw: \(captures) captures, \(compared) streams with payload compared, \(compared - differing) identical, \(differing) differing")
        if captures > 0 { #expect(differing <= StreamDifferences.explained.count) }
    }
}
