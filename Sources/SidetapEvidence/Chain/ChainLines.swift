/// A chained log's bytes cut into lines: every complete line (without its newline) and the
/// fragment after the last newline, if the log does not end in one.
public struct ChainLines: Sendable {
    public var lines: [ArraySlice<UInt8>]
    public var tornTail: ArraySlice<UInt8>?

    public init(bytes: [UInt8]) {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = 0
        for index in bytes.indices where bytes[index] == 0x0A {
            lines.append(bytes[lineStart..<index])
            lineStart = index + 1
        }
        self.lines = lines
        tornTail = lineStart < bytes.count ? bytes[lineStart...] : nil
    }
}
