import Foundation
import NIOCore
import NIOHTTP1
import SidetapControl
import SidetapCore

/// Reads one `TopSnapshot` from a running Sidetap through the control client: `/v1/stats`
/// (required), and `/v1/health`, `/v1/cuts`, `/v1/appliances` (each left out when refused).
public struct TopFetcher: Sendable {
    public let client: ControlHTTPClient

    public init(client: ControlHTTPClient) {
        self.client = client
    }

    /// A fetcher for `endpoint` whose requests fail after `timeoutSeconds`.
    public init(endpoint: ControlEndpoint, timeoutSeconds: Double) {
        client = ControlHTTPClient(endpoint: endpoint, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
    }

    /// Why a refresh failed, in words for the header.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The four requests, at the same time; fails only when the statistics cannot be read.
    public func fetch() async -> Result<TopSnapshot, Failure> {
        async let stats = get("/v1/stats")
        async let health = get("/v1/health")
        async let cuts = get("/v1/cuts")
        async let appliances = get("/v1/appliances")
        let statsReply: ControlHTTPClient.Reply
        switch await stats {
        case .failure(let failure): return .failure(failure)
        case .success(let reply): statsReply = reply
        }
        guard statsReply.status == 200 else {
            let message = (try? JSONDecoder().decode(APIErrorBody.self, from: statsReply.body))?.error.message
                ?? String(decoding: statsReply.body.prefix(200), as: UTF8.self)
            return .failure(Failure(description: "GET /v1/stats: HTTP \(statsReply.status): \(message)"))
        }
        let statistics: EngineStatistics
        do {
            statistics = try JSONDecoder().decode(EngineStatistics.self, from: statsReply.body)
        } catch {
            return .failure(Failure(description: "GET /v1/stats: unexpected answer: \(error)"))
        }
        var snapshot = TopSnapshot(statistics: statistics)
        if case .success(let reply) = await health, reply.status == 200,
           let object = try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any] {
            snapshot.uptimeSeconds = object["uptimeSeconds"] as? Double
            snapshot.version = object["version"] as? String
        }
        if case .success(let reply) = await cuts, reply.status == 200 {
            snapshot.cuts = try? TopCut.decodeList(reply.body)
        }
        if case .success(let reply) = await appliances, reply.status == 200 {
            struct List: Decodable { var appliances: [TopAppliance] }
            snapshot.appliances = (try? JSONDecoder().decode(List.self, from: reply.body))?.appliances
        }
        return .success(snapshot)
    }

    private func get(_ target: String) async -> Result<ControlHTTPClient.Reply, Failure> {
        do {
            return .success(try await client.send(.GET, target))
        } catch {
            return .failure(Failure(description: error.description))
        }
    }
}
