import CByteScan
import SMTPTraceCapture
import SMTPTraceSMTP
import SMTPTraceTCP
import Testing

extension LineFramer {
    /// The kept octets of the line last returned, wherever the framer has them: in `chunk`
    /// (the one given to the `next` that returned it; nil after `finish`) or carried.
    func lineOctets(in chunk: StreamChunk?) -> [UInt8] {
        if let chunk, let octets = keptOctets(in: chunk) { return Array(octets) }
        return carriedLine
    }
}

/// Verifier tests in the NIO style: the same bytes split every possible way give the same
/// lines, because TCP chooses segment boundaries, not us.
struct LineFramerTests {
    struct Output: Equatable {
        var text: String
        var length: Int
        var terminator: LineTerminator
        var frame: UInt64
        var bareCR: Bool
    }

    /// Feeds `input` split at `cuts`, each piece in its own frame (1, 2, 3…).
    func frame(_ input: String, cuts: [Int], keep: Int = 1024, configure: (inout LineFramer, Output) -> Void = { _, _ in }) -> [Output] {
        var framer = LineFramer(keepLimit: keep)
        let bytes = Array(input.utf8)
        var outputs: [Output] = []
        var start = 0
        var frameNumber: UInt64 = 0
        for end in (cuts + [bytes.count]) where end > start || end == bytes.count {
            frameNumber += 1
            let piece = Array(bytes[start..<max(start, end)])
            start = max(start, end)
            piece.withUnsafeBytes { raw in
                let chunk = StreamChunk(bytes: raw, frame: frameNumber, timestamp: .zero, streamOffset: 0)
                var position = 0
                while let output = framer.next(from: chunk, position: &position) {
                    if case .line(let info) = output {
                        let o = Output(text: String(decoding: framer.lineOctets(in: chunk), as: UTF8.self), length: info.length,
                                       terminator: info.terminator, frame: info.frame, bareCR: info.hasBareCR)
                        outputs.append(o)
                        configure(&framer, o)
                    }
                }
            }
        }
        if let info = framer.finish() {
            outputs.append(Output(text: String(decoding: framer.lineOctets(in: nil), as: UTF8.self), length: info.length,
                                  terminator: info.terminator, frame: info.frame, bareCR: info.hasBareCR))
        }
        return outputs
    }

    @Test func sameLinesWhateverTheSegmentBoundaries() {
        let input = "EHLO a\r\nMAIL FROM:<x@y>\nbare\rcr\r\n\r\nlast"
        let whole = frame(input, cuts: [])
        #expect(whole.map(\.text) == ["EHLO a", "MAIL FROM:<x@y>", "bare\rcr", "", "last"])
        #expect(whole.map(\.terminator) == [.crlf, .lf, .crlf, .crlf, .none])
        #expect(whole.map(\.bareCR) == [false, false, true, false, false])
        let count = input.utf8.count
        // Every single cut point, and byte by byte.
        for cut in 1..<count {
            let split = frame(input, cuts: [cut])
            #expect(split.map(\.text) == whole.map(\.text), "cut at \(cut)")
            #expect(split.map(\.terminator) == whole.map(\.terminator), "cut at \(cut)")
            #expect(split.map(\.bareCR) == whole.map(\.bareCR), "cut at \(cut)")
        }
        let bytewise = frame(input, cuts: Array(1..<count))
        #expect(bytewise.map(\.text) == whole.map(\.text))
        // A line's frame is the frame of its first byte.
        #expect(bytewise.map(\.frame) == [1, 9, 25, 34, 36])
    }

    /// Body mode returns only the lines that need attention (dot lines, bare CR or LF, over 998
    /// octets) and counts the rest — the same wherever the segments are cut.
    @Test func bodyModeReturnsOnlyTheLinesThatNeedAttention() {
        let plain = ["Subject: x", "", "a line with a\ttab", String(repeating: "b", count: 998), "short"]
        let input = plain[0] + "\r\n" + plain[1] + "\r\n" + "..stuffed\r\n" + plain[2] + "\r\n"
            + String(repeating: "c", count: 999) + "\r\n" + "bare\rcr\r\n" + "bare lf\n" + plain[3] + "\r\n"
            + plain[4] + "\r\n" + ".\r\n"
        func run(_ cuts: [Int]) -> (lines: [String], octets: UInt64, skipped: Int) {
            var framer = LineFramer(keepLimit: 1024)
            framer.mode = .body
            var lines: [String] = []
            var octets: UInt64 = 0, skipped = 0
            let bytes = Array(input.utf8)
            var start = 0
            for end in cuts + [bytes.count] {
                bytes[start..<end].withUnsafeBytes { raw in
                    let chunk = StreamChunk(bytes: raw, frame: 1, timestamp: .zero, streamOffset: 0)
                    var position = 0
                    while let output = framer.next(from: chunk, position: &position) {
                        if case .line = output { lines.append(String(decoding: framer.lineOctets(in: chunk).prefix(12), as: UTF8.self)) }
                    }
                    let taken = framer.takeSkippedBody()
                    octets += taken.octets
                    skipped += taken.lines
                }
                start = end
            }
            return (lines, octets, skipped)
        }
        let whole = run([])
        #expect(whole.lines == ["..stuffed", "cccccccccccc", "bare\rcr", "bare lf", "."])
        #expect(whole.skipped == 5)
        #expect(whole.octets == UInt64(plain.map { $0.utf8.count + 2 }.reduce(0, +)))
        let count = input.utf8.count
        for cut in 1..<count {
            let split = run([cut])
            #expect(split.lines == whole.lines, "cut at \(cut)")
            #expect(split.octets + UInt64(split.skipped) == whole.octets + UInt64(whole.skipped), "cut at \(cut)")
        }
    }

    /// Body mode on seeded random bodies (plain lines, bare CRs and LFs, dot lines, long lines),
    /// cut at random places into up to eight chunks: exactly the lines, octets and line counts
    /// of the same body given whole — also where a chunk ends on a CR, right after one, or
    /// inside a line carried over several chunks.
    @Test func bodyModeIsTheSameWhereverTheChunksEnd() {
        struct Framed: Equatable {
            var lines: [Output] = []
            var octets: UInt64 = 0
            var skipped = 0
        }
        func run(_ bytes: [UInt8], cuts: [Int], keep: Int = 1024) -> Framed {
            var framer = LineFramer(keepLimit: keep)
            framer.mode = .body
            var framed = Framed()
            var start = 0
            for end in cuts + [bytes.count] where end > start {
                bytes[start..<end].withUnsafeBytes { raw in
                    let chunk = StreamChunk(bytes: raw, frame: 1, timestamp: .zero, streamOffset: 0)
                    var position = 0
                    while let output = framer.next(from: chunk, position: &position) {
                        if case .line(let info) = output {
                            framed.lines.append(Output(text: String(decoding: framer.lineOctets(in: chunk), as: UTF8.self), length: info.length,
                                                       terminator: info.terminator, frame: info.frame, bareCR: info.hasBareCR))
                        }
                    }
                    let taken = framer.takeSkippedBody()
                    framed.octets += taken.octets
                    framed.skipped += taken.lines
                }
                start = end
            }
            if let last = framer.finish() {
                framed.lines.append(Output(text: String(decoding: framer.lineOctets(in: nil), as: UTF8.self), length: last.length,
                                           terminator: last.terminator, frame: last.frame, bareCR: last.hasBareCR))
            }
            return framed
        }
        var generator = SplitMix64(seed: 0xB0D1_E5)
        func random(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        var returned = 0, skipped = 0
        for _ in 0..<1500 {
            var body: [UInt8] = []
            let target = 1 + random(2500)
            while body.count < target {
                let length = random(12) == 0 ? 990 + random(20) : random(90)
                body += (0..<length).map { _ in UInt8(0x20 + random(90)) }
                switch random(30) {
                case 0: body += [0x0D]
                case 1: body += [0x0A]
                case 2: body += [0x0D, 0x0A, 0x2E]
                case 3: body += [0x0D, 0x0D, 0x0A]
                default: body += [0x0D, 0x0A]
                }
            }
            let whole = run(body, cuts: [])
            // Cuts anywhere, and often right before or after a CR.
            var cuts = (0..<(1 + random(7))).map { _ in random(body.count + 1) }
            if let cr = body.firstIndex(of: 0x0D), random(2) == 0 { cuts.append(cr + random(2)) }
            let split = run(body, cuts: cuts.sorted())
            // Every returned line is attributed to frame 1 either way.
            #expect(split == whole, "body \(body.count) cut at \(cuts.sorted())")
            // Keeping two octets of each line, as a message body does: the carried octets are
            // then written over in place from segment to segment.
            #expect(run(body, cuts: cuts.sorted(), keep: 2) == run(body, cuts: [], keep: 2), "body \(body.count) cut at \(cuts.sorted()), keeping 2")
            returned += whole.lines.count
            skipped += whole.skipped
        }
        #expect(returned == 3249 && skipped == 14_525)  // deterministic: the generator is seeded
    }

    /// The vector body scan against the rule written plainly, on bodies built to put line ends,
    /// bare CRs and LFs, dots and long lines on and around every 64-octet block boundary.
    /// The body scan's rule written plainly: whole CRLF lines from the start, none starting
    /// with '.', none with another CR or LF, at most `maxLength` octets before the CRLF.
    /// And what follows them: 1 for a line cut by the end with no CR or LF in it, 2 for one
    /// whose only CR is its last octet (neither starting with '.'), 0 otherwise.
    static func plainBodyLines(_ bytes: [UInt8], maxLength: Int) -> (octets: Int, lines: Int, cut: Int) {
        var start = 0, lines = 0
        while start < bytes.count, bytes[start] != 0x2E {
            guard let end = bytes[start...].firstIndex(where: { $0 == 0x0D || $0 == 0x0A }),
                bytes[end] == 0x0D, end + 1 < bytes.count, bytes[end + 1] == 0x0A, end - start <= maxLength
            else { break }
            start = end + 2
            lines += 1
        }
        var cut = 0
        if start < bytes.count, bytes[start] != 0x2E {
            if let end = bytes[start...].firstIndex(where: { $0 == 0x0D || $0 == 0x0A }) {
                if bytes[end] == 0x0D && end == bytes.count - 1 { cut = 2 }
            } else {
                cut = 1
            }
        }
        return (start, lines, cut)
    }

    /// Every scan this processor runs: the line loop (levels 0 and 1) and, where offered, the
    /// block loops (2: AVX2, 3: AVX-512BW).
    static let scanLevels = Array(0...byte_scan_best_level())

    static func scan(_ body: [UInt8], maxLength: Int, level: Int32) -> (octets: Int, lines: Int, cut: Int) {
        let found = body.withUnsafeBufferPointer { byte_scan_plain_body_lines_at_level(level, $0.baseAddress, $0.count, maxLength) }
        return (Int(found.octets), Int(found.lines), Int(found.cut_line))
    }

    /// The block loops' carries from one 64-octet block to the next, at the octets either side
    /// of the boundary: a CRLF split by it, a CR last in a block and something else first in the
    /// next, a '.' first in a block after an LF last in the one before, a bare LF first in a
    /// block, and lines of exactly the longest plain length and one more across blocks.
    @Test func bodyScanCarriesAcrossBlockBoundaries() {
        func lines(_ lengths: [Int]) -> [UInt8] {
            lengths.flatMap { [UInt8](repeating: 0x61, count: $0) + [0x0D, 0x0A] }
        }
        let cases: [(name: String, body: [UInt8], octets: Int, lines: Int)] = [
            // 62 + CRLF: the CR is octet 62, the LF octet 63; then 61 + CRLF: the CR at 125, the LF at 126.
            ("CRLF inside blocks", lines([62, 61, 10]), 64 + 63 + 12, 3),
            // 63 + CRLF: the CR last in block 0, the LF first in block 1.
            ("CRLF across the boundary", lines([63, 70]), 65 + 72, 2),
            ("CR last, then a letter", lines([10]) + [UInt8](repeating: 0x62, count: 51) + [0x0D] + lines([70]), 12, 1),
            ("LF last, then a dot", lines([62]) + [0x2E] + lines([70]), 64, 1),
            ("LF first in a block, bare", lines([62]) + [0x0A] + lines([70]), 64, 1),
            ("longest plain line", lines([998, 20]), 1000 + 22, 2),
            ("one octet too long", lines([20, 999, 20]), 22, 1),
            ("a dot first, at octet 0", [0x2E] + lines([100]), 0, 0),
        ]
        for level in Self.scanLevels {
            for test in cases {
                let found = Self.scan(test.body, maxLength: 998, level: level)
                #expect(found.octets == test.octets && found.lines == test.lines, "\(test.name), level \(level)")
            }
        }
        // Every level this processor offers takes part (an x86-64 has SSE2 at least).
        #if arch(x86_64)
            #expect(Self.scanLevels.count >= 2)
        #endif
    }

    /// The first CR or LF of every length up to 80 octets, at every place, both or neither.
    @Test func firstLineEndIsFoundWhereverItIs() {
        var checked = 0
        for count in 0...80 {
            for place in -1..<count {
                for end: UInt8 in [0x0D, 0x0A] {
                    var bytes = [UInt8](repeating: 0x61, count: count)
                    if place >= 0 {
                        bytes[place] = end
                        // A later line end of the other kind, which must not be the one found.
                        if place + 3 < count { bytes[place + 3] = end == 0x0D ? 0x0A : 0x0D }
                    }
                    let found = bytes.withUnsafeBufferPointer { byte_scan_first_line_end($0.baseAddress, $0.count) }
                    #expect(found == (place >= 0 ? place : count), "\(count) octets, end at \(place)")
                    checked += 1
                }
            }
        }
        #expect(checked == 6642)
    }

    @Test func vectorBodyScanFollowsTheRule() {
        var generator = SplitMix64(seed: 0x9E37_79B9_7F4A_7C15)
        func random(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        var checked = 0, linesSeen = 0, cutLines = [0, 0, 0]
        for round in 0..<3000 {
            var body: [UInt8] = []
            let target = 1 + random(round < 1500 ? 300 : 3000)
            while body.count < target {
                let length = random(10) == 0 ? 990 + random(20) : random(130)
                body += (0..<length).map { _ in UInt8(0x20 + random(90)) }
                switch random(40) {
                case 0: body += [0x0D]  // a bare CR inside the line
                case 1: body += [0x0A]  // a bare LF
                case 2: body += [0x0D, 0x0A, 0x2E]  // a dot line next
                default: body += [0x0D, 0x0A]
                }
            }
            body = Array(body.prefix(target))
            for maxLength in [998, 70, 40] {
                let expected = Self.plainBodyLines(body, maxLength: maxLength)
                for level in Self.scanLevels {
                    let found = Self.scan(body, maxLength: maxLength, level: level)
                    #expect(found == expected, "round \(round), level \(level)")
                }
                checked += 1
                linesSeen += expected.lines
                cutLines[expected.cut] += 1
            }
        }
        #expect(checked == 9000)
        #expect(cutLines == [5583, 3371, 46])  // each kind of end: none, a plain cut line, one cut after its CR
        #expect(linesSeen == 12_930)  // deterministic: the generator is seeded
    }

    /// Long runs of short clean lines, which the scan takes a 64-octet block at a time, with at
    /// most one thing that stops it somewhere: the count must end exactly where the rule does,
    /// whichever block (and whichever place in it) holds the stop.
    @Test func vectorBodyScanStopsInsideCleanBlocks() {
        var generator = SplitMix64(seed: 0x5EED_B10C)
        func random(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        var checked = 0, linesSeen = 0, stoppedEarly = 0
        for _ in 0..<2000 {
            var body: [UInt8] = []
            let target = 64 + random(4000)
            while body.count < target {
                body += (0..<random(70)).map { _ in UInt8(0x20 + random(90)) }
                body += [0x0D, 0x0A]
            }
            // The stop: a bare CR, a bare LF, a line starting with '.', a long line, or none.
            let at = random(body.count)
            switch random(6) {
            case 0: body.insert(0x0D, at: at)
            case 1: body.insert(0x0A, at: at)
            case 2: body.insert(0x2E, at: body[..<at].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0)
            case 3: body.insert(contentsOf: [UInt8](repeating: 0x41, count: 940 + random(80)), at: at)
            default: break
            }
            body = Array(body.prefix(body.count - random(3)))  // sometimes a CRLF cut in two
            for maxLength in [998, 64, 100] {
                let expected = Self.plainBodyLines(body, maxLength: maxLength)
                for level in Self.scanLevels {
                    let found = Self.scan(body, maxLength: maxLength, level: level)
                    #expect(found == expected, "level \(level)")
                }
                checked += 1
                linesSeen += expected.lines
                if expected.octets < body.count - 2 { stoppedEarly += 1 }
            }
        }
        #expect(checked == 6000)
        #expect(linesSeen == 126_731 && stoppedEarly == 5_714)  // deterministic: the generator is seeded
    }

    @Test func crAtTheEndOfOneSegmentAndLFAtTheStartOfTheNext() {
        let lines = frame("QUIT\r\nNOOP\r\n", cuts: [5])
        #expect(lines.map(\.text) == ["QUIT", "NOOP"])
        #expect(lines.map(\.terminator) == [.crlf, .crlf])
        #expect(lines.map(\.bareCR) == [false, false])
    }

    @Test func longLinesAreCountedButOnlyTheKeptPrefixIsStored() {
        let long = String(repeating: "A", count: 10_000)
        // Cut by segment ends (carried) or whole in one segment (read in place): the same.
        for cuts in [[100, 5000], []] {
            let lines = frame("DATA \(long)\r\nQUIT\r\nNOOP 0123456789ABCDEF\r\nRSET 0123456789\r\r\n", cuts: cuts, keep: 16)
            #expect(lines.map(\.text) == ["DATA AAAAAAAAAAA", "QUIT", "NOOP 0123456789A", "RSET 0123456789\r"], "cuts \(cuts)")
            #expect(lines.map(\.length) == [10_005, 4, 21, 16], "cuts \(cuts)")
            #expect(lines.map(\.bareCR) == [false, false, false, true], "cuts \(cuts)")
        }
    }

    @Test func rawModeCountsOffBDATChunksAcrossSegments() {
        var framer = LineFramer()
        var outputs: [String] = []
        let pieces = ["BDAT 10 LAST\r\n01234", "56789QUIT\r\n"]
        for (i, piece) in pieces.enumerated() {
            Array(piece.utf8).withUnsafeBytes { raw in
                let chunk = StreamChunk(bytes: raw, frame: UInt64(i + 1), timestamp: .zero, streamOffset: 0)
                var position = 0
                while let output = framer.next(from: chunk, position: &position) {
                    switch output {
                    case .line:
                        let text = String(decoding: framer.lineOctets(in: chunk), as: UTF8.self)
                        outputs.append(text)
                        if text.hasPrefix("BDAT") { framer.mode = .raw(remaining: 10) }
                    case .raw(let range, let complete, let frame, _):
                        outputs.append("<\(range.count) bytes\(complete ? ", chunk end" : "") #\(frame)>")
                    }
                }
            }
        }
        #expect(outputs == ["BDAT 10 LAST", "<5 bytes #1>", "<5 bytes, chunk end #2>", "QUIT"])
    }

    @Test func tlsSniffingSwallowsAHandshakeButNotCleartext() {
        for (first, expectTLS) in [(UInt8(0x16), true), (UInt8(0x45), false)] {
            var framer = LineFramer()
            framer.mode = .sniffTLS
            var bytes: [UInt8] = [first, 0x03, 0x01]
            bytes += Array("HLO x\r\n".utf8)
            var lines = 0
            bytes.withUnsafeBytes { raw in
                let chunk = StreamChunk(bytes: raw, frame: 1, timestamp: .zero, streamOffset: 0)
                var position = 0
                while let output = framer.next(from: chunk, position: &position) {
                    if case .line = output { lines += 1 }
                }
            }
            #expect(framer.sawTLS == expectTLS)
            #expect(lines == (expectTLS ? 0 : 1))
        }
    }
}
