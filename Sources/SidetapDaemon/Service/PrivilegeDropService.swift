#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import ServiceLifecycle
import SidetapControl

/// Drops privileges once the control listeners are bound (the engine has already started, so
/// every capture, device and port is open): waits up to `listenerWait` for the Unix socket
/// to answer and the TLS port to listen, hands the user what Sidetap created, then runs the
/// `PrivilegeDrop`. A failed drop ends the process with status 1 at once: Sidetap never
/// runs half-dropped.
struct PrivilegeDropService: Service {
    let drop: PrivilegeDrop
    let socketPath: String?
    let tls: TLSListenerSettings?
    let handOverPaths: [String]
    let logger: Logger
    var listenerWait: Duration = .seconds(15)

    func run() async throws {
        let deadline = ContinuousClock.now + listenerWait
        while !listenersReady() && ContinuousClock.now < deadline && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !listenersReady() {
            logger.warning("least privilege: a control listener was not up before the drop; it cannot bind later as \(drop.user.name)")
        }
        do {
            try drop.handOver(paths: handOverPaths)
            let threads = try drop.apply()
            logger.notice("least privilege: running as \(drop.user) with capabilities \(drop.plan.kept); \(threads.count) threads checked")
        } catch {
            StandardError.write("sidetap: \(error); stopping\n")
            exit(1)
        }
    }

    private func listenersReady() -> Bool {
        if let socketPath, !ControlSocket.isAnswering(socketPath) { return false }
        if let tls, tls.port != 0, !ListeningPorts.isListening(tcpPort: tls.port) { return false }
        return true
    }
}

/// Reads /proc/net/tcp and /proc/net/tcp6 for a socket in the LISTEN state.
enum ListeningPorts {
    static func isListening(tcpPort port: Int) -> Bool {
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 3, let colon = fields[1].lastIndex(of: ":"),
                      let local = Int(fields[1][fields[1].index(after: colon)...], radix: 16) else { continue }
                if local == port && fields[3] == "0A" { return true }
            }
        }
        return false
    }
}
