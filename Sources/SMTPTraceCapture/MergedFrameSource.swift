/// Several capture files read as one capture, merged in timestamp order as `mergecap` does,
/// so that a session spanning a file rotation stays whole. Frames are renumbered 1, 2, 3… in
/// merged order; each keeps the index of the file it came from.
///
/// A file that turns out damaged part-way is closed at that point, recorded in `warnings`, and
/// the other files go on: the user gets every frame that could be read.
public final class MergedFrameSource: FrameSource {
    public let readers: [PcapFileReader]
    /// The one input, when there is only one.
    private let single: PcapFileReader?
    /// Read errors met part-way through a file (the frames before them were delivered).
    public private(set) var warnings: [CaptureError] = []
    private var heads: [CapturedFrame?]
    private var primed = false
    private var lastDelivered: Int? = nil
    private var framesDelivered: UInt64 = 0

    /// The one input, when there is only one: a caller may read it directly.
    public var onlyReader: PcapFileReader? { single }

    public init(readers: [PcapFileReader]) {
        self.readers = readers
        self.single = readers.count == 1 ? readers[0] : nil
        self.heads = Array(repeating: nil, count: readers.count)
    }

    public convenience init(paths: [String]) throws(CaptureError) {
        var readers: [PcapFileReader] = []
        for path in paths { readers.append(try PcapFileReader(path: path)) }
        self.init(readers: readers)
    }

    /// Total size of all input files, when every size is known.
    public var totalBytes: Int64? {
        var total: Int64 = 0
        for reader in readers {
            guard let size = reader.fileSize else { return nil }
            total += size
        }
        return total
    }

    /// Bytes consumed so far across the inputs, when known.
    public var bytesRead: Int64? {
        var total: Int64 = 0
        for reader in readers {
            guard let read = reader.bytesRead else { return nil }
            total += read
        }
        return total
    }

    private func advance(_ index: Int) {
        do {
            heads[index] = try readers[index].next()
        } catch {
            heads[index] = nil
            warnings.append(error)
        }
    }

    public func next() throws(CaptureError) -> CapturedFrame? {
        if let single { return try next(of: single) }
        if !primed {
            primed = true
            for index in readers.indices { advance(index) }
        } else if let last = lastDelivered {
            advance(last)
        }
        var best: Int? = nil
        for index in heads.indices {
            guard let frame = heads[index] else { continue }
            if let b = best, let current = heads[b], !(frame.timestamp < current.timestamp) {
                continue
            }
            best = index
        }
        guard let best, var frame = heads[best] else {
            lastDelivered = nil
            return nil
        }
        lastDelivered = best
        framesDelivered += 1
        frame.number = framesDelivered
        frame.sourceIndex = best
        return frame
    }

    /// One file: nothing to merge, so no head to keep per input (this runs once per frame).
    private func next(of single: PcapFileReader) throws(CaptureError) -> CapturedFrame? {
        do {
            guard let frame = try single.next() else { return nil }
            framesDelivered += 1
            return frame
        } catch {
            warnings.append(error)
            return nil
        }
    }
}
