import Foundation
import NIOCore
import NIOHTTP1
import SidetapControl
import SidetapCore
import SidetapLabels
import SidetapTestKit
import Testing

/// Appliances' clearances: a cut of a flow whose label the appliance's clearance does not
/// dominate is refused with 403 and audited, even inside the appliance's ACL scope.
@Suite struct ClearanceTests {
    static let encodings = try! LabelEncodings(parsing: """
        classification 0 PUBLIC
        classification 20 SECRET
        compartment 0 FINANCE
        compartment 1 HR
        """, file: "test.labels")
    static let public_ = Label(classification: 0)
    static let secretFinance = Label(classification: 20, compartments: CompartmentSet([0]))

    /// web01 (the sample flow's guest, on source web01-vnet0) is SECRET FINANCE; a guest
    /// "hr01" owning 10.0.9.0/24 is SECRET HR.
    static let labels = LabelAssignment(encodings: encodings, sources: [
        .init(name: "web01-vnet0", guest: "web01", label: secretFinance, addresses: [AddressBlock("10.0.0.5/32")!]),
        .init(name: "hr01-vnet1", guest: "hr01", label: Label(classification: 20, compartments: CompartmentSet([1])),
              addresses: [AddressBlock("10.0.9.0/24")!]),
    ], ports: [])

    func appliance(_ name: String, clearance: Label?) -> ApplianceAccess {
        ApplianceAccess(name: name, tokenDigest: TokenDigest(token: "stp_\(name)"), actions: [.cut, .block, .readFlows],
                        scope: AccessScope(networks: [try! CIDR(parsing: "10.0.0.0/16")]), clearance: clearance)
    }

    @Test func policyComparesClearanceWithTheFlowLabel() throws {
        let policy = try AccessPolicy(appliances: [
            appliance("low", clearance: nil), appliance("fin", clearance: Self.secretFinance),
            appliance("all", clearance: Self.encodings.highest),
        ], labels: Self.labels)
        let flow = ScopeFacts(flow: FlowSamples.web())
        #expect(flow.source == "web01-vnet0")
        let low = policy.authorize(policy.appliances[0], action: .cut, scope: flow)
        #expect(low?.status == 403)
        #expect(low?.reason == .notCleared(appliance: "low", label: "SECRET FINANCE", clearance: "PUBLIC"))
        #expect(low?.description.contains("not cleared") == true)
        #expect(policy.authorize(policy.appliances[1], action: .cut, scope: flow) == nil)
        // A flow between web01 and hr01 carries SECRET FINANCE HR: only "all" may cut it.
        let between = ScopeFacts(guest: "web01", addresses: [IPAddress("10.0.0.5")!, IPAddress("10.0.9.7")!], source: "web01-vnet0")
        #expect(policy.authorize(policy.appliances[1], action: .cut, scope: between)?.status == 403)
        #expect(policy.authorize(policy.appliances[2], action: .cut, scope: between) == nil)
        // A block of a network containing hr01's addresses carries hr01's label.
        let network = ScopeFacts(guest: nil, addresses: [IPAddress("10.0.8.0")!], network: try CIDR(parsing: "10.0.8.0/23"))
        #expect(policy.authorize(policy.appliances[1], action: .block, scope: network)?.status == 403)
        #expect(policy.authorize(policy.appliances[2], action: .block, scope: network) == nil)
        // Actions on no flow (stats) need no clearance; without labels nothing changes.
        #expect(policy.authorize(policy.appliances[0], action: .cut) == nil)
        let unlabelled = try AccessPolicy(appliances: [appliance("low", clearance: nil)])
        #expect(unlabelled.authorize(unlabelled.appliances[0], action: .cut, scope: flow) == nil)
    }

    @Test(.timeLimit(.minutes(3))) func aCutAboveTheClearanceIs403AndAudited() async throws {
        let certificates = try ApplianceChannelTests.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let lowToken = TokenDigest.newToken(), finToken = TokenDigest.newToken()
        let scope = AccessScope(networks: [try CIDR(parsing: "10.0.0.0/16")])
        let access = try AccessPolicy(appliances: [
            ApplianceAccess(name: "low", tokenDigest: TokenDigest(token: lowToken), actions: [.cut, .block], scope: scope,
                            clearance: Self.public_),
            ApplianceAccess(name: "fin", tokenDigest: TokenDigest(token: finToken), actions: [.cut, .block], scope: scope,
                            clearance: Self.secretFinance),
        ], labels: Self.labels)
        let lab = ControlLab(tag: "clear", access: access)
        let port = ApplianceChannelTests.freePort()
        let tls = TLSListenerSettings(host: "127.0.0.1", port: port, certificatePath: certificates.serverCertificate,
                                      keyPath: certificates.serverKey, clientCAPath: certificates.ca)
        func client(_ token: String) -> ControlHTTPClient {
            ControlHTTPClient(endpoint: .https(host: "127.0.0.1", port: port, credentials: .init(token: token, serverCAPath: certificates.ca)),
                              timeout: .seconds(30))
        }
        let cut = jsonBody(["protocol": "tcp", "source": "10.0.0.5", "source_port": 43512, "destination": "10.0.1.9",
                            "destination_port": 443, "method": "reset"])
        try await lab.run(tls: tls) {
            let refused = try await client(lowToken).send(.POST, "/v1/cuts", json: cut)
            #expect(refused.status == 403, "\(String(decoding: refused.body, as: UTF8.self))")
            #expect(refused.errorMessage.contains("not cleared"))
            let allowed = try await client(finToken).send(.POST, "/v1/cuts", json: cut)
            #expect(allowed.status == 201, "\(String(decoding: allowed.body, as: UTF8.self))")
        }
        let requests = lab.audit.all.filter { $0.kind == "request" && $0.path == "/v1/cuts" }
        let denied = try #require(requests.first { $0.appliance == "low" })
        #expect(denied.status == 403 && denied.outcome == "denied")
        #expect(denied.reason?.contains("not cleared") == true)
        #expect(denied.reason?.contains("SECRET FINANCE") == true && denied.reason?.contains("PUBLIC") == true)
        #expect(requests.contains { $0.appliance == "fin" && $0.status == 201 })
        // The refused cut never reached the cut service.
        #expect(lab.audit.all.filter { $0.kind == "cut" }.count == 1)
    }
}
