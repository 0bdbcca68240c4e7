#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The terminal while `sidetap top` runs: raw input (no echo, no line editing, Ctrl-C read as a
/// byte), the alternate screen, the cursor hidden; `restore()` puts all three back and is safe
/// to call more than once. Plain VT100/ANSI sequences only, so it works over SSH without
/// terminfo.
public final class TopTerminal: @unchecked Sendable {
    public let input: Int32
    public let output: Int32
    private var saved: termios
    private var restored = false

    /// Why the terminal could not be set up.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// True when `descriptor` is a terminal.
    public static func isTerminal(_ descriptor: Int32) -> Bool { isatty(descriptor) == 1 }

    /// Saves the input's settings, switches it to raw mode, enters the alternate screen and
    /// hides the cursor (tcgetattr, tcsetattr).
    public init(input: Int32 = 0, output: Int32 = 1) throws(Failure) {
        self.input = input
        self.output = output
        var settings = termios()
        guard tcgetattr(input, &settings) == 0 else { throw Failure(description: "tcgetattr: \(String(cString: strerror(errno)))") }
        saved = settings
        var raw = settings
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ECHONL | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL | INLCR | IGNCR | BRKINT | ISTRIP)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(input, TCSAFLUSH, &raw) == 0 else { throw Failure(description: "tcsetattr: \(String(cString: strerror(errno)))") }
        write(TopTerminal.enter)
    }

    deinit { restore() }

    /// Alternate screen on, cursor hidden, attributes reset, screen cleared.
    static let enter = "\u{1B}[?1049h\u{1B}[?25l\u{1B}[0m\u{1B}[2J"
    /// Attributes reset, cursor shown, alternate screen off.
    static let leave = "\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l"

    /// Leaves the alternate screen, shows the cursor and restores the saved input settings.
    public func restore() {
        guard !restored else { return }
        restored = true
        write(TopTerminal.leave)
        _ = tcsetattr(input, TCSAFLUSH, &saved)
    }

    /// The window's columns and rows (TIOCGWINSZ), or nil when the terminal does not say.
    public func size() -> (width: Int, height: Int)? {
        var window = winsize()
        guard ioctl(output, UInt(TIOCGWINSZ), &window) == 0, window.ws_col > 0, window.ws_row > 0 else { return nil }
        return (Int(window.ws_col), Int(window.ws_row))
    }

    /// Draws a frame over the previous one: each line at its row, erased first (a frame fills
    /// the screen, so nothing else needs erasing); headings in reverse video.
    public func draw(_ frame: TopFrame) {
        write(TopTerminal.encode(frame))
    }

    /// The bytes that draw `frame` (exposed for tests).
    public static func encode(_ frame: TopFrame) -> String {
        var out = ""
        for (i, line) in frame.lines.enumerated() {
            out += "\u{1B}[\(i + 1);1H\u{1B}[2K"
            out += frame.headings.contains(i) ? "\u{1B}[7m" + line + "\u{1B}[0m" : line
        }
        return out
    }

    /// Writes all of `text`, retrying short writes and EINTR.
    public func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(output, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
