import Foundation

/// Reads another source on a thread of its own, a few megabytes ahead of the analysis, so that
/// reading (libpcap's copies, the kernel's) and analysing run on two cores at once.
///
/// Frames travel in blocks: the reading thread copies frames into a free block until it is
/// full, then hands the whole block over, so the two threads meet once per block (thousands of
/// frames), not once per frame. Memory is bounded by `blockCount × blockBytes` (a frame larger
/// than a block gets a block of its own, freed after use). Frame numbers, order and errors are
/// exactly the wrapped source's: an error is thrown after the last frame read before it.
public final class ReadAheadFrameSource: FrameSource {
    /// Copied frames and what the reader knew when it handed them over.
    final class Block {
        let storage: UnsafeMutableRawPointer
        let capacity: Int
        var used = 0
        var frames: [CapturedFrame] = []
        var bytesRead: Int64? = nil
        /// The input ended (or failed) after this block's frames.
        var isLast = false
        var error: CaptureError? = nil

        init(capacity: Int) {
            self.capacity = capacity
            storage = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1), alignment: 16)
            frames.reserveCapacity(capacity / 64)
        }

        deinit { storage.deallocate() }

        func reset() {
            used = 0
            frames.removeAll(keepingCapacity: true)
            bytesRead = nil
            isLast = false
            error = nil
        }

        /// Copies the frame in; false when it does not fit.
        func append(_ frame: CapturedFrame) -> Bool {
            let length = frame.bytes.count
            guard used + length <= capacity else { return false }
            let destination = storage.advanced(by: used)
            if length > 0 { destination.copyMemory(from: frame.bytes.baseAddress!, byteCount: length) }
            var copy = frame
            copy.bytes = UnsafeRawBufferPointer(start: destination, count: length)
            frames.append(copy)
            used += (length + 15) & ~15
            return true
        }
    }

    /// What the two threads share, under `condition`.
    final class Exchange: @unchecked Sendable {
        let condition = NSCondition()
        var filled: [Block] = []
        var free: [Block] = []
        var cancelled = false
    }

    public let inner: FrameSource
    private let exchange = Exchange()
    private let blockBytes: Int
    private var current: Block? = nil
    private var index = 0
    private var finished = false
    private var lastBytesRead: Int64? = nil

    /// - Parameters:
    ///   - blockBytes: size of one block of copied frames.
    ///   - blockCount: blocks in flight (how far ahead the reader may get).
    public init(_ inner: FrameSource, blockBytes: Int = 2 << 20, blockCount: Int = 4) {
        self.inner = inner
        self.blockBytes = blockBytes
        for _ in 0..<max(2, blockCount) { exchange.free.append(Block(capacity: blockBytes)) }
        let exchange = self.exchange
        let reader = UncheckedSource(source: inner)
        let thread = Thread {
            Self.readLoop(reader.source, exchange: exchange, blockBytes: blockBytes)
        }
        thread.name = "smtp-trace reader"
        thread.start()
    }

    deinit {
        exchange.condition.lock()
        exchange.cancelled = true
        exchange.condition.broadcast()
        exchange.condition.unlock()
    }

    /// The reading thread: fills free blocks in order until the input ends or fails. A frame
    /// that does not fit is still valid (the inner source has not been asked for the next
    /// one), so it starts the next block.
    private static func readLoop(_ source: FrameSource, exchange: Exchange, blockBytes: Int) {
        func takeFree() -> Block? {
            exchange.condition.lock()
            defer { exchange.condition.unlock() }
            while exchange.free.isEmpty && !exchange.cancelled { exchange.condition.wait() }
            if exchange.cancelled { return nil }
            let block = exchange.free.removeLast()
            block.reset()
            return block
        }
        func hand(_ block: Block) {
            block.bytesRead = (source as? ByteCountingSource)?.bytesRead
            exchange.condition.lock()
            exchange.filled.append(block)
            exchange.condition.broadcast()
            exchange.condition.unlock()
        }
        guard var block = takeFree() else { return }
        do {
            while let frame = try source.next() {
                if block.append(frame) { continue }
                hand(block)
                if frame.bytes.count > blockBytes {
                    block = Block(capacity: frame.bytes.count)  // freed after use
                } else {
                    guard let free = takeFree() else { return }
                    block = free
                }
                _ = block.append(frame)
            }
        } catch {
            block.error = error
        }
        block.isLast = true
        hand(block)
    }

    public func next() throws(CaptureError) -> CapturedFrame? {
        while true {
            if let block = current {
                if index < block.frames.count {
                    index += 1
                    return block.frames[index - 1]
                }
                current = nil
                if block.isLast {
                    finished = true
                    recycle(block)
                    if let error = block.error { throw error }
                    return nil
                }
                recycle(block)
            }
            if finished { return nil }
            exchange.condition.lock()
            while exchange.filled.isEmpty { exchange.condition.wait() }
            let block = exchange.filled.removeFirst()
            exchange.condition.unlock()
            lastBytesRead = block.bytesRead ?? lastBytesRead
            current = block
            index = 0
        }
    }

    private func recycle(_ block: Block) {
        guard block.capacity == blockBytes else { return }  // an oversize block is freed
        exchange.condition.lock()
        exchange.free.append(block)
        exchange.condition.broadcast()
        exchange.condition.unlock()
    }

    /// Bytes of the input consumed up to the block being analysed (for progress).
    public var bytesRead: Int64? { lastBytesRead }

    /// The wrapped source's warnings, once it has been read to the end.
    public var warnings: [CaptureError] { finished ? inner.warnings : [] }
}

/// A source that can say how far into its input it is.
public protocol ByteCountingSource {
    var bytesRead: Int64? { get }
}

extension PcapFileReader: ByteCountingSource {}
extension MergedFrameSource: ByteCountingSource {}

/// The wrapped source handed to the reading thread, which alone uses it from then on.
private struct UncheckedSource: @unchecked Sendable {
    let source: FrameSource
}
