import Foundation
import SidetapTop
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Raw mode, the alternate screen and their restoration, the window size, and the input thread,
/// on a pseudo-terminal the test opens itself.
@Suite(.serialized) struct TopTerminalTests {
    /// A pseudo-terminal pair: the test holds the master, the code under test the slave.
    final class Pty {
        let master: Int32
        let slave: Int32

        // Glibc's Swift module leaves out the XSI pseudo-terminal calls; they are looked up in
        // the C library by name.
        typealias OpenPT = @convention(c) (Int32) -> Int32
        typealias PTName = @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?

        static func function<T>(_ name: String, as type: T.Type) throws -> T {
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { throw Failure("no \(name) in the C library") }
            return unsafeBitCast(symbol, to: type)
        }

        init() throws {
            let openpt = try Self.function("posix_openpt", as: OpenPT.self)
            let grantpt = try Self.function("grantpt", as: OpenPT.self)
            let unlockpt = try Self.function("unlockpt", as: OpenPT.self)
            let ptsname = try Self.function("ptsname", as: PTName.self)
            master = openpt(O_RDWR | O_NOCTTY)
            guard master >= 0, grantpt(master) == 0, unlockpt(master) == 0, let name = ptsname(master) else {
                throw Failure("cannot open a pseudo-terminal")
            }
            slave = open(String(cString: name), O_RDWR | O_NOCTTY)
            guard slave >= 0 else { throw Failure("cannot open \(String(cString: name))") }
            _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        }

        deinit {
            close(slave)
            close(master)
        }

        /// Everything the slave side wrote so far.
        func drain() -> String {
            var out = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { break }
                out += buffer.prefix(n)
            }
            return String(decoding: out, as: UTF8.self)
        }

        func settings() -> termios {
            var t = termios()
            _ = tcgetattr(slave, &t)
            return t
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test func rawModeAndTheAlternateScreenAreUndoneByRestore() throws {
        let pty = try Pty()
        let before = pty.settings()
        #expect(before.c_lflag & tcflag_t(ICANON) != 0 && before.c_lflag & tcflag_t(ISIG) != 0)
        let terminal = try TopTerminal(input: pty.slave, output: pty.slave)
        let raw = pty.settings()
        #expect(raw.c_lflag & tcflag_t(ICANON | ECHO | ISIG | IEXTEN) == 0, "canonical mode, echo and signal keys are off")
        #expect(raw.c_iflag & tcflag_t(IXON | ICRNL) == 0)
        let entered = pty.drain()
        #expect(entered.contains("\u{1B}[?1049h") && entered.contains("\u{1B}[?25l"), "\(entered.debugDescription)")

        var window = winsize(ws_row: 33, ws_col: 101, ws_xpixel: 0, ws_ypixel: 0)
        #expect(ioctl(pty.master, UInt(TIOCSWINSZ), &window) == 0)
        #expect(terminal.size()?.width == 101 && terminal.size()?.height == 33)

        terminal.draw(TopFrame(lines: ["one", "HEAD"], headings: [1]))
        #expect(pty.drain() == "\u{1B}[1;1H\u{1B}[2Kone\u{1B}[2;1H\u{1B}[2K\u{1B}[7mHEAD\u{1B}[0m")

        terminal.restore()
        let after = pty.settings()
        #expect(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag && after.c_oflag == before.c_oflag)
        let left = pty.drain()
        #expect(left.contains("\u{1B}[?25h") && left.hasSuffix("\u{1B}[?1049l"), "\(left.debugDescription)")
        // A second restore writes nothing more.
        terminal.restore()
        #expect(pty.drain().isEmpty)
    }

    @Test func theInputThreadReportsKeysAndSignals() throws {
        let pty = try Pty()
        let terminal = try TopTerminal(input: pty.slave, output: pty.slave)
        defer { terminal.restore() }
        // SIGWINCH and SIGURG are ignored by default, so a stray one cannot hurt the test runner.
        let signals = try TopSignals([SIGWINCH, SIGURG])
        final class Events: @unchecked Sendable {
            let lock = NSLock()
            var list: [TopInputEvent] = []
            func add(_ e: TopInputEvent) { lock.withLock { list.append(e) } }
            var all: [TopInputEvent] { lock.withLock { list } }
        }
        let events = Events()
        let input = try TopInput(terminal: pty.slave, signals: signals) { events.add($0) }
        func wait(_ count: Int) -> Bool {
            let deadline = Date().addingTimeInterval(30)
            while events.all.count < count && Date() < deadline { usleep(10_000) }
            return events.all.count >= count
        }
        var keys: [UInt8] = [UInt8(ascii: "s"), 0x03]
        #expect(write(pty.master, &keys, 2) == 2)
        #expect(wait(2))
        kill(getpid(), SIGWINCH)
        #expect(wait(3))
        kill(getpid(), SIGURG)
        #expect(wait(4))
        input.finish()
        signals.stop()
        #expect(events.all == [.action(.nextSort), .action(.quit), .resize, .stop(reason: "signal \(SIGURG)")])
    }
}
