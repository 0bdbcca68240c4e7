/// A problem in a label-encodings file or in a label's text: where it is and why.
public struct LabelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The encodings file (or the config file a label was written in).
    public var file: String
    /// 1-based line; 0 when the problem is not on one line.
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}
