import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// The operator routes: submit, history, one command, logs, cancel, nodes, revoke.
struct OperatorController: Sendable {
    let auth: Authenticator
    let nodes: NodeStore
    let queue: CommandQueue
    let logs: LogChunkStore
    let artifacts: ArtifactStore
    let notifier: ChangeNotifier
    let metrics: ServiceMetrics
    let maxWaitSeconds: Int
    let maxBodyBytes: Int

    func addRoutes(to router: Router<FleetRequestContext>) {
        router.post("/v1/commands/submit") { request, context in try await submit(request, context) }
        router.get("/v1/commands") { request, context in try await listCommands(request, context) }
        router.get("/v1/commands/{id}") { request, context in try await getCommand(request, context) }
        router.get("/v1/commands/{id}/logs") { request, context in try await readLogs(request, context) }
        router.post("/v1/commands/{id}/cancel") { request, context in try await cancel(request, context) }
        router.get("/v1/agents") { request, context in try await listNodes(request, context) }
        router.get("/v1/agents/{id}") { request, context in try await getNode(request, context) }
        router.post("/v1/agents/{id}/revoke") { request, context in try await revoke(request, context) }
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    func submit(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<SubmitCommandResponse> {
        let actor = try await auth.requireOperator(request, context)
        let body = try await request.decodeJSON(SubmitCommandRequest.self, limit: maxBodyBytes)
        if case .updateAgent(let update) = body.payload { try await checkArtifactReference(update) }
        let key = request.headers[Self.idempotencyKey]
        if let key, !IdempotencyKey.isValid(key) { throw QueueError.invalidIdempotencyKey }
        let (response, replayed) = try await queue.submit(body, actor: actor.name, idempotencyKey: key)
        if replayed {
            context.logger.info("submit replayed by its idempotency key", metadata: ["command_id": "\(response.commandId)"])
            return JSONBody(response, status: .ok)
        }
        metrics.submits.increment()
        context.logger.info(
            "command submitted",
            metadata: ["command_id": "\(response.commandId)", "targets": "\(response.targets.count)", "by": "\(actor.name)"])
        return JSONBody(response, status: .created)
    }

    /// An UpdateAgent naming an artifact must match it, so a typo fails here and not on every node.
    func checkArtifactReference(_ update: UpdateAgentPayload) async throws {
        guard let id = update.artifactId, FleetValidation.isValidLabel(id) else { return }
        guard let artifact = try await artifacts.info(artifactId: id) else {
            throw HTTPAPIError.badRequest("payload.artifact_id: no artifact '\(id)'", code: "invalid_payload")
        }
        guard artifact.sha256 == update.sha256.lowercased() else {
            throw HTTPAPIError.badRequest(
                "payload.sha256 does not match artifact '\(id)' (sha256 \(artifact.sha256))", code: "invalid_payload")
        }
        guard artifact.version == update.version else {
            throw HTTPAPIError.badRequest(
                "payload.version '\(update.version)' does not match artifact '\(id)' (version \(artifact.version))",
                code: "invalid_payload")
        }
    }

    func listCommands(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<CommandListResponse> {
        _ = try await auth.requireOperator(request, context)
        let limit = try request.queryInt("limit", in: 1...500) ?? 50
        let cursor = request.uri.queryParameters.get("cursor").flatMap { $0.isEmpty ? nil : $0 }
        return JSONBody(try await queue.list(cursor: cursor, limit: limit))
    }

    func getCommand(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<CommandDetail> {
        _ = try await auth.requireOperator(request, context)
        let id = try Self.commandId(context)
        let limit = try request.queryInt("limit", in: 1...CommandQueue.maxInvocationPage) ?? 200
        let cursor = request.uri.queryParameters.get("cursor").flatMap { $0.isEmpty ? nil : $0 }
        let state = try request.uri.queryParameters.get("state").map { text throws(QueueError) in
            guard let state = InvocationState(rawValue: text) else { throw .unknownState(text) }
            return state
        }
        guard let detail = try await queue.detail(commandId: id, cursor: cursor, limit: limit, state: state) else {
            throw HTTPAPIError.notFound("no command \(id.uuidString)")
        }
        return JSONBody(detail)
    }

    /// Chunks after the cursor; with `wait`, holds the request until new output or completion.
    func readLogs(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<LogPage> {
        _ = try await auth.requireOperator(request, context)
        let id = try Self.commandId(context)
        let nodeId = request.uri.queryParameters["node_id"].map(String.init)
        if let nodeId, !FleetValidation.isValidNodeId(nodeId) {
            throw HTTPAPIError.badRequest("node_id is not a valid node id", code: "invalid_node_id")
        }
        let cursor = try LogCursor(parsing: request.uri.queryParameters["cursor"].map(String.init))
        let limit = try request.queryInt("limit", in: 1...1000) ?? 256
        let wait = min(try request.queryInt("wait", in: 0...3600) ?? 0, maxWaitSeconds)
        let page = try await notifier.longPoll(key: "logs:\(id.uuidString)", wait: .seconds(wait)) {
            guard let page = try await logs.read(commandId: id, nodeId: nodeId, cursor: cursor, limit: limit) else {
                throw HTTPAPIError.notFound("no command \(id.uuidString)")
            }
            return (page, !page.chunks.isEmpty || page.complete)
        }
        return JSONBody(page)
    }

    func cancel(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<CancelResponse> {
        let actor = try await auth.requireOperator(request, context)
        let id = try Self.commandId(context)
        guard let response = try await queue.cancel(commandId: id, actor: actor.name) else {
            throw HTTPAPIError.notFound("no command \(id.uuidString)")
        }
        context.logger.info("command cancelled", metadata: ["command_id": "\(id)", "by": "\(actor.name)"])
        return JSONBody(response)
    }

    func listNodes(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<NodeListResponse> {
        _ = try await auth.requireOperator(request, context)
        let limit = try request.queryInt("limit", in: 1...10_000) ?? 1000
        let cursor = request.uri.queryParameters.get("cursor").flatMap { $0.isEmpty ? nil : $0 }
        if let cursor, !FleetValidation.isValidNodeId(cursor) {
            throw HTTPAPIError.badRequest("cursor is not a cursor this API returned", code: "invalid_cursor")
        }
        let selector = try request.uri.queryParameters.get("selector").map { text throws(QueueError) in
            try NodeSelector(operatorText: text)
        }
        return JSONBody(try await nodes.list(after: cursor, limit: limit, selector: selector))
    }

    func getNode(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<NodeInfo> {
        _ = try await auth.requireOperator(request, context)
        let id = try Self.nodeId(context)
        guard let node = try await nodes.get(nodeId: id) else { throw HTTPAPIError.notFound("no node '\(id)'") }
        return JSONBody(node)
    }

    func revoke(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<RevokeResponse> {
        let actor = try await auth.requireOperator(request, context)
        let id = try Self.nodeId(context)
        guard let response = try await nodes.revoke(nodeId: id, actor: actor.name) else { throw HTTPAPIError.notFound("no node '\(id)'") }
        context.logger.notice("node revoked", metadata: ["node_id": "\(id)", "by": "\(actor.name)"])
        return JSONBody(response)
    }

    static func commandId(_ context: FleetRequestContext) throws -> UUID {
        guard let text = context.pathId, let id = UUID(uuidString: text) else {
            throw HTTPAPIError.badRequest("command id must be a UUID", code: "invalid_command_id")
        }
        return id
    }

    static func nodeId(_ context: FleetRequestContext) throws -> String {
        guard let id = context.pathId, FleetValidation.isValidNodeId(id) else {
            throw HTTPAPIError.badRequest("node id is not valid", code: "invalid_node_id")
        }
        return id
    }
}
