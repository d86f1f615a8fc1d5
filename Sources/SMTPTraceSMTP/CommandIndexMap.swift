/// Command index → a small number (a transaction, a recipient slot), for the commands of one
/// session: an array indexed by command, not a hashed dictionary (set and read for every
/// MAIL, RCPT, DATA and their replies).
struct CommandIndexMap {
    private var values: [Int32] = []

    /// No command mapped, the storage kept (unless it grew past a usual session's).
    mutating func removeAll() {
        if values.capacity > 1024 { values = [] } else { values.removeAll(keepingCapacity: true) }
    }

    subscript(command: Int) -> Int? {
        get { command >= 0 && command < values.count && values[command] >= 0 ? Int(values[command]) : nil }
        set {
            guard command >= 0 else { return }
            if command >= values.count {
                if values.isEmpty { values.reserveCapacity(16) }
                // One element at a time: commands are numbered in order, so this is nearly
                // always one append (`append(contentsOf: repeatElement…)` cost ~200 instructions).
                while values.count <= command { values.append(-1) }
            }
            values[command] = newValue.map { Int32(clamping: $0) } ?? -1
        }
    }
}
