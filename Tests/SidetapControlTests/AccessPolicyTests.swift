import SidetapControl
import SidetapCore
import SidetapTestKit
import Testing

private func address(_ text: String) -> IPAddress { IPAddress(text)! }
private func cidr(_ text: String) throws -> CIDR { try CIDR(parsing: text) }

@Suite struct AccessScopeTests {
    @Test func ipv4NetworksContainTheirAddresses() throws {
        let network = try cidr("10.77.9.0/24")
        #expect(network.description == "10.77.9.0/24")
        #expect(network.contains(address("10.77.9.0")))
        #expect(network.contains(address("10.77.9.255")))
        #expect(!network.contains(address("10.77.10.1")))
        #expect(!network.contains(address("::ffff:10.77.8.1")))
        #expect(!network.contains(address("fd77::1")))
        #expect(try cidr("0.0.0.0/0").contains(address("192.0.2.1")))
        #expect(try !cidr("0.0.0.0/0").contains(address("2001:db8::1")))
        #expect(try cidr("192.0.2.7").contains(address("192.0.2.7")))
        #expect(try !cidr("192.0.2.7").contains(address("192.0.2.6")))
        #expect(try cidr("192.0.2.7").prefixLength == 32)
    }

    @Test func ipv6NetworksContainTheirAddresses() throws {
        let network = try cidr("fd77::/64")
        #expect(network.contains(address("fd77::1")))
        #expect(network.contains(address("fd77::ffff:ffff:ffff:ffff")))
        #expect(!network.contains(address("fd77:0:0:1::1")))
        #expect(!network.contains(address("10.77.9.1")))
        #expect(try cidr("fd76::/15").contains(address("fd77::1")))
        #expect(try !cidr("fd77::/16").contains(address("fd76::1")))
        #expect(try cidr("2001:db8::1/128").contains(address("2001:db8::1")))
        #expect(try cidr("::/0").contains(address("10.0.0.1")))
    }

    @Test(arguments: [
        ("10.0.0.1/8", "host bits set (did you mean 10.0.0.0/8?)"),
        ("10.0.0.0/33", "prefix length outside 0–32"),
        ("fd77::/129", "prefix length outside 0–128"),
        ("10.0.0.0/", "prefix length outside"),
        ("10.0.0.0/+8", "prefix length outside"),
        ("10.0.0/8", "not an IPv4 or IPv6 address"),
        ("guest-a", "not an IPv4 or IPv6 address"),
        ("10.0.0.0/8/8", "not an IPv4 or IPv6 address"),
        ("fd77::1/64", "host bits set"),
    ])
    func badNetworksNameTheProblem(text: String, expected: String) {
        do {
            _ = try CIDR(parsing: text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test func scopeCoversListedGuestsOrAnyEndpointInANetwork() throws {
        let scope = AccessScope(guests: ["web-1"], networks: [try cidr("10.77.9.0/24"), try cidr("fd77::/64")])
        #expect(scope.covers(guest: "web-1", addresses: [address("192.0.2.1"), address("192.0.2.2")]))
        #expect(scope.covers(guest: "db-1", addresses: [address("10.77.9.5"), address("192.0.2.2")]))
        #expect(scope.covers(guest: nil, addresses: [address("192.0.2.2"), address("10.77.9.5")]))
        #expect(scope.covers(guest: nil, addresses: [address("2001:db8::1"), address("fd77::5")]))
        #expect(!scope.covers(guest: "db-1", addresses: [address("192.0.2.1"), address("192.0.2.2")]))
        #expect(!scope.covers(guest: nil, addresses: [address("2001:db8::1"), address("fd77:1::5")]))
        #expect(!scope.covers(guest: nil, addresses: []))
    }

    @Test func emptyScopeCoversNothing() {
        let scope = AccessScope()
        #expect(scope.isEmpty)
        #expect(!scope.covers(guest: "web-1", addresses: [address("10.0.0.1")]))
        #expect(!scope.covers(guest: nil, addresses: [address("::")]))
    }
}

/// Two appliances: a SIEM that may cut and read in 10.77.9.0/24, and a reader.
private struct Fixture {
    let clock = ManualTimeSource()
    let siemToken = TokenDigest.newToken()
    let readerToken = TokenDigest.newToken()
    let certificate = String(repeating: "ab", count: 32)
    let policy: AccessPolicy

    init(siemRate: RateLimit = .standard, siemCertificate: Bool = false) throws {
        let siem = ApplianceAccess(
            name: "siem", tokenDigest: TokenDigest(token: siemToken),
            certificateSHA256: siemCertificate ? certificate.uppercased() : nil,
            actions: [.cut, .readFlows, .readStats],
            scope: AccessScope(guests: ["web-1"], networks: [try CIDR(parsing: "10.77.9.0/24")]),
            mode: .learning, rateLimit: siemRate)
        let reader = ApplianceAccess(
            name: "reader", tokenDigest: TokenDigest(token: readerToken),
            actions: [.readStats], scope: AccessScope(), mode: .enforcing)
        policy = try AccessPolicy(appliances: [siem, reader], clock: clock)
    }

    func authenticated(_ token: String) throws -> ApplianceAccess {
        try policy.authenticate(authorization: "Bearer \(token)").get()
    }
}

@Suite struct AccessPolicyTests {
    @Test func tokensAuthenticateTheirAppliance() throws {
        let fixture = try Fixture()
        #expect(try fixture.authenticated(fixture.siemToken).name == "siem")
        #expect(try fixture.authenticated(fixture.readerToken).name == "reader")
    }

    @Test func unknownAndMissingTokensAre401WithoutSayingWhich() throws {
        let fixture = try Fixture()
        let wrong = fixture.policy.authenticate(authorization: "Bearer \(TokenDigest.newToken())")
        let nearMiss = fixture.policy.authenticate(authorization: "Bearer \(fixture.siemToken)x")
        let missing = fixture.policy.authenticate(authorization: nil)
        for result in [wrong, nearMiss, missing] {
            guard case .failure(let denial) = result else {
                Issue.record("authenticated without a valid token")
                continue
            }
            #expect(denial.status == 401)
            #expect(denial.headers.contains { $0.name == "WWW-Authenticate" })
        }
        guard case .failure(let a) = wrong, case .failure(let b) = nearMiss, case .failure(let c) = missing else { return }
        #expect(a.message == b.message)
        #expect(a.message == "invalid credentials")
        #expect(c.reason == .missingToken)
    }

    @Test func certificateBoundApplianceNeedsItsCertificate() throws {
        let fixture = try Fixture(siemCertificate: true)
        let header = "Bearer \(fixture.siemToken)"
        #expect(try fixture.policy.authenticate(authorization: header, certificateSHA256: fixture.certificate).get().name == "siem")
        for presented in [nil, String(repeating: "cd", count: 32), "ab"] {
            guard case .failure(let denial) = fixture.policy.authenticate(authorization: header, certificateSHA256: presented) else {
                Issue.record("certificate \(presented ?? "none") accepted")
                continue
            }
            #expect(denial.status == 401)
            #expect(denial.message == "invalid credentials")
            #expect(denial.reason == .certificateMismatch(appliance: "siem"))
        }
        // An appliance without a bound certificate ignores one.
        #expect(try fixture.policy.authenticate(authorization: "Bearer \(fixture.readerToken)", certificateSHA256: fixture.certificate).get().name == "reader")
    }

    @Test func actionMatrix() throws {
        let fixture = try Fixture()
        let siem = try fixture.authenticated(fixture.siemToken)
        let reader = try fixture.authenticated(fixture.readerToken)
        let expected: [String: Set<AccessAction>] = ["siem": [.cut, .readFlows, .readStats], "reader": [.readStats]]
        for appliance in [siem, reader] {
            for action in AccessAction.allCases {
                let denial = fixture.policy.authorize(appliance, action: action)
                if expected[appliance.name]!.contains(action) {
                    #expect(denial == nil, "\(appliance.name) \(action)")
                } else {
                    #expect(denial?.status == 403, "\(appliance.name) \(action)")
                    #expect(denial?.reason == .actionNotAllowed(appliance: appliance.name, action: action))
                }
            }
        }
        let inScope = ScopeFacts(guest: nil, addresses: [address("10.77.9.3"), address("192.0.2.1")])
        #expect(fixture.policy.authorize(siem, actions: AccessAction.required(for: .reset), scope: inScope) == nil)
        #expect(fixture.policy.authorize(siem, actions: AccessAction.required(for: .block), scope: inScope)?.reason
                == .actionNotAllowed(appliance: "siem", action: .block))
        #expect(fixture.policy.authorize(siem, actions: AccessAction.required(for: .both), scope: inScope)?.reason
                == .actionNotAllowed(appliance: "siem", action: .block))
        #expect(AccessAction.required(for: .both) == [.cut, .block])
        #expect(AccessAction(rawValue: "read_flows") == .readFlows)
    }

    @Test func scopeIsChecked() throws {
        let fixture = try Fixture()
        let siem = try fixture.authenticated(fixture.siemToken)
        let outside = ScopeFacts(guest: "db-1", addresses: [address("192.0.2.1"), address("192.0.2.2")])
        let denial = fixture.policy.authorize(siem, action: .cut, scope: outside)
        #expect(denial?.status == 403)
        #expect(denial?.reason == .outOfScope(appliance: "siem"))
        #expect(fixture.policy.authorize(siem, action: .cut, scope: ScopeFacts(guest: "web-1", addresses: [address("192.0.2.1")])) == nil)
        #expect(fixture.policy.authorize(siem, action: .cut, scope: ScopeFacts(guest: nil, addresses: [address("10.77.9.200")])) == nil)
        // The action is checked before the scope.
        let reader = try fixture.authenticated(fixture.readerToken)
        #expect(fixture.policy.authorize(reader, action: .cut, scope: outside)?.reason == .actionNotAllowed(appliance: "reader", action: .cut))
    }

    @Test func rateLimiterBurstsThenRefusesThenRecovers() throws {
        let fixture = try Fixture(siemRate: try RateLimit(requestsPerSecond: 2, burst: 5))
        let siem = try fixture.authenticated(fixture.siemToken)
        for request in 1...5 {
            #expect(fixture.policy.admit(siem) == nil, "request \(request)")
        }
        let denial = fixture.policy.admit(siem)
        #expect(denial?.status == 429)
        #expect(denial?.message == "too many requests, retry after 1 s")
        #expect(denial?.headers.first?.name == "Retry-After")
        #expect(denial?.headers.first?.value == "1")
        // Another appliance has its own bucket.
        #expect(fixture.policy.admit(try fixture.authenticated(fixture.readerToken)) == nil)
        fixture.clock.advance(seconds: 0.5)
        #expect(fixture.policy.admit(siem) == nil)
        #expect(fixture.policy.admit(siem)?.status == 429)
        // A long pause refills only up to the burst.
        fixture.clock.advance(seconds: 60)
        for _ in 1...5 { #expect(fixture.policy.admit(siem) == nil) }
        #expect(fixture.policy.admit(siem)?.status == 429)
    }

    @Test func retryAfterCoversASlowRate() throws {
        var bucket = try RateLimit(requestsPerSecond: 0.25, burst: 1).makeBucket(nowNanos: 0)
        #expect(bucket.takeRequest(nowNanos: 0) == nil)
        #expect(bucket.takeRequest(nowNanos: 0) == 4)
        #expect(bucket.takeRequest(nowNanos: 1_000_000_000) == 3)
        #expect(bucket.takeRequest(nowNanos: 3_500_000_000) == 1)
        #expect(bucket.takeRequest(nowNanos: 4_000_000_000) == nil)
    }

    @Test func invalidConfigurationsAreRefused() throws {
        #expect(throws: AccessConfigurationError.self) { try RateLimit(requestsPerSecond: 0, burst: 1) }
        #expect(throws: AccessConfigurationError.self) { try RateLimit(requestsPerSecond: .infinity, burst: 1) }
        #expect(throws: AccessConfigurationError.self) { try RateLimit(requestsPerSecond: 1, burst: 0) }
        let one = ApplianceAccess(name: "a", tokenDigest: TokenDigest(token: "x"), actions: [], scope: AccessScope())
        #expect(throws: AccessConfigurationError.duplicateName("a")) { try AccessPolicy(appliances: [one, one]) }
        var unnamed = one
        unnamed.name = ""
        #expect(throws: AccessConfigurationError.emptyName) { try AccessPolicy(appliances: [unnamed]) }
        var badCertificate = one
        badCertificate.certificateSHA256 = "abc"
        #expect(throws: AccessConfigurationError.badCertificateFingerprint(name: "a")) { try AccessPolicy(appliances: [badCertificate]) }
    }

    @Test func modeSwitchesAreSeenByLaterAuthentications() throws {
        let fixture = try Fixture()
        #expect(try fixture.authenticated(fixture.siemToken).mode == .learning)
        #expect(fixture.policy.setMode("siem", .enforcing) == .learning)
        #expect(try fixture.authenticated(fixture.siemToken).mode == .enforcing)
        #expect(fixture.policy.mode(of: "reader") == .enforcing)
        #expect(fixture.policy.setMode("nobody", .enforcing) == nil)
        #expect(fixture.policy.mode(of: "nobody") == nil)
    }

    @Test func modeSwitchesUnderConcurrency() async throws {
        let fixture = try Fixture()
        let policy = fixture.policy
        // Each task flips the mode and reads it back many times; every previous mode returned
        // must be a real mode, and the count of switches to enforcing that found learning
        // must balance the switches back.
        let flips = await withTaskGroup(of: Int.self) { group in
            for task in 0..<16 {
                group.addTask {
                    var changed = 0
                    for round in 0..<500 {
                        let target: ApplianceMode = (task + round) % 2 == 0 ? .enforcing : .learning
                        if let previous = policy.setMode("siem", target), previous != target { changed += 1 }
                        _ = policy.mode(of: "siem")
                    }
                    return changed
                }
            }
            return await group.reduce(0, +)
        }
        #expect(flips > 0)
        // Start learning; every real change alternates, so the final mode follows the parity.
        let final = policy.mode(of: "siem")
        #expect(final == (flips % 2 == 0 ? .learning : .enforcing))
        #expect(policy.mode(of: "reader") == .enforcing)
    }
}
