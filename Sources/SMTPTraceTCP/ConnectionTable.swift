/// The open connections (`Value`) by 4-tuple: an open-addressing hash table (linear probing, deletion
/// by shifting back, at most half full).
///
/// Written by hand because it is looked up for every packet: the standard `Dictionary` hashes
/// each key with seeded SipHash, several times the cost of the rest of the lookup. Here the
/// key's own mixed word (`ConnectionKey.mixed`) is the hash, kept beside each entry so that a
/// probe compares one word before it compares addresses.
public struct ConnectionTable<Value> {
    /// Per slot: the key's hash with the low bit set, or 0 for an empty slot.
    private var hashes: [UInt64]
    private var keys: [ConnectionKey?]
    private var slots: [Value?]
    public private(set) var count = 0

    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        hashes = Array(repeating: 0, count: size)
        keys = Array(repeating: nil, count: size)
        slots = Array(repeating: nil, count: size)
    }

    public var isEmpty: Bool { count == 0 }

    /// Every value, in no particular order.
    public var values: [Value] { slots.compactMap { $0 } }

    @inline(__always)
    private static func hash(_ key: ConnectionKey) -> UInt64 { key.mixed | 1 }

    @inline(__always)
    private func slot(of key: ConnectionKey, hash: UInt64) -> (index: Int, found: Bool) {
        let mask = hashes.count - 1
        var i = Int(truncatingIfNeeded: hash >> 7) & mask
        while true {
            let h = hashes[i]
            if h == 0 { return (i, false) }
            if h == hash && keys[i] == key { return (i, true) }
            i = (i + 1) & mask
        }
    }

    public subscript(key: ConnectionKey) -> Value? {
        let (index, found) = slot(of: key, hash: Self.hash(key))
        return found ? slots[index] : nil
    }

    /// Adds or replaces the value under `key`.
    public mutating func insert(_ value: Value, for key: ConnectionKey) {
        if (count + 1) * 2 > hashes.count { grow() }
        let hash = Self.hash(key)
        let (index, found) = slot(of: key, hash: hash)
        if !found { count += 1 }
        hashes[index] = hash
        keys[index] = key
        slots[index] = value
    }

    /// Removes the value under `key`; false when there was none.
    @discardableResult
    public mutating func remove(_ key: ConnectionKey) -> Bool {
        var (index, found) = slot(of: key, hash: Self.hash(key))
        guard found else { return false }
        let mask = hashes.count - 1
        // Shift back every entry of the run after the hole that may move into it, so that
        // lookups never meet a hole before their entry.
        var next = (index + 1) & mask
        while hashes[next] != 0 {
            let home = Int(truncatingIfNeeded: hashes[next] >> 7) & mask
            // `next` may fill the hole if its home is not cyclically within (index, next].
            if (next - home) & mask >= (next - index) & mask {
                hashes[index] = hashes[next]
                keys[index] = keys[next]
                slots[index] = slots[next]
                index = next
            }
            next = (next + 1) & mask
        }
        hashes[index] = 0
        keys[index] = nil
        slots[index] = nil
        count -= 1
        return true
    }

    private mutating func grow() {
        let old = (hashes, keys, slots)
        let size = hashes.count * 2
        hashes = Array(repeating: 0, count: size)
        keys = Array(repeating: nil, count: size)
        slots = Array(repeating: nil, count: size)
        count = 0
        for i in old.0.indices where old.0[i] != 0 {
            insert(old.2[i]!, for: old.1[i]!)
        }
    }
}
