/// One screenful of `sidetap top` as plain text: at most `height` lines, none longer than
/// `width` characters, and which of them are table headings (shown in reverse video).
public struct TopFrame: Sendable, Equatable {
    public var lines: [String]
    /// Indices into `lines` of the table headings.
    public var headings: Set<Int>

    public init(lines: [String], headings: Set<Int>) {
        self.lines = lines
        self.headings = headings
    }

    /// The frame as text, one line each, for output that is not a terminal.
    public var text: String { lines.joined(separator: "\n") + "\n" }
}
