import SidetapCore
import SidetapLabels
import Testing

@Suite struct LabelGateTests {
    static let encodings = try! LabelEncodings(parsing: """
        classification 0 PUBLIC
        classification 20 SECRET
        compartment 0 A
        compartment 1 B
        """, file: "t")
    static let public_ = Label(classification: 0)
    static let secretA = Label(classification: 20, compartments: CompartmentSet([0]))
    static let secretB = Label(classification: 20, compartments: CompartmentSet([1]))
    static let secretAB = Label(classification: 20, compartments: CompartmentSet([0, 1]))

    func key(_ a: String, _ b: String) -> FlowKey {
        let x = IPAddress(a)!, y = IPAddress(b)!
        return FlowKey(lowerAddress: min(x, y), upperAddress: max(x, y), lowerPort: 1, upperPort: 2, ipProtocol: 6, vlan: 0)
    }

    /// Ports: 0 public, 1 secret A, 2 secret A B.
    static let ports = [
        LabelAssignment.Cleared(name: "low", clearance: public_),
        LabelAssignment.Cleared(name: "a", clearance: secretA),
        LabelAssignment.Cleared(name: "ab", clearance: secretAB),
    ]

    @Test func constantLabelPerSourceWithoutAddresses() {
        let assignment = LabelAssignment(encodings: Self.encodings, sources: [
            .init(name: "web", guest: "web", label: Self.public_),
            .init(name: "db", guest: "db", label: Self.secretA),
        ], ports: Self.ports)
        #expect(!assignment.usesAddresses)
        let web = LabelGate(assignment, sourceIndex: 0)
        let db = LabelGate(assignment, sourceIndex: 1)
        let k = key("10.0.0.1", "10.0.0.2")
        #expect(web.admit(0b111, key: k, hash: 1) == 0b111)
        #expect(db.admit(0b111, key: k, hash: 1) == 0b110)
        #expect(db.admit(0b001, key: k, hash: 1) == 0)
        #expect(db.admit(0, key: k, hash: 1) == 0)
        db.publishCounters()
        web.publishCounters()
        #expect(db.dropped.map(\.value) == [2, 0, 0])
        #expect(web.dropped.map(\.value) == [0, 0, 0])
    }

    @Test func packetsBetweenGuestsCarryTheLeastUpperBound() {
        let assignment = LabelAssignment(encodings: Self.encodings, sources: [
            .init(name: "web", guest: "web", label: Self.public_, addresses: [AddressBlock("10.0.0.1/32")!]),
            .init(name: "fin", guest: "fin", label: Self.secretA, addresses: [AddressBlock("10.0.1.0/24")!]),
            .init(name: "hr", guest: "hr", label: Self.secretB, addresses: [AddressBlock("fd00::5")!]),
        ], ports: Self.ports)
        #expect(assignment.usesAddresses)
        let web = LabelGate(assignment, sourceIndex: 0, cacheSlots: 8)
        // web → outside: PUBLIC, every port.
        #expect(web.admit(0b111, key: key("10.0.0.1", "192.0.2.9"), hash: 3) == 0b111)
        // web → fin: PUBLIC ∨ SECRET A = SECRET A: not the public port.
        #expect(web.admit(0b111, key: key("10.0.0.1", "10.0.1.7"), hash: 4) == 0b110)
        // Same flow again, through the cache.
        #expect(web.admit(0b111, key: key("10.0.1.7", "10.0.0.1"), hash: 4) == 0b110)
        // A colliding slot with another pair recomputes.
        #expect(web.admit(0b111, key: key("10.0.0.1", "192.0.2.9"), hash: 4) == 0b111)
        // A packet touching hr's address: PUBLIC ∨ SECRET B: only the A B port.
        #expect(web.admit(0b111, key: key("fd00::5", "fd00::9"), hash: 5) == 0b100)
        // Drops: web→fin twice on the public port, the hr address once on the public and A ports.
        web.publishCounters()
        #expect(web.dropped.map(\.value) == [3, 1, 0])
    }

    @Test func spoofingCanOnlyRaiseTheLabel() {
        let assignment = LabelAssignment(encodings: Self.encodings, sources: [
            .init(name: "web", guest: "web", label: Self.public_, addresses: [AddressBlock("10.0.0.1/32")!]),
            .init(name: "fin", guest: "fin", label: Self.secretA, addresses: [AddressBlock("10.0.1.0/24")!]),
        ], ports: Self.ports)
        // fin's guest sends with web's (public) address to the outside: still SECRET A.
        let fin = LabelGate(assignment, sourceIndex: 1)
        #expect(fin.admit(0b111, key: key("10.0.0.1", "192.0.2.1"), hash: 9) == 0b110)
        #expect(assignment.label(source: "fin", guest: nil, addresses: [IPAddress("10.0.0.1")!]) == Self.secretA)
    }

    @Test func assignmentLabelsFlowsAndNetworks() {
        let assignment = LabelAssignment(encodings: Self.encodings, sources: [
            .init(name: "web", guest: "web", label: Self.public_, addresses: [AddressBlock("10.0.0.1/32")!]),
            .init(name: "fin", guest: "fin", label: Self.secretA, addresses: [AddressBlock("10.0.1.0/24")!]),
            .init(name: "hr", guest: "hr", label: Self.secretB),
        ], ports: Self.ports)
        #expect(assignment.label(source: "web", guest: nil, addresses: [IPAddress("10.0.0.1")!, IPAddress("8.8.8.8")!]) == Self.public_)
        #expect(assignment.label(source: nil, guest: "web", addresses: [IPAddress("10.0.0.1")!, IPAddress("10.0.1.9")!]) == Self.secretA)
        #expect(assignment.label(source: "hr", guest: nil, addresses: [IPAddress("10.0.1.9")!]) == Self.secretAB)
        #expect(assignment.label(source: nil, guest: nil, addresses: []) == Self.public_)
        #expect(assignment.label(network: AddressBlock("10.0.0.0/16")!) == Self.secretA)
        #expect(assignment.label(network: AddressBlock("10.0.0.0/24")!) == Self.public_)
        #expect(assignment.label(network: AddressBlock("10.0.1.128/25")!) == Self.secretA)
        #expect(Set(assignment.possibleLabels(ofSource: 0)) == [Self.public_, Self.secretA])
        #expect(assignment.clearedPorts(for: Self.secretB) == 0b100)
    }

    @Test func addressBlocks() {
        #expect(AddressBlock("10.0.0.1/24") == nil)         // host bits set
        #expect(AddressBlock("10.0.0.0/33") == nil)
        #expect(AddressBlock("nonsense") == nil)
        let v4 = AddressBlock("10.1.0.0/16")!
        #expect(v4.contains(IPAddress("10.1.200.3")!))
        #expect(!v4.contains(IPAddress("10.2.0.1")!))
        #expect(!v4.contains(IPAddress("::a01:1")!))
        let v6 = AddressBlock("fd00::/64")!
        #expect(v6.contains(IPAddress("fd00::1234")!))
        #expect(!v6.contains(IPAddress("fd00:0:0:1::1")!))
        #expect(v4.overlaps(AddressBlock("10.1.2.0/24")!))
        #expect(!v4.overlaps(AddressBlock("10.2.0.0/16")!))
    }
}
