/// A plain-text table fitted to a width: columns with a shrink order give up characters (their
/// cells end in `…`) until the table fits. Cells are already escaped.
public struct TextTable {
    public struct Column {
        public var title: String
        public var rightAligned: Bool
        public var flexible: Bool { shrinkOrder != nil }
        /// Columns with a lower order give up characters first; nil never shrinks.
        public var shrinkOrder: Int?
        public var minimumWidth: Int

        public init(_ title: String, right: Bool = false, shrinkOrder: Int? = nil, minimumWidth: Int = 4) {
            self.title = title
            self.rightAligned = right
            self.shrinkOrder = shrinkOrder
            self.minimumWidth = minimumWidth
        }
    }

    public var columns: [Column]
    public var rows: [[String]] = []
    /// Applied to each body cell after padding (row, column, padded text): colours go here so
    /// that they never count toward a column's width.
    public var decorate: ((Int, Int, String) -> String)? = nil

    public init(columns: [Column]) { self.columns = columns }

    public mutating func add(_ row: [String]) { rows.append(row) }

    /// The width the table takes without shrinking anything.
    public func naturalWidth(indent: Int = 2) -> Int {
        var widths = columns.map { $0.title.count }
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        return indent + widths.reduce(0, +) + 2 * max(0, widths.count - 1)
    }

    public func render(width: Int, indent: Int = 2) -> String {
        var widths = columns.map { $0.title.count }
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        let separator = 2
        func total() -> Int { indent + widths.reduce(0, +) + separator * max(0, widths.count - 1) }
        // Shrink the widest column of the lowest shrink order, one character at a time,
        // until the table fits.
        while total() > width {
            var chosen: Int? = nil
            for i in columns.indices {
                guard let order = columns[i].shrinkOrder, widths[i] > columns[i].minimumWidth else { continue }
                if let c = chosen, let best = columns[c].shrinkOrder,
                    order > best || (order == best && widths[i] <= widths[c])
                {
                    continue
                }
                chosen = i
            }
            guard let w = chosen else { break }
            widths[w] -= 1
        }
        var out = ""
        let pad = String(repeating: " ", count: indent)
        func line(_ cells: [String], row: Int?) {
            var text = pad
            for i in columns.indices {
                var cell = i < cells.count ? cells[i] : ""
                if cell.count > widths[i] { cell = String(cell.prefix(max(0, widths[i] - 1))) + "…" }
                let fill = String(repeating: " ", count: widths[i] - cell.count)
                var padded = columns[i].rightAligned ? fill + cell : cell + (i == columns.count - 1 ? "" : fill)
                if let row, let decorate { padded = decorate(row, i, padded) }
                text += padded
                if i < columns.count - 1 { text += "  " }
            }
            while text.hasSuffix(" ") { text.removeLast() }
            out += text + "\n"
        }
        line(columns.map(\.title), row: nil)
        for (index, row) in rows.enumerated() { line(row, row: index) }
        return out
    }
}
