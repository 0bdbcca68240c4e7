import ArgumentParser
import SidetapDaemon
import SidetapTraffic

/// `sidetap generate`: write a deterministic synthetic capture.
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a deterministic synthetic capture (TCP flows with handshakes, DNS and other UDP, ICMP, IPv6, VLAN tags)."
    )

    @Option(name: .shortAndLong, help: "Output pcap file.")
    var output: String

    @Option(help: "Number of packets.")
    var packets: Int = 100_000

    @Option(help: "Random seed; the same seed gives byte-identical output.")
    var seed: UInt64 = 20_261_129

    @Flag(help: "Write the small sample capture of the embedded default job instead.")
    var sample = false

    func validate() throws {
        guard packets > 0 else { throw ValidationError("--packets must be positive") }
    }

    func run() async throws {
        let generator = sample ? TrafficGenerator.sample() : TrafficGenerator(seed: seed, packets: packets)
        do {
            _ = try generator.write(to: output)
        } catch {
            StandardError.write("sidetap: \(error)\n")
            throw ExitCode(1)
        }
        StandardError.write("sidetap: wrote \(output)\n")
    }
}
