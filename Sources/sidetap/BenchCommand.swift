import ArgumentParser
import Foundation
import Logging
import SidetapCore
import SidetapDaemon
import SidetapTraffic

/// `sidetap bench`: measures the pipeline in-process — file → selector → discard ports —
/// for 1 port × 1 rule and for P ports × R rules, and prints packets/s and their ratio.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure packets/s from a capture through 1×1 and P×R rule sets to discard ports (use a release build)."
    )

    @Option(help: "Capture to read; without it a synthetic capture of --packets packets is generated.")
    var file: String?

    @Option(help: "Packets in the generated capture.")
    var packets: Int = 1_000_000

    @Option(help: "Ports in the fan-out case.")
    var ports: Int = 4

    @Option(help: "Rules per port in the fan-out case (1 to 8).")
    var rules: Int = 8

    @Option(help: "Runs per case; the median is reported.")
    var runs: Int = 3

    @Option(help: "Reader: auto, mmap or libpcap.")
    var reader: String = "auto"

    func validate() throws {
        guard (1...64).contains(ports) else { throw ValidationError("--ports must be 1 to 64") }
        guard (1...BenchRules.catalog.count).contains(rules) else { throw ValidationError("--rules must be 1 to \(BenchRules.catalog.count)") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() async throws {
        let directory = NSTemporaryDirectory() + "sidetap-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let capture: String
        if let file {
            capture = file
        } else {
            capture = directory + "/bench.pcap"
            StandardError.write("sidetap bench: generating \(packets) packets\n")
            _ = try TrafficGenerator(seed: 20_261_129, packets: packets).write(to: capture)
        }
        let single = try measure(capture: capture, directory: directory, ports: 1, rules: 1)
        let fanout = try measure(capture: capture, directory: directory, ports: ports, rules: rules)
        print("1 port x 1 rule:  \(Format.rate(single))pps")
        print("\(ports) ports x \(rules) rules: \(Format.rate(fanout))pps")
        print("ratio \(ports)x\(rules) / 1x1: \(Format.fixed(fanout / single, 3)) (target >= 0.667)")
    }

    /// Median packets/s over `runs` runs of one case.
    func measure(capture: String, directory: String, ports: Int, rules: Int) throws -> Double {
        var yaml = "sources:\n  - { name: in, file: \(capture), reader: \(reader) }\nports:\n"
        for p in 0..<ports {
            let path = directory + "/p\(p)-\(rules).rules"
            let text = ports == 1 && rules == 1 ? BenchRules.single : BenchRules.rules(port: p, count: rules)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            yaml += "  - { name: p\(p), kind: discard, rules: \(path) }\n"
        }
        let config = try SidetapConfig.parse(yaml, file: "<bench>", baseDirectory: directory)
        var rates: [Double] = []
        for _ in 0..<runs {
            var logger = Logger(label: "sidetap.bench")
            logger.logLevel = .warning
            let engine = try EngineAssembly.build(config, overrides: .init(logger: logger))
            let start = SystemTimeSource.shared.monotonicNanos()
            try engine.start()
            engine.waitUntilFinished()
            let seconds = Double(SystemTimeSource.shared.monotonicNanos() - start) / 1e9
            let stats = engine.statistics()
            rates.append(Double(stats.totalPackets) / seconds)
        }
        rates.sort()
        return rates[rates.count / 2]
    }
}

/// The rule sets `sidetap bench` measures: realistic, different per port, native fields.
enum BenchRules {
    /// The 1×1 case: the same selection as `tcpdump 'tcp port 80'` (untagged, IPv4 or IPv6).
    static let single = "accept tcp port 80 vlan none\n"

    /// Templates; `P` is replaced by the port number so every port's rules differ.
    static let catalog = [
        "reject src 10.P.250.0/24",
        "accept tcp dport 80,443,8080-8089",
        "accept udp port 53",
        "accept tcp port 22 dst 10.200.P.0/24",
        "reject vlan 300",
        "accept udp host 10.200.1P.0/24",
        "accept icmp",
        "accept tcp port 5432,3306 vlan none",
    ]

    static func rules(port: Int, count: Int) -> String {
        (0..<count).map { i in
            catalog[(i + port) % catalog.count].replacingOccurrences(of: "P", with: "\(port)")
        }.joined(separator: "\n") + "\n"
    }
}
