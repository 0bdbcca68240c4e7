import Foundation
import Hummingbird
import Logging
import NIOCore
import SidetapCore

/// The control API's routes, shared by the Unix-socket (administration) and TLS (appliance)
/// listeners; `AccessMiddleware` in front of them decides who is asking.
///
/// | route | action |
/// |---|---|
/// | `GET /v1/health` | any authenticated caller |
/// | `GET /v1/stats`, `GET /v1/ports`, `GET /metrics`, `GET /v1/events` | read_stats |
/// | `GET /v1/flows` | read_flows (an appliance sees only flows in its scope) |
/// | `POST /v1/cuts` | cut (reset), block (block), both (both) — within scope |
/// | `GET /v1/cuts`, `GET /v1/cuts/{id}` | the cut's requester or the administrator |
/// | `DELETE /v1/cuts/{id}` | block, and the cut's requester or the administrator |
/// | `POST /v1/reload` | reload |
/// | `GET /v1/appliances`, `PUT /v1/appliances/{name}/mode` | administrator only |
public struct ControlAPI: Sendable {
    public var version: String
    public var statistics: @Sendable () -> EngineStatistics
    public var flows: @Sendable () -> [any FlowLookup]
    public var cuts: CutService
    public var events: EventHub
    /// The appliance policy (a reload replaces it).
    public let accessHolder: AccessHolder
    public var access: AccessPolicy { accessHolder.current }
    public var audit: any AuditSink
    /// Re-reads config and rules and applies them; nil when this process cannot reload.
    public var reload: (@Sendable () async -> ReloadOutcome)?
    /// The Prometheus text exposition of every metric.
    public var metrics: @Sendable () async -> String
    public var logger: Logger
    let started = Date()

    public init(version: String, statistics: @escaping @Sendable () -> EngineStatistics, flows: @escaping @Sendable () -> [any FlowLookup],
                cuts: CutService, events: EventHub, access: AccessHolder, audit: any AuditSink,
                reload: (@Sendable () async -> ReloadOutcome)?, metrics: @escaping @Sendable () async -> String, logger: Logger) {
        self.version = version
        self.statistics = statistics
        self.flows = flows
        self.cuts = cuts
        self.events = events
        self.accessHolder = access
        self.audit = audit
        self.reload = reload
        self.metrics = metrics
        self.logger = logger
    }

    /// The router for one listener.
    public func makeRouter(channel: AccessMiddleware.Channel) -> Router<ControlRequestContext> {
        let router = Router(context: ControlRequestContext.self)
        router.add(middleware: AccessMiddleware(channel: channel, access: accessHolder, audit: audit, logger: logger))
        let api = self

        router.get("v1/health") { _, _ -> Health in
            Health(status: "ok", version: api.version, uptimeSeconds: Date().timeIntervalSince(api.started))
        }
        router.get("v1/stats") { _, context -> StatsResponse in
            try api.require(context, [.readStats])
            return StatsResponse(statistics: api.statistics())
        }
        router.get("v1/ports") { _, context -> PortList in
            try api.require(context, [.readStats])
            return PortList(ports: api.statistics().ports)
        }
        router.get("metrics") { _, context -> Response in
            try api.require(context, [.readStats])
            let text = await api.metrics()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("v1/events") { _, context -> Response in
            try api.require(context, [.readStats])
            return api.eventStream()
        }
        router.get("v1/flows") { request, context -> FlowList in
            try api.require(context, [.readFlows])
            let query = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
            let filter: FlowFilter
            switch FlowFilter.parse(query) {
            case .success(let parsed): filter = parsed
            case .failure(let problem): throw APIError.badRequest(problem.description)
            }
            return api.listFlows(filter, for: context.who)
        }
        router.post("v1/cuts") { request, context -> Response in
            try await api.createCut(request, context)
        }
        router.get("v1/cuts") { _, context -> CutList in
            let who = context.who
            let all = await api.cuts.list()
            return CutList(cuts: who.administrator ? all : all.filter { $0.requestedBy == who.name })
        }
        router.get("v1/cuts/:id") { _, context -> CutRecord in
            let id = try context.parameters.require("id")
            guard let record = await api.cuts.record(id), context.who.administrator || record.requestedBy == context.who.name else {
                throw APIError.notFound("no cut with id '\(id)'")
            }
            return record
        }
        router.delete("v1/cuts/:id") { _, context -> CutRecord in
            let id = try context.parameters.require("id")
            try api.require(context, [.block])
            guard let record = await api.cuts.record(id), context.who.administrator || record.requestedBy == context.who.name else {
                throw APIError.notFound("no cut with id '\(id)'")
            }
            context.notes.set(cut: id, target: "\(CutService.target(of: record).map { "\($0)" } ?? "?")")
            do {
                return try await api.cuts.cancel(id, by: context.who.name)
            } catch let failure as CutFailure {
                throw APIError(HTTPResponse.Status(code: failure.status), failure.description)
            }
        }
        router.post("v1/reload") { _, context -> ReloadOutcome in
            try api.require(context, [.reload])
            guard let reload = api.reload else {
                throw APIError(.serviceUnavailable, "this Sidetap was started without a config file to reload")
            }
            let outcome = await reload()
            context.notes.set(reason: outcome.message)
            guard outcome.applied else { throw APIError(.unprocessableContent, outcome.message + ": " + outcome.errors.joined(separator: "; ")) }
            return outcome
        }
        router.get("v1/appliances") { _, context -> ApplianceList in
            try api.requireAdministrator(context)
            return ApplianceList(appliances: api.access.views())
        }
        router.put("v1/appliances/:name/mode") { request, context -> ApplianceView in
            try api.requireAdministrator(context)
            let name = try context.parameters.require("name")
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                  let mode = object["mode"] as? String, object.count == 1 else {
                throw APIError.badRequest("the body must be {\"mode\": \"learning\"} or {\"mode\": \"enforcing\"}")
            }
            guard mode == "learning" || mode == "enforcing" else {
                throw APIError.badRequest("'mode' must be learning or enforcing, got '\(mode)'")
            }
            guard api.access.setMode(name, mode == "learning" ? .learning : .enforcing) != nil else {
                throw APIError.notFound("no appliance named '\(name)'")
            }
            context.notes.set(target: "appliance \(name)", mode: mode)
            api.events.publish(ControlEvent(kind: "appliance", event: mode, subject: name, detail: "mode set to \(mode) by \(context.who.name)"))
            guard let view = api.access.views().first(where: { $0.name == name }) else { throw APIError.notFound("no appliance named '\(name)'") }
            return view
        }
        return router
    }

    // MARK: - Handlers

    func require(_ context: ControlRequestContext, _ actions: Set<AccessAction>, scope: ScopeFacts? = nil) throws {
        let who = context.who
        if who.administrator { return }
        guard let appliance = who.appliance else { throw APIError(.unauthorized, "authentication required") }
        if let denial = access.authorize(appliance, actions: actions, scope: scope) {
            context.notes.set(reason: denial.description)
            throw AccessMiddleware.error(for: denial)
        }
    }

    func requireAdministrator(_ context: ControlRequestContext) throws {
        guard context.who.administrator else {
            throw APIError(.forbidden, "only the administrator on the local control socket may do this")
        }
    }

    func listFlows(_ filter: FlowFilter, for who: Requester) -> FlowList {
        var found: [FlowSnapshot] = []
        for table in flows() {
            found += table.snapshots(limit: filter.limit) { flow in
                guard filter.matches(flow) else { return false }
                if who.administrator { return true }
                guard let appliance = who.appliance else { return false }
                return access.authorize(appliance, action: .readFlows, scope: ScopeFacts(flow: flow)) == nil
            }
        }
        found.sort { $0.lastSeenNanos > $1.lastSeenNanos }
        let total = found.count
        return FlowList(flows: found.prefix(filter.limit).map(FlowView.init), truncated: total > filter.limit)
    }

    func createCut(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let settings = cuts.settings
        let cut: CutRequest
        switch CutRequest.parse(Data(body.readableBytesView), defaultTTL: settings.defaultTTL, maximumTTL: settings.maximumTTL) {
        case .success(let parsed): cut = parsed
        case .failure(let problem): throw APIError.badRequest(problem.description)
        }
        context.notes.set(target: "\(cut.target)")
        var seen: FlowSnapshot?
        if case .flow(let tuple) = cut.target { seen = cuts.seenFlow(tuple) }
        var facts = ScopeFacts(guest: seen?.guest, addresses: cut.target.addresses, source: seen?.source.name)
        if case .network(let network) = cut.target { facts.network = network }
        try require(context, AccessAction.required(for: cut.method), scope: facts)
        let learning = context.who.appliance.map { (access.mode(of: $0.name) ?? $0.mode) == .learning } ?? false
        context.notes.set(mode: learning ? "learning" : "enforcing")
        do {
            let record = try await cuts.cut(cut, flow: seen, requestedBy: context.who.name, learning: learning)
            context.notes.set(cut: record.id)
            return try jsonResponse(record, status: .created)
        } catch let failure as CutFailure {
            throw APIError(HTTPResponse.Status(code: failure.status), failure.description)
        }
    }

    func eventStream() -> Response {
        let stream = events.subscribe()
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: ": sidetap events\n\n"))
            for await event in stream {
                try await writer.write(ByteBuffer(string: event.serverSentEvent))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// What a reload did.
public struct ReloadOutcome: ResponseCodable, Sendable, Hashable {
    public var applied: Bool
    public var message: String
    public var errors: [String]

    public init(applied: Bool, message: String, errors: [String] = []) {
        self.applied = applied
        self.message = message
        self.errors = errors
    }
}

/// `GET /v1/ports`.
public struct PortList: ResponseEncodable, Sendable {
    public var ports: [EngineStatistics.Port]
}

/// `GET /v1/flows`.
public struct FlowList: ResponseCodable, Sendable {
    public var flows: [FlowView]
    /// True when more flows matched than `limit`.
    public var truncated: Bool
}

/// `GET /v1/cuts`.
public struct CutList: ResponseEncodable, Sendable {
    public var cuts: [CutRecord]
}

/// `GET /v1/appliances`.
public struct ApplianceList: ResponseCodable, Sendable {
    public var appliances: [ApplianceView]
}

extension CutRecord: ResponseEncodable {}
extension ApplianceView: ResponseEncodable {}
