import Foundation
import SMTPTraceCapture
import SMTPTracePackets
import SMTPTraceTCP

/// One capture on several cores: this thread reads and decodes the frames and deals each TCP
/// segment (decoded once, here) to the shard that owns its connection (by a hash of the 4-tuple, so a connection
/// stays on one shard); each shard is a `CaptureAnalyzer` on a thread of its own; a
/// `ShardMerge` on this thread puts sessions and findings back into the order one analyzer
/// would have produced, numbered the same, and hands them to its `output` (streamed output).
///
/// Idle sweeps are scheduled here, where every packet passes, and sent to all shards at the
/// same frames, so that they close the same connections at the same moments as one table.
/// The connection table's limit is shared out: each shard holds `maxConnections / shards`
/// (which connection is evicted first may differ from one table on a capture that fills it).
///
/// Segments travel in blocks (their payloads copied, a megabyte at a time, a few blocks per
/// shard), so threads meet once per block. Everything else — counts, findings, ids, the order of the stream — is
/// the same as `CaptureAnalyzer.analyze` on one thread.
public final class ShardedAnalysis {
    /// A run of work for one shard: decoded segments and sweep points, in capture order.
    final class Block: @unchecked Sendable {
        enum Item {
            /// A TCP segment decoded by the reading thread, its payload in the block's copy.
            case segment(TCPSegment)
            case sweep(now: CaptureTimestamp, frame: UInt64)
        }

        let storage: UnsafeMutableRawPointer
        let capacity: Int
        var used = 0
        var items: [Item] = []
        /// Every item of this shard up to this frame number is in this block or an earlier one.
        var watermark: UInt64 = 0
        var isLast = false
        /// A block of the standard size, which goes back to the free list after use.
        let recyclable: Bool

        init(capacity: Int, recyclable: Bool = true) {
            self.capacity = capacity
            self.recyclable = recyclable
            storage = .allocate(byteCount: max(capacity, 1), alignment: 16)
            items.reserveCapacity(capacity / 256)
        }

        deinit { storage.deallocate() }

        func reset() {
            used = 0
            items.removeAll(keepingCapacity: true)
            watermark = 0
            isLast = false
        }

        /// Copies the segment's payload in (the shard needs nothing else of the frame), the
        /// segment then pointing at the copy (an empty one at its place in the block, not into
        /// the reader's frame); false when it does not fit.
        func append(_ segment: TCPSegment) -> Bool {
            let length = segment.payload.count
            guard used + max(64, length) <= capacity else { return false }
            var copy = segment
            let destination = storage.advanced(by: used)
            if length > 0 { destination.copyMemory(from: segment.payload.baseAddress!, byteCount: length) }
            copy.payload = UnsafeRawBufferPointer(start: destination, count: length)
            items.append(.segment(copy))
            // Each item counts for at least 64 octets, so that a run of bare ACKs still fills
            // a block (and the item list stays bounded).
            used += max(64, (length + 15) & ~15)
            return true
        }
    }

    /// Blocks between this thread and one shard's.
    final class Channel: @unchecked Sendable {
        let condition = NSCondition()
        var filled: [Block] = []
        var free: [Block] = []
    }

    /// What the shards send back, under one lock.
    final class Outbox: @unchecked Sendable {
        let condition = NSCondition()
        var events: [(shard: Int, events: [ShardEvent], orders: [EventOrder], watermark: UInt64)] = []
        var finished: [(tcp: TCPStatistics, connectionsOnSMTPPorts: Int)?]

        init(shards: Int) { finished = Array(repeating: nil, count: shards) }
    }

    let source: FrameSource
    let configuration: AnalyzerConfiguration
    let shardCount: Int
    let blockBytes: Int
    /// Set its `output` to stream sessions as they end.
    public let merge: ShardMerge
    private var channels: [Channel] = []
    private let outbox: Outbox
    private var current: [Block] = []
    public private(set) var framesRead: UInt64 = 0

    /// - Parameters:
    ///   - shards: analysers (threads) the connections are spread over.
    ///   - blockBytes, blocksPerShard: the size of a block of copied payloads and how many may be
    ///     on their way to each shard (memory: about `shards × blocksPerShard × blockBytes`).
    public init(source: FrameSource, configuration: AnalyzerConfiguration, shards: Int, blockBytes: Int = 1 << 20,
         blocksPerShard: Int = 4) {
        self.source = source
        self.configuration = configuration
        self.shardCount = max(1, shards)
        self.blockBytes = blockBytes
        self.merge = ShardMerge(shards: shardCount, retention: configuration.retention,
                                liveCapture: configuration.smtp.liveCapture)
        self.outbox = Outbox(shards: shardCount)
        for _ in 0..<shardCount {
            let channel = Channel()
            for _ in 0..<max(2, blocksPerShard) { channel.free.append(Block(capacity: blockBytes)) }
            channels.append(channel)
        }
    }

    /// Reads the whole source. A read error part-way is kept as a warning, as on one thread.
    public func run(progress: ((ShardedAnalysis) -> Void)? = nil) -> AnalysisResult {
        var shardConfiguration = configuration
        let limits = configuration.reassembly
        shardConfiguration.reassembly = ReassemblyLimits(
            maxConnections: (limits.maxConnections + shardCount - 1) / shardCount, idleTimeout: limits.idleTimeout,
            maxHeldBytesPerDirection: limits.maxHeldBytesPerDirection,
            maxRecentBytesPerDirection: limits.maxRecentBytesPerDirection, resetWindow: limits.resetWindow)
        let perShard = shardConfiguration
        let file = (source as? MergedFrameSource)?.onlyReader?.rereadableBytes
        for shard in 0..<shardCount {
            let channel = channels[shard], outbox = self.outbox
            let thread = Thread {
                Self.work(shard: shard, configuration: perShard, file: file, channel: channel, outbox: outbox)
            }
            thread.name = "smtp-trace shard \(shard)"
            thread.start()
            current.append(take(from: shard))
        }

        var packets = PacketStatistics()
        var warnings: [CaptureError] = []
        do {
            if let reader = (source as? MergedFrameSource)?.onlyReader {
                // One file: read straight from it, with no merge step and no dynamic call per frame.
                try deal(reader, packets: &packets, progress: progress)
            } else {
                try deal(source, packets: &packets, progress: progress)
            }
        } catch {
            warnings.append(error)
        }
        warnings.append(contentsOf: source.warnings)
        for shard in 0..<shardCount {
            current[shard].isLast = true
            give(current[shard], to: shard, watermark: .max)
        }
        while !merge.isDrained { collect(waiting: true) }
        let shards = outbox.finished.map { $0 ?? (TCPStatistics(), 0) }
        return merge.result(packets: packets, shards: shards, warnings: warnings)
    }

    /// Reads, decodes and deals out every frame; specialised for a concrete source.
    private func deal<Source: FrameSource>(
        _ source: Source, packets: inout PacketStatistics, progress: ((ShardedAnalysis) -> Void)?
    ) throws(CaptureError) {
        var now = CaptureTimestamp.zero
        var sweeps = SweepSchedule()
        let shards = UInt64(shardCount)
        var segment = TCPSegment.unset
        while let frame = try source.next() {
            if packets.decode(frame, into: &segment) {
                if now < segment.timestamp { now = segment.timestamp }
                if sweeps.isDue(now: now) {
                    // Before the frame, as one table sweeps before taking it; every shard
                    // gets it, and its work so far.
                    for shard in 0..<shardCount {
                        current[shard].items.append(.sweep(now: now, frame: frame.number))
                        hand(shard, watermark: framesRead)
                    }
                }
                // The hash scaled to the shard count (a multiplication, not a division).
                let shard = Int(ConnectionKey(segment.source, segment.destination).mixed.multipliedFullWidth(by: shards).high)
                // The block is held by `current`: no retain and release of it per segment.
                let appended = Unmanaged.passUnretained(current[shard])._withUnsafeGuaranteedRef { $0.append(segment) }
                if !appended {
                    hand(shard, watermark: framesRead)
                    if !current[shard].append(segment) {
                        // Larger than a whole block: a block of its own, handed over at
                        // once and freed after use (the fresh block stays current).
                        let large = Block(capacity: max(64, segment.payload.count), recyclable: false)
                        _ = large.append(segment)
                        give(large, to: shard, watermark: framesRead)
                    }
                }
            }
            framesRead = frame.number
            if framesRead & 0xFFFF == 0 {
                // Let slow shards' watermarks move, so the merge never waits long.
                for shard in 0..<shardCount { hand(shard, watermark: framesRead) }
                progress?(self)
            }
            if framesRead & 0xFFF == 0 { collect(waiting: false) }
        }
    }

    /// Sessions found so far (for progress).
    public var sessionsSoFar: Int { merge.sessionsSoFar }

    /// How far ahead of the segment being analysed a shard asks for its block's payloads (from
    /// the segment's own start: it and about three full-sized ones after it).
    static let prefetchDistance = 6144

    /// A shard's thread: its analyzer takes the blocks in order and sends back what it found.
    private static func work(shard: Int, configuration: AnalyzerConfiguration, file: CaptureFileBytes?,
                             channel: Channel, outbox: Outbox) {
        let analyzer = CaptureAnalyzer(configuration: configuration)
        analyzer.rereads(file)
        var found: [ShardEvent] = [], orders: [EventOrder] = []
        analyzer.makeShard { order, event in
            orders.append(order)
            found.append(consume event)
        }
        while true {
            channel.condition.lock()
            while channel.filled.isEmpty { channel.condition.wait() }
            let block = channel.filled.removeFirst()
            channel.condition.unlock()
            // The payloads lie one after the other in the block, copied there by the reading
            // thread on another core: asked for a few kilobytes ahead of the segment analysed.
            var readAhead = ReadAhead(distance: Self.prefetchDistance)
            for item in block.items {
                switch item {
                case .segment(let segment):
                    if let base = segment.payload.baseAddress {
                        readAhead.advance(to: base - UnsafeRawPointer(block.storage), in: block.storage, from: 0, to: block.used)
                    }
                    analyzer.process(shardSegment: segment)
                case .sweep(let now, let frame): analyzer.sweep(now: now, atFrame: frame)
                }
            }
            let last = block.isLast, watermark = last ? UInt64.max : block.watermark
            var result: (tcp: TCPStatistics, connectionsOnSMTPPorts: Int)? = nil
            if last { result = analyzer.finishShard() }
            // The block goes back first (the events are copies), so that the reader, woken by
            // what follows, finds it free.
            channel.condition.lock()
            if block.recyclable { channel.free.append(block) }
            channel.condition.signal()
            channel.condition.unlock()
            outbox.condition.lock()
            outbox.events.append((shard, found, orders, watermark))
            // Let go of the lists before the merge can take them: shared, they would be copied
            // there, every record with them.
            found.removeAll(keepingCapacity: true)
            orders.removeAll(keepingCapacity: true)
            if let result { outbox.finished[shard] = result }
            outbox.condition.signal()
            outbox.condition.unlock()
            if last { return }
        }
    }

    /// Hands the shard its current block and takes a fresh one. An empty block still says how
    /// far the capture has been dealt out, so that the merge need not wait for this shard.
    private func hand(_ shard: Int, watermark: UInt64) {
        give(current[shard], to: shard, watermark: watermark)
        current[shard] = take(from: shard)
    }

    private func give(_ block: Block, to shard: Int, watermark: UInt64) {
        block.watermark = watermark
        let channel = channels[shard]
        channel.condition.lock()
        channel.filled.append(block)
        channel.condition.signal()
        channel.condition.unlock()
    }

    /// A free block for the shard; while none is free, the merge goes on with what came back.
    private func take(from shard: Int) -> Block {
        let channel = channels[shard]
        while true {
            channel.condition.lock()
            if let block = channel.free.popLast() {
                channel.condition.unlock()
                block.reset()
                return block
            }
            channel.condition.unlock()
            collect(waiting: true)
        }
    }

    /// Feeds the merge what the shards sent back; with `waiting`, first waits (briefly) for
    /// something to come.
    private func collect(waiting: Bool) {
        outbox.condition.lock()
        if waiting && outbox.events.isEmpty { _ = outbox.condition.wait(until: Date(timeIntervalSinceNow: 0.01)) }
        var arrived = outbox.events
        outbox.events.removeAll(keepingCapacity: true)
        outbox.condition.unlock()
        // Taken out one by one (`popLast` moves), so that each list of events reaches the merge
        // unshared and is moved in there, not copied.
        arrived.reverse()
        while let (shard, events, orders, watermark) = arrived.popLast() {
            merge.add(events, orders: orders, from: shard, processedThrough: watermark)
        }
        merge.emitReady()
    }
}
