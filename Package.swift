// swift-tools-version:6.2
//
// Sidetap: a virtual packet-capture security tap.
// Data flow, one module per stage:
//   SidetapCapture → SidetapSelect → SidetapRing → SidetapPorts, assembled by SidetapDaemon.
// Every stage module meets the others only through SidetapCore's types and protocols;
// SidetapPcap is the only module that touches libpcap (through CPcap).
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// The per-packet modules keep class state in locals on their hot loops; the dynamic
// exclusivity checks Swift adds to class property accesses (swift_beginAccess, a TLS lookup
// each) cost about 4 % of the capture path in a release profile, so release builds of those
// modules rely on the compile-time checks only.
let hotPath: [SwiftSetting] = strict + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "sidetap",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sidetap", targets: ["sidetap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.11.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        .systemLibrary(
            name: "CLibvirt",
            providers: [.apt(["libvirt-dev"])]
        ),
        .systemLibrary(
            name: "CNftables",
            providers: [.apt(["libnftables-dev"])]
        ),
        .target(name: "CSidetapLinux"),
        .target(name: "SidetapCore", swiftSettings: hotPath),
        .target(name: "SidetapPcap", dependencies: ["CPcap", "SidetapCore"], swiftSettings: strict),
        .target(name: "SidetapCapture", dependencies: ["SidetapCore", "SidetapPcap", "CSidetapLinux"], swiftSettings: hotPath),
        // libvirt guests: resolves a domain to its interfaces (the only importer of CLibvirt).
        .target(name: "SidetapLibvirt", dependencies: ["CLibvirt", "SidetapCapture"], swiftSettings: strict),
        .target(name: "SidetapRing", dependencies: ["SidetapCore"], swiftSettings: hotPath),
        .target(name: "SidetapSelect", dependencies: ["SidetapCore", "SidetapPcap"], swiftSettings: hotPath),
        .target(name: "SidetapPorts", dependencies: ["SidetapCore", "CSidetapLinux", "SidetapEvidence"], swiftSettings: hotPath),
        .target(name: "SidetapTraffic", dependencies: ["SidetapCore"], swiftSettings: strict),
        .target(name: "SidetapFlows", dependencies: ["SidetapCore"], swiftSettings: hotPath),
        .target(name: "SidetapLabels", dependencies: ["SidetapCore"], swiftSettings: hotPath),
        .target(
            name: "SidetapEvidence",
            dependencies: ["SidetapCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "SidetapCut",
            dependencies: ["SidetapCore", "CSidetapLinux", "CNftables", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "SidetapControl",
            dependencies: [
                "SidetapCore", "SidetapEvidence", "SidetapLabels",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SidetapDaemon",
            dependencies: [
                "SidetapCore", "SidetapPcap", "SidetapCapture", "SidetapLibvirt", "SidetapRing", "SidetapSelect",
                "SidetapPorts", "SidetapTraffic", "SidetapControl", "SidetapFlows", "SidetapCut", "SidetapEvidence", "SidetapLabels", "CSidetapLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: hotPath
        ),
        .target(
            name: "SidetapTop",
            dependencies: [
                "SidetapCore", "SidetapControl",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SidetapTestKit",
            dependencies: ["SidetapCore", "SidetapPcap", "SidetapTraffic", "CSidetapLinux"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "sidetap",
            dependencies: [
                "SidetapDaemon", "SidetapCore", "SidetapTraffic", "SidetapControl", "SidetapEvidence", "SidetapTop",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "SidetapCoreTests", dependencies: ["SidetapCore", "SidetapPcap", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(name: "SidetapPcapTests", dependencies: ["SidetapPcap", "SidetapCore", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(name: "SidetapCaptureTests", dependencies: ["SidetapCapture", "SidetapCore", "SidetapPcap", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(name: "SidetapLibvirtTests", dependencies: ["SidetapLibvirt", "SidetapCapture", "SidetapCore", "SidetapPcap", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(name: "SidetapRingTests", dependencies: ["SidetapRing", "SidetapCore"], swiftSettings: strict),
        .testTarget(name: "SidetapSelectTests", dependencies: ["SidetapSelect", "SidetapCore", "SidetapPcap", "SidetapCapture", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(name: "SidetapPortsTests", dependencies: ["SidetapPorts", "SidetapCore", "SidetapEvidence", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(name: "SidetapTrafficTests", dependencies: ["SidetapTraffic", "SidetapCore", "SidetapPcap", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(
            name: "SidetapControlTests",
            dependencies: [
                "SidetapControl", "SidetapCore", "SidetapEvidence", "SidetapTestKit", "SidetapLabels",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "SidetapFlowsTests", dependencies: ["SidetapFlows", "SidetapCore", "SidetapPcap", "SidetapTraffic", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(name: "SidetapLabelsTests", dependencies: ["SidetapLabels", "SidetapCore"], swiftSettings: strict),
        .testTarget(name: "SidetapEvidenceTests", dependencies: ["SidetapEvidence", "SidetapCore", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(name: "SidetapCutTests", dependencies: ["SidetapCut", "SidetapFlows", "SidetapCore", "SidetapPcap", "SidetapTraffic", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(name: "SidetapTopTests", dependencies: ["SidetapTop", "SidetapCore", "SidetapControl", "SidetapTestKit"], swiftSettings: strict),
        .testTarget(name: "SidetapDaemonTests", dependencies: ["SidetapDaemon", "SidetapCore", "SidetapPorts", "SidetapTraffic", "SidetapTestKit", "SidetapControl", "SidetapFlows", "SidetapEvidence", "SidetapLabels"], swiftSettings: strict),
    ]
)
