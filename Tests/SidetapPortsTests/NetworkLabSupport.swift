import Foundation
import SidetapCore
import SidetapTestKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A thread that lives in a lab namespace: ports opened on it create their sockets and TAP
/// devices there, so the network tests touch nothing on the host (no addresses, no routes).
/// Jobs run one at a time, in order; `run` blocks until its job is done.
final class NamespaceThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopping = false
    private var started = false
    private var setupError: Int32 = 0

    init(path: String) throws {
        let thread = Thread { [self] in main(path) }
        thread.start()
        condition.lock()
        while !started { condition.wait() }
        let code = setupError
        condition.unlock()
        guard code == 0 else { throw SystemError(code: code, operation: "setns", path: path) }
    }

    /// setns(2), which Glibc's Swift module does not export, looked up at run time.
    private static let setns: @convention(c) (Int32, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { fatalError("setns not found") }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()
    /// CLONE_NEWNET from <sched.h>.
    private static let newNetworkNamespace: Int32 = 0x4000_0000

    private func main(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        var code: Int32 = 0
        if descriptor < 0 || Self.setns(descriptor, Self.newNetworkNamespace) != 0 { code = errno }
        if descriptor >= 0 { close(descriptor) }
        condition.lock()
        started = true
        setupError = code
        condition.broadcast()
        condition.unlock()
        guard code == 0 else { return }
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }

    /// Runs `body` on the namespace thread and returns its result.
    func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        jobs.append { box.result = Result { try body() }; done.signal() }
        condition.signal()
        condition.unlock()
        done.wait()
        return try box.result!.get()
    }

    /// Ends the thread after its queued jobs.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    deinit { stop() }
}

/// Carries a job's result back from the namespace thread.
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// A lab step that failed: what was run and what it said.
struct LabFailure: Error, CustomStringConvertible {
    var command: String
    var output: String
    var description: String { "\(command): \(output)" }
}

/// The network lab of the port tests: a "sidetap" namespace (where the ports live, reached
/// through `thread`) and a "collector" namespace joined by a veth pair
/// (sidetap `out0` 10.77.9.1/24 + fd77:9::1/64 ↔ collector `eth0` 10.77.9.2/24 + fd77:9::2/64).
final class PortLab {
    let lab: NamespaceLab
    let thread: NamespaceThread
    static let sidetapV4 = "10.77.9.1", collectorV4 = "10.77.9.2"
    static let sidetapV6 = "fd77:9::1", collectorV6 = "fd77:9::2"

    init(collector: Bool = true) throws {
        lab = try NamespaceLab()
        try lab.addNamespace("sidetap")
        thread = try NamespaceThread(path: "/var/run/netns/" + lab.namespace("sidetap"))
        if collector { try addCollector() }
    }

    deinit {
        thread.stop()
        lab.cleanup()
    }

    /// Adds the collector namespace and the veth pair with addresses (IPv6 without DAD), and
    /// warms the neighbour caches so the first packets are not held back by resolution.
    func addCollector(name: String = "collector", sidetapEnd: String = "out0",
                      v4: (String, String) = (sidetapV4, collectorV4), v6: (String, String) = (sidetapV6, collectorV6)) throws {
        try lab.addNamespace(name)
        try lab.addVeth(sidetapEnd, in: "sidetap", "eth0", in: name)
        try lab.address(v4.0 + "/24", on: sidetapEnd, in: "sidetap")
        try lab.address(v4.1 + "/24", on: "eth0", in: name)
        try lab.ip(["-n", lab.namespace("sidetap"), "addr", "add", v6.0 + "/64", "dev", sidetapEnd, "nodad"])
        try lab.ip(["-n", lab.namespace(name), "addr", "add", v6.1 + "/64", "dev", "eth0", "nodad"])
        for address in [v4.1, v6.1] {
            let ping = try lab.exec(in: "sidetap", ["ping", "-c", "1", "-W", "2", address])
            guard ping.succeeded else { throw LabFailure(command: "ping \(address)", output: ping.stdout + ping.stderr) }
        }
    }

    /// Opens `port` on the namespace thread.
    func open(_ port: any SidetapCore.Port, linkType: LinkType = .ethernet) throws {
        try thread.run { try port.open(sources: [SourceDescription(name: "lab", linkType: linkType, snaplen: 65535, origin: "lab")]) }
    }
}

/// tcpdump writing what one interface of a lab namespace sees to a pcap file.
final class LabCapture {
    let process: ChildProcess
    let file: String
    let errorFile: String

    /// Starts tcpdump and returns once it is listening.
    init(_ lab: NamespaceLab, in namespace: String, interface: String, filter: String, direction: String? = nil) throws {
        file = NSTemporaryDirectory() + "sidetap-lab-\(UUID().uuidString).pcap"
        errorFile = file + ".err"
        var arguments = ["/usr/sbin/ip", "netns", "exec", lab.namespace(namespace), "/usr/bin/tcpdump", "-i", interface, "-nn", "-U", "--immediate-mode",
                         "-s", "0", "-Z", "root", "-w", file]
        if let direction { arguments += ["-Q", direction] }
        process = try ChildProcess(arguments + [filter], standardError: .file(errorFile))
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? ""
            if text.contains("listening on") { return }
            if !process.isRunning { break }
            usleep(20_000)
        }
        let text = (try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? ""
        process.stop(within: 1)
        throw LabFailure(command: "tcpdump -i \(interface) in \(namespace)", output: "not listening: \(text)")
    }

    /// Waits `grace` seconds for packets in flight, stops tcpdump and returns the frames it
    /// captured (whole frames as captured: outer headers included).
    func finish(grace: Double = 0.5) throws -> [[UInt8]] {
        usleep(UInt32(grace * 1_000_000))
        process.stop()
        return try PcapRecords.read(file)
    }

    deinit {
        process.stop(within: 1)
        try? FileManager.default.removeItem(atPath: file)
        try? FileManager.default.removeItem(atPath: errorFile)
    }

    /// `tshark -r FILE -T fields -e F…` (with the extra decode options), one row per frame.
    func tsharkFields(_ fields: [String], options: [String] = []) throws -> [[String]] {
        var arguments = ["-r", file] + options + ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
        for field in fields { arguments += ["-e", field] }
        let output = try ExternalTool.run("/usr/bin/tshark", arguments, timeout: 60)
        guard output.succeeded else { throw LabFailure(command: "tshark", output: output.stderr) }
        return output.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// `tshark -r FILE -V`: the full decode as text.
    func tsharkVerbose(options: [String] = []) throws -> String {
        let output = try ExternalTool.run("/usr/bin/tshark", ["-r", file, "-V"] + options, timeout: 60)
        guard output.succeeded else { throw LabFailure(command: "tshark -V", output: output.stderr) }
        return output.stdout
    }
}

/// A minimal classic-pcap reader (tcpdump -w output): the captured bytes of each record.
enum PcapRecords {
    static func read(_ path: String) throws -> [[UInt8]] {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard data.count >= 24 else { return [] }
        let magic = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
        let little = magic == 0xA1B2_C3D4 || magic == 0xA1B2_3C4D
        func u32(_ at: Int) -> Int {
            let b = data[at..<at + 4].map(UInt32.init)
            return Int(little ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[3] | b[2] << 8 | b[1] << 16 | b[0] << 24)
        }
        var records: [[UInt8]] = []
        var offset = 24
        while offset + 16 <= data.count {
            let length = u32(offset + 8)
            guard offset + 16 + length <= data.count else { break }
            records.append(Array(data[offset + 16..<offset + 16 + length]))
            offset += 16 + length
        }
        return records
    }
}

/// Outer headers of a captured tunnel packet, parsed by hand (the test's own oracle next to
/// tshark's decode).
struct OuterPacket {
    var ipVersion: Int
    var ipProtocol: UInt8
    var source: [UInt8]
    var destination: [UInt8]
    /// Bytes after the outer IP header.
    var payload: [UInt8]

    /// Parses Ethernet + IPv4/IPv6 (no extension headers, not fragmented); nil otherwise.
    init?(frame: [UInt8]) {
        guard frame.count >= 14 else { return nil }
        let etherType = UInt16(frame[12]) << 8 | UInt16(frame[13])
        let ip = Array(frame[14...])
        if etherType == 0x0800, ip.count >= 20 {
            let headerLength = Int(ip[0] & 0x0F) * 4
            let total = Int(ip[2]) << 8 | Int(ip[3])
            guard total <= ip.count, headerLength <= total else { return nil }
            ipVersion = 4
            ipProtocol = ip[9]
            source = Array(ip[12..<16])
            destination = Array(ip[16..<20])
            payload = Array(ip[headerLength..<total])
        } else if etherType == 0x86DD, ip.count >= 40 {
            let length = Int(ip[4]) << 8 | Int(ip[5])
            guard 40 + length <= ip.count else { return nil }
            ipVersion = 6
            ipProtocol = ip[6]
            source = Array(ip[8..<24])
            destination = Array(ip[24..<40])
            payload = Array(ip[40..<40 + length])
        } else {
            return nil
        }
    }
}

/// Inner test frames: Ethernet (some 802.1Q-tagged) + IPv4 + UDP, with valid IP checksums,
/// varied lengths and a flow per `flows`, so tshark decodes the inner layers.
enum LabFrames {
    static let udpPort: UInt16 = 5555

    static func make(count: Int, flows: Int = 4, tagEvery: Int = 3, maxLength: Int = 1400) -> [[UInt8]] {
        (0..<count).map { index in
            let flow = index % flows
            let reply = (index / flows) % 2 == 1        // every other round goes the other way
            let tagged = tagEvery > 0 && index % tagEvery == 1
            let payloadLength = [18, 100, 333, 1000, 7, 1200][index % 6] % max(1, maxLength - 60)
            return frame(flow: flow, reply: reply, vlan: tagged ? UInt16(100 + flow) : nil, pcp: UInt8(index % 8),
                         payload: (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) })
        }
    }

    static func frame(flow: Int, reply: Bool, vlan: UInt16?, pcp: UInt8, payload: [UInt8]) -> [UInt8] {
        let clientMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x0A, UInt8(flow)]
        let serverMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x0B, 0x01]
        let client: [UInt8] = [10, 1, 0, UInt8(10 + flow)], server: [UInt8] = [10, 2, 0, 1]
        let clientPort = UInt16(40000 + flow)
        var bytes = reply ? serverMAC + clientMAC : clientMAC + serverMAC
        if let vlan { bytes += [0x81, 0x00, pcp << 5 | UInt8(vlan >> 8), UInt8(vlan & 0xFF)] }
        bytes += [0x08, 0x00]
        let total = 20 + 8 + payload.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0x12, 0x34, 0x40, 0, 64, 17, 0, 0]
        ip += reply ? server + client : client + server
        var sum: UInt32 = 0
        for i in stride(from: 0, to: 20, by: 2) { sum += UInt32(ip[i]) << 8 | UInt32(ip[i + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        ip[10] = UInt8(checksum >> 8)
        ip[11] = UInt8(checksum & 0xFF)
        let (sport, dport) = reply ? (udpPort, clientPort) : (clientPort, udpPort)
        let udpLength = 8 + payload.count
        let udp: [UInt8] = [UInt8(sport >> 8), UInt8(sport & 0xFF), UInt8(dport >> 8), UInt8(dport & 0xFF),
                            UInt8(udpLength >> 8), UInt8(udpLength & 0xFF), 0, 0]
        return bytes + ip + udp + payload
    }

    /// Writes `frame` through `port` as an Ethernet packet (`wireLength` defaults to its size).
    static func write(_ frame: [UInt8], to port: any SidetapCore.Port, wireLength: Int? = nil,
                      linkType: LinkType = .ethernet) throws(PortWriteError) {
        let outcome: Result<Void, PortWriteError> = frame.withUnsafeBytes { raw in
            do throws(PortWriteError) {
                try port.write(OutboundPacket(bytes: raw, wireLength: UInt32(wireLength ?? frame.count),
                                              timestampNanos: 0, sourceIndex: 0, linkType: linkType))
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try outcome.get()
    }
}
