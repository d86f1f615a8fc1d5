import SMTPTracePackets

/// What the connection table holds: a value that knows the 4-tuple it is filed under.
public protocol ConnectionTableValue {
    var key: ConnectionKey { get }
}

/// The open connections (`Value`) by 4-tuple: an open-addressing hash table (linear probing,
/// deletion by shifting back, at most half full).
///
/// Written by hand because it is looked up for every packet: the standard `Dictionary` hashes
/// each key with seeded SipHash, several times the cost of the rest of the lookup. Here the
/// key's own mixed word (`ConnectionKey.mixed`), mixed again with a seed drawn per table, is the
/// hash — the seed so that traffic crafted to put many connections in one slot cannot be
/// prepared in advance. An entry is that hash and the value, 16 octets for a connection
/// object: the key is the value's own (`key`), compared only when the 63 bits of
/// the hash match, so a lookup reads one entry's line and then the connection it is for,
/// which the packet reads next anyway. (With the key in the entry, 64 octets each, the table
/// of a few hundred open connections spanned four times the lines and the entry missed the
/// cache on most packets, a wait before the connection's own.) Probing reads fields in place
/// and retains nothing.
public struct ConnectionTable<Value: ConnectionTableValue> {
    struct Entry {
        /// The key's hash with the low bit set, or 0 for an empty slot.
        var hash: UInt64
        var value: Value?
    }

    private var entries: [Entry]
    private let seed = UInt64.random(in: .min ... .max)
    public private(set) var count = 0

    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        entries = Array(repeating: Entry(hash: 0, value: nil), count: size)
    }

    public var isEmpty: Bool { count == 0 }

    /// Every value, in no particular order.
    public var values: [Value] { values(where: { _ in true }) }

    /// The values for which `isIncluded` holds, in no particular order — without first making
    /// a list of every value (the idle sweep looks at the whole table and keeps a few).
    public func values(where isIncluded: (Value) -> Bool) -> [Value] {
        var kept: [Value] = []
        entries.withUnsafeBufferPointer { entries in
            for i in entries.indices {
                if let value = entries[i].value, isIncluded(value) { kept.append(value) }
            }
        }
        return kept
    }

    @inline(__always)
    private func hash(_ key: ConnectionKey) -> UInt64 {
        let x = (key.mixed ^ seed) &* 0x9E37_79B9_7F4A_7C15
        return (x ^ (x >> 31)) | 1
    }

    @inline(__always)
    private static func home(_ hash: UInt64, mask: Int) -> Int { Int(truncatingIfNeeded: hash >> 7) & mask }

    @inline(__always)
    private func slot(of key: ConnectionKey, hash: UInt64) -> (index: Int, found: Bool) {
        entries.withUnsafeBufferPointer { entries in
            let mask = entries.count - 1
            var i = Self.home(hash, mask: mask)
            while true {
                let h = entries[i].hash
                if h == 0 { return (i, false) }
                if h == hash && entries[i].value!.key == key { return (i, true) }
                i = (i + 1) & mask
            }
        }
    }

    public subscript(key: ConnectionKey) -> Value? {
        let (index, found) = slot(of: key, hash: hash(key))
        return found ? entries[index].value : nil
    }

    /// Adds `value` under its key, or replaces the value there.
    public mutating func insert(_ value: Value) {
        if (count + 1) * 2 > entries.count { grow() }
        let key = value.key
        let hash = hash(key)
        let (index, found) = slot(of: key, hash: hash)
        if !found { count += 1 }
        entries[index] = Entry(hash: hash, value: value)
    }

    /// Removes the value under `key`; false when there was none.
    @discardableResult
    public mutating func remove(_ key: ConnectionKey) -> Bool {
        var (index, found) = slot(of: key, hash: hash(key))
        guard found else { return false }
        let mask = entries.count - 1
        // Shift back every entry of the run after the hole that may move into it, so that
        // lookups never meet a hole before their entry.
        var next = (index + 1) & mask
        while entries[next].hash != 0 {
            let home = Self.home(entries[next].hash, mask: mask)
            // `next` may fill the hole if its home is not cyclically within (index, next].
            if (next - home) & mask >= (next - index) & mask {
                entries.swapAt(index, next)
                index = next
            }
            next = (next + 1) & mask
        }
        entries[index] = Entry(hash: 0, value: nil)
        count -= 1
        return true
    }

    /// Twice the slots, every entry placed again by its stored hash (no key is read: the
    /// values are distinct already).
    private mutating func grow() {
        let oldEntries = entries
        entries = Array(repeating: Entry(hash: 0, value: nil), count: oldEntries.count * 2)
        let mask = entries.count - 1
        for entry in oldEntries where entry.hash != 0 {
            var i = Self.home(entry.hash, mask: mask)
            while entries[i].hash != 0 { i = (i + 1) & mask }
            entries[i] = entry
        }
    }
}

extension ConnectionTable where Value: AnyObject {
    /// The object under `key` without a retain: the caller keeps it alive otherwise for as
    /// long as it uses it (the reassembler holds what it closes until the next segment).
    @inline(__always)
    public func unretainedValue(for key: ConnectionKey) -> Unmanaged<Value>? {
        let (index, found) = slot(of: key, hash: hash(key))
        guard found else { return nil }
        return entries.withUnsafeBufferPointer { Unmanaged.passUnretained($0[index].value!) }
    }
}
