#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle

/// Runs the engine as a `Service`: returns when the input ends, or stops the sources on
/// graceful shutdown (SIGINT/SIGTERM) and returns once every port has flushed and closed.
public struct EngineService: Service {
    public let engine: Engine

    public init(engine: Engine) {
        self.engine = engine
    }

    public func run() async throws {
        let engine = self.engine
        try await withGracefulShutdownHandler {
            try await engine.finished()
        } onGracefulShutdown: {
            engine.stop()
        }
    }
}

/// Prints the status line to standard error about once a second until shutdown.
public struct StatusLineService: Service {
    public let engine: Engine
    public let interval: Duration

    public init(engine: Engine, interval: Duration = .seconds(1)) {
        self.engine = engine
        self.interval = interval
    }

    public func run() async throws {
        var line = StatusLine()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await Task.sleep(for: interval)
            } catch {
                break
            }
            StandardError.write("\r\u{1B}[K" + line.render(engine.statistics()))
        }
        StandardError.write("\r\u{1B}[K")
    }
}

extension Engine {
    /// Waits, without blocking the cooperative pool, until every worker thread has ended.
    func finished() async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiter = WorkerThread(name: "engine-wait") { [self] in
                self.waitUntilFinished()
                continuation.resume()
            }
            do {
                try waiter.start()
            } catch {
                // Cannot spawn a thread: wait here instead (blocks one pool thread).
                self.waitUntilFinished()
                continuation.resume()
            }
        }
    }
}

extension Engine {
    /// `apply(config)` on a thread of its own: a reload waits for every source's next batch
    /// and for removed ports to close, which must not hold a cooperative pool thread.
    func applyOffPool(_ config: SidetapConfig) async -> Result<EngineReloadReport, EngineError> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<EngineReloadReport, EngineError>, Never>) in
            let body: @Sendable () -> Void = { [self] in
                do throws(EngineError) {
                    continuation.resume(returning: .success(try self.apply(config)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            let thread = WorkerThread(name: "reload", body: body)
            do {
                try thread.start()
            } catch {
                body()
            }
        }
    }
}

/// Writes to standard error without buffering or Foundation.
public enum StandardError {
    public static func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }
}
