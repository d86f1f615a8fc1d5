import CMapGuard

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The records of a classic pcap file read through a sliding read-only memory map, for the
/// plain case: a regular file, version 2.4, in this machine's byte order.
///
/// Written by hand for speed. libpcap reads each record with `fread` into a buffer of its own,
/// so every packet is copied twice (page cache → stdio buffer → libpcap's buffer); on a large
/// capture that copying costs as much as everything libpcap does. Mapping the page cache hands
/// out the bytes where they already are. libpcap still opens the file (it checks the header
/// and names the link type) and reads everything this does not take: pcapng, swapped byte
/// order, old versions, pipes and standard input. The per-record rules follow libpcap's own
/// (`sf-pcap.c`), messages included, so both paths give the same frames and the same errors.
final class MappedPcapRecords {
    /// One record's header fields and its bytes (valid until the next call).
    struct Record {
        var seconds: Int64
        var nanoseconds: UInt32
        var originalLength: Int
        var bytes: UnsafeRawBufferPointer
        /// Where `bytes` starts in the file.
        var fileOffset: Int
    }

    enum Step {
        case record(Record)
        case end
        case failed(reason: String)
    }

    /// libpcap's largest sane record for the link types read here (`max_snaplen_for_dlt`).
    static let maximumCaptureLength = 262_144
    /// How far apart windows start (each maps this plus one largest record): the resident
    /// memory it costs, one mmap/munmap pair per window, and the size of the page-cache folios
    /// that one page-table entry can map (see `remap`).
    static let windowBytes = 2 << 20
    static let fileHeaderBytes = 24
    static let recordHeaderBytes = 16

    private let descriptor: Int32
    /// The file's size when last looked at (again at an apparent end: a capture still being
    /// written may have grown). A file cut shorter while it is read (a rotated capture
    /// reopened with O_TRUNC) would end the process when a mapped page past its new end is
    /// touched (SIGBUS); `CMapGuard` turns that into zeros and a mark, and reading ends with
    /// an error before a record on a lost page is handed out.
    private var fileSize: Int
    private let nanosecondTimestamps: Bool
    private let snapshot: Int
    private let pageSize: Int
    /// File offset of the mapped window and the window itself.
    private var windowStart = 0
    private var window: UnsafeRawBufferPointer? = nil
    /// The window's `map_guard_watch` slot (-1: not watched).
    private var guardSlot: Int32 = -1
    /// A window unmapped after a read in it faulted (its slot, which said so, is gone).
    private var faultedBeforeUnmap = false
    /// File offset where the window ends (0: none mapped).
    private var windowEnd = 0
    /// File offset below which the window's pages have been read once (`pagesAreThere`), at
    /// most `windowEnd` (0: none mapped).
    private var checkedEnd = 0
    /// The longest record the fast path hands out: longer ones may need cutting to the
    /// snapshot length, or be invalid.
    private let fastSnapshot: Int
    /// File offset of the next record.
    private(set) var position = fileHeaderBytes
    /// Keeps the processor loading the capture `prefetchDistance` octets ahead of the record
    /// being analysed (file offsets): the mapped pages are read here for the first time.
    private var readAhead = ReadAhead(distance: prefetchDistance)

    /// Maps the file libpcap opened (`file`, through a descriptor of its own, so that nothing
    /// is opened twice: a second open of a named pipe would wait for a writer) when it is a
    /// plain classic pcap file; nil sends the caller to libpcap. `snapshot` is libpcap's
    /// snapshot length for the file (`pcap_snapshot`).
    init?(file: UnsafeMutablePointer<FILE>, snapshot: Int) {
        let fd = dup(fileno(file))
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
            Int(info.st_size) >= Self.fileHeaderBytes
        else {
            close(fd)
            return nil
        }
        var header = (UInt32(0), UInt16(0), UInt16(0))
        let read = withUnsafeMutableBytes(of: &header) { pread(fd, $0.baseAddress, 8, 0) }
        let (magic, major, minor) = header
        guard read == 8, magic == 0xA1B2_C3D4 || magic == 0xA1B2_3C4D, major == 2, minor == 4 else {
            close(fd)
            return nil
        }
        descriptor = fd
        fileSize = Int(info.st_size)
        nanosecondTimestamps = magic == 0xA1B2_3C4D
        self.snapshot = snapshot
        fastSnapshot = max(0, min(snapshot, Self.maximumCaptureLength))
        pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        #if os(Linux)
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif
    }

    /// The file's bytes for reading again by position.
    func rereadable() -> CaptureFileBytes? { CaptureFileBytes(duplicating: descriptor) }

    deinit {
        unmap()
        close(descriptor)
    }

    /// Reads the window's pages from `checkedEnd` to file offset `end` (in the window) once
    /// (`map_guard_touch`): false if a read in the window faulted, now or since the window was
    /// mapped.
    @inline(never)
    private func pagesAreThere(upTo end: Int) -> Bool {
        guard let base = window?.baseAddress, end > checkedEnd else {
            return !faultedBeforeUnmap && !map_guard_faulted(guardSlot)
        }
        let from = checkedEnd
        // Whole pages: the window starts on a page boundary of the file.
        checkedEnd = min(windowEnd, (end &+ pageSize &- 1) & ~(pageSize &- 1))
        return !faultedBeforeUnmap && !map_guard_touch(guardSlot, base + (from &- windowStart), end &- from)
    }

    /// The file's size now, nil if it cannot be read.
    private func sizeOnDisk() -> Int? {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int(info.st_size) : nil
    }

    /// Whether the file has grown since its size was taken (a capture still being written).
    private func grew() -> Bool {
        guard let size = sizeOnDisk(), size > fileSize else { return false }
        fileSize = size
        return true
    }

    /// The next record: on the fast path when its header lies on the window's pages already
    /// read once, its bytes in the window (pages not read yet are read first) and it needs
    /// none of the general path's cases (no cut to the snapshot length, not empty); otherwise
    /// `nextChecked`, which decides every case.
    @inline(__always)
    func next() -> Step {
        let at = position
        let dataStart = at &+ Self.recordHeaderBytes
        if _fastPath(dataStart <= checkedEnd), let base = window?.baseAddress {
            // The header lies on pages read once, in the window: the record starts in it
            // (`position` only moves forward, and a window is mapped at or before the record it
            // is mapped for).
            let header = base + (at &- windowStart)
            let capturedLength = Int(header.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            let dataEnd = dataStart &+ capturedLength
            // 1...fastSnapshot in one unsigned comparison.
            if _fastPath(UInt(bitPattern: capturedLength &- 1) < UInt(bitPattern: fastSnapshot) && dataEnd <= windowEnd) {
                // A record that reaches pages not read yet: they are read first (as in
                // `nextChecked`), about once every few records.
                if _slowPath(dataEnd > checkedEnd), !pagesAreThere(upTo: dataEnd) {
                    return shrank()
                }
                position = dataEnd
                readAhead.advance(to: dataEnd, in: base, from: windowStart, to: windowEnd)
                return record(
                    seconds: Int32(bitPattern: header.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                    fraction: Int32(bitPattern: header.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
                    originalLength: Int(header.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
                    bytes: header + Self.recordHeaderBytes, count: capturedLength, fileOffset: dataStart)
            }
        }
        return nextChecked()
    }

    /// The next record, every rule applied (`next`'s general path).
    @inline(never)
    private func nextChecked() -> Step {
        let remaining = fileSize - position
        if remaining == 0 { return grew() ? next() : .end }
        guard remaining >= Self.recordHeaderBytes else {
            if grew() { return next() }
            return .failed(reason: "truncated dump file; tried to read \(Self.recordHeaderBytes) header bytes, only got \(remaining)")
        }
        guard let header = bytes(Self.recordHeaderBytes, at: position) else { return mapFailure() }
        let seconds = Int32(bitPattern: header.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let fraction = Int32(bitPattern: header.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let capturedLength = Int(header.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let originalLength = Int(header.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        // Zeros where a record should be: the tail of the page that holds a shortened file's
        // new end reads as zeros without a fault (a record cut there has zeros for its lost
        // part, and nothing can tell; the next header, all zeros, ends the reading).
        if _slowPath(seconds == 0 && capturedLength == 0 && originalLength == 0), (sizeOnDisk() ?? fileSize) < position + Self.recordHeaderBytes {
            return shrank()
        }
        if capturedLength > Self.maximumCaptureLength {
            let limit = capturedLength > snapshot ? "snaplen of \(snapshot)" : "maximum of \(Self.maximumCaptureLength)"
            return .failed(reason: "invalid packet capture length \(capturedLength), bigger than \(limit)")
        }
        let dataStart = position + Self.recordHeaderBytes
        let available = fileSize - dataStart
        // A record longer than the file's snapshot length is cut to it, as libpcap does.
        let kept = min(capturedLength, snapshot)
        guard available >= capturedLength else {
            if grew() { return next() }
            let tried = available < kept ? kept : capturedLength
            return .failed(reason: "truncated dump file; tried to read \(tried) captured bytes, only got \(available)")
        }
        guard let data = bytes(kept, at: dataStart) else { return mapFailure() }
        // Each page of the window is read once before a record on it is handed out: a page the
        // file lost ends the reading here (a fault seen since, by the analysis of the records
        // before, too) instead of handing out its zeros (`next` does the same on its fast
        // path).
        if _slowPath(dataStart + kept > checkedEnd), !pagesAreThere(upTo: dataStart + kept) { return shrank() }
        position = dataStart + capturedLength
        if let base = window?.baseAddress {
            readAhead.advance(to: position, in: base, from: windowStart, to: windowEnd)
        }
        return record(seconds: seconds, fraction: fraction, originalLength: originalLength, bytes: data, count: kept,
                      fileOffset: dataStart)
    }

    /// A record handed out, from its header's fields (the fraction in the file's unit), its
    /// bytes and where they start in the file: both paths' last step.
    @inline(__always)
    private func record(seconds: Int32, fraction: Int32, originalLength: Int, bytes: UnsafeRawPointer, count: Int,
                        fileOffset: Int) -> Step {
        let nanoseconds = nanosecondTimestamps ? Int64(fraction) : Int64(fraction) &* 1000
        return .record(Record(
            seconds: Int64(seconds), nanoseconds: UInt32(clamping: nanoseconds), originalLength: originalLength,
            bytes: UnsafeRawBufferPointer(start: bytes, count: count), fileOffset: fileOffset))
    }

    /// How far ahead of the next record `readAhead` asks for the capture: about one and a half
    /// full-sized frames. Measured on the 1 GiB benchmark (interleaved
    /// runs, median of 9): 0.91 s with only the next record's first 512 octets asked for,
    /// 0.88 s at 1024 ahead, 0.85 s at 2048, 0.86 s at 3072 and 4096.
    static let prefetchDistance = 2048

    /// The file lost bytes already mapped: they read as zeros, so the record on them is not
    /// handed out, and reading ends here.
    private func shrank() -> Step {
        let size = sizeOnDisk().map { "\($0) bytes" } ?? "fewer bytes"
        unmap()
        return .failed(reason: "the file shrank to \(size) while it was being read: truncated or rotated by another program")
    }

    private func mapFailure() -> Step {
        .failed(reason: "error reading dump file: " + String(cString: strerror(errno)))
    }

    /// `count` bytes at file offset `offset`, mapping a new window when they are not in this one.
    @inline(__always)
    private func bytes(_ count: Int, at offset: Int) -> UnsafeRawPointer? {
        if let window, offset >= windowStart, offset + count <= windowStart + window.count {
            return window.baseAddress.map { $0 + (offset - windowStart) }
        }
        return remap(count, at: offset)
    }

    private func remap(_ count: Int, at offset: Int) -> UnsafeRawPointer? {
        unmap()
        // Windows start on 2 MiB boundaries of the file and reach one largest record past the
        // next boundary (so every record that starts in a window ends in it): where the page
        // cache holds the file in 2 MiB folios (Linux, ext4 and XFS after a read from disk),
        // the kernel maps each such run with one page-table entry instead of 512.
        // (`offset - start` is under 2 MiB and `count` at most a record header or the largest
        // record, so that length always holds the bytes asked for.)
        let start = offset - offset % Self.windowBytes
        let length = min(Self.windowBytes + Self.recordHeaderBytes + Self.maximumCaptureLength, fileSize - start)
        guard length > 0 else { return nil }
        #if os(Linux)
            let flags = MAP_PRIVATE | MAP_POPULATE  // the whole window faulted in with one call
        #else
            let flags = MAP_PRIVATE
        #endif
        let mapped = mmap(nil, length, PROT_READ, flags, descriptor, off_t(start))
        guard let mapped, mapped != MAP_FAILED else { return nil }
        windowStart = start
        window = UnsafeRawBufferPointer(start: mapped, count: length)
        windowEnd = start + length
        guardSlot = map_guard_watch(mapped, length)
        // Pages before the record's own were read through the window before: not again.
        checkedEnd = start + ((offset - start) & ~(pageSize - 1))
        return UnsafeRawPointer(mapped) + (offset - start)
    }

    private func unmap() {
        if let window, let base = window.baseAddress {
            if map_guard_faulted(guardSlot) { faultedBeforeUnmap = true }
            map_guard_forget(guardSlot)
            guardSlot = -1
            munmap(UnsafeMutableRawPointer(mutating: base), window.count)
        }
        window = nil
        windowEnd = 0
        checkedEnd = 0
    }
}
