import Foundation

/// A bounded queue of copied frames between the capture thread and the analysis thread.
///
/// One block of memory, written as a ring: the capture thread copies each packet in (no
/// allocation per packet), the analysis thread reads them in order and releases them. When the
/// analysis falls so far behind that the ring is full, packets are dropped here and counted —
/// never silently. Written by hand: the standard collections would allocate per packet.
public final class FrameRing: @unchecked Sendable {
    struct Slot {
        var offset: Int
        var length: Int
        var originalLength: Int
        var timestamp: CaptureTimestamp
        var number: UInt64
    }

    private let storage: UnsafeMutableRawPointer
    private let capacity: Int
    private var slots: [Slot]
    private var slotHead = 0, slotCount = 0
    private var writeOffset = 0, usedBytes = 0
    private var readOffset = 0
    private let condition = NSCondition()
    private var closed = false
    public private(set) var dropped: UInt64 = 0
    public let linkType: LinkType

    public init(bytes: Int = 64 << 20, maxFrames: Int = 262_144, linkType: LinkType) {
        capacity = bytes
        storage = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        slots = Array(repeating: Slot(offset: 0, length: 0, originalLength: 0, timestamp: .zero, number: 0), count: maxFrames)
        self.linkType = linkType
    }

    deinit { storage.deallocate() }

    /// Capture thread: copies the frame in, or counts it dropped when the ring is full.
    public func push(_ frame: CapturedFrame) {
        let length = frame.bytes.count
        condition.lock()
        defer { condition.unlock() }
        var offset = writeOffset
        var waste = 0
        if offset + length > capacity {  // does not fit before the end: wrap, wasting the tail
            waste = capacity - offset
            offset = 0
        }
        guard slotCount < slots.count, usedBytes + waste + length <= capacity else {
            dropped += 1
            return
        }
        if length > 0 { storage.advanced(by: offset).copyMemory(from: frame.bytes.baseAddress!, byteCount: length) }
        let index = (slotHead + slotCount) % slots.count
        slots[index] = Slot(offset: offset, length: length, originalLength: frame.originalLength,
                            timestamp: frame.timestamp, number: frame.number)
        slotCount += 1
        usedBytes += waste + length
        writeOffset = offset + length
        condition.signal()
    }

    /// No more frames will come.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Analysis thread: hands the oldest frame to `body` (its bytes valid only inside), then
    /// releases it. Waits up to `timeout` seconds; returns false when nothing came (or the
    /// ring is closed and empty).
    public func pop(timeout: Double, _ body: (CapturedFrame) -> Void) -> Bool {
        condition.lock()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while slotCount == 0 && !closed {
            if !condition.wait(until: deadline) { break }
        }
        guard slotCount > 0 else {
            condition.unlock()
            return false
        }
        let slot = slots[slotHead]
        condition.unlock()
        body(CapturedFrame(number: slot.number, timestamp: slot.timestamp, linkType: linkType,
                           originalLength: slot.originalLength,
                           bytes: UnsafeRawBufferPointer(start: storage.advanced(by: slot.offset), count: slot.length)))
        condition.lock()
        // Release: the bytes from the read offset up to this frame's end (a wrap wasted the tail).
        let end = slot.offset + slot.length
        let released = slot.offset >= readOffset ? end - readOffset : (capacity - readOffset) + end
        usedBytes -= released
        readOffset = end
        slotHead = (slotHead + 1) % slots.count
        slotCount -= 1
        if slotCount == 0 {
            usedBytes = 0
            readOffset = writeOffset
        }
        condition.unlock()
        return true
    }

    public var isClosedAndEmpty: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed && slotCount == 0
    }
}
