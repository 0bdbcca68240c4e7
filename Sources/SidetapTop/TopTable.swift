/// A table of `sidetap top`: a heading row and data rows in aligned columns. Text columns are
/// left-aligned and capped at a maximum width (a longer cell ends in "~"); number columns are
/// right-aligned.
struct TopTable {
    struct Column {
        var title: String
        var numeric: Bool
        /// Cells longer than this are cut (text columns only).
        var maximum: Int

        static func text(_ title: String, max maximum: Int = 24) -> Column { Column(title: title, numeric: false, maximum: maximum) }
        static func number(_ title: String) -> Column { Column(title: title, numeric: true, maximum: .max) }
    }

    var columns: [Column]
    var rows: [[String]] = []

    init(_ columns: [Column]) {
        self.columns = columns
    }

    mutating func add(_ cells: [String]) {
        rows.append(cells.map(TopFormat.plain))
    }

    /// The heading line and one line per row, columns two spaces apart.
    func lines() -> (heading: String, rows: [String]) {
        var widths = columns.map(\.title.count)
        let cells = rows.map { row in
            row.enumerated().map { i, cell -> String in
                let column = columns[i]
                guard !column.numeric, cell.count > column.maximum else { return cell }
                return String(cell.prefix(max(0, column.maximum - 1))) + "~"
            }
        }
        for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ row: [String]) -> String {
            var out = ""
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                let last = i == row.count - 1
                out += columns[i].numeric ? pad + cell : cell + (last ? "" : pad)
                if !last { out += "  " }
            }
            return out
        }
        return (line(columns.map(\.title)), cells.map(line))
    }
}
