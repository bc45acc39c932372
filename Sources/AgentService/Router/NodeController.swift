import FleetAuth
import FleetProtocol
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// The node-facing routes: long-poll, token refresh, status reports, log upload.
struct NodeController: Sendable {
    let auth: Authenticator
    let nodes: NodeStore
    let queue: CommandQueue
    let logs: LogChunkStore
    let notifier: ChangeNotifier
    let tokens: TokenAuthority
    let metrics: ServiceMetrics
    let tokenTTL: TimeInterval
    let maxWaitSeconds: Int
    let maxBodyBytes: Int

    func addRoutes(to router: Router<FleetRequestContext>) {
        router.post("/v1/agents/poll") { request, _ in try await poll(request) }
        router.post("/v1/agents/token") { request, _ in try await refresh(request) }
        router.post("/v1/agents/status") { request, _ in try await status(request) }
        router.post("/v1/commands/logs") { request, _ in try await upload(request) }
    }

    /// A check-in refused: the node was revoked (its token generation is old) or never registered.
    static let refusedToken = HTTPAPIError.unauthorized("token has been revoked or the node is not registered")

    /// Returns queued work at once, or holds the request until a NOTIFY for this node or the wait ends.
    func poll(_ request: Request) async throws -> JSONBody<PollResponse> {
        let claims = try await auth.nodeClaims(request)
        let nodeId = claims.subject
        let body = try await request.decodeJSON(PollRequest.self, limit: 1024 * 1024)
        if let wait = body.waitSec, wait < 0 { throw HTTPAPIError.badRequest("wait_sec must not be negative") }
        if let version = body.agentVersion, version.utf8.count > 64 { throw HTTPAPIError.badRequest("agent_version is too long") }
        let wait = min(body.waitSec ?? 0, maxWaitSeconds)
        metrics.connectedPollers.increment()
        defer { metrics.connectedPollers.decrement() }
        // The first attempt checks in (one round trip: token generation and revocation, last
        // seen, the agent's `active` list, the claim); attempts after a wake only claim.
        var attempt = CommandQueue.PollAttempt.checkIn(
            tokenVersion: claims.ver ?? -1, agentVersion: body.agentVersion, active: body.active)
        if body.leaving == true {
            // Checking in takes the next poll number, which retires any poll still held for the node.
            guard try await queue.claim(nodeId: nodeId, attempt, limit: 0) != nil else {
                throw Self.refusedToken
            }
            return JSONBody(PollResponse(assignments: [], cancel: []))
        }
        let response = try await notifier.longPoll(key: "work:\(nodeId)", wait: .seconds(wait)) {
            guard let (seq, response) = try await queue.claim(nodeId: nodeId, attempt) else {
                if case .checkIn = attempt { throw Self.refusedToken }
                // A newer poll of this node exists: this one was abandoned, answer it empty at once.
                return (PollResponse(assignments: [], cancel: []), true)
            }
            attempt = .again(pollSeq: seq)
            return (response, !response.assignments.isEmpty || !response.cancel.isEmpty)
        }
        return JSONBody(response)
    }

    /// A fresh token for the calling node, same generation.
    func refresh(_ request: Request) async throws -> JSONBody<NodeTokenResponse> {
        let node = try await auth.requireNode(request)
        let issued = try await tokens.issueNodeToken(nodeId: node.nodeId, version: node.tokenVersion, ttl: tokenTTL)
        return JSONBody(NodeTokenResponse(nodeId: node.nodeId, token: issued.token, expiresAt: issued.expiresAt))
    }

    /// A status report: the token's generation is checked by the statement that applies it.
    func status(_ request: Request) async throws -> JSONBody<StatusResponse> {
        let claims = try await auth.nodeClaims(request)
        let report = try await request.decodeJSON(StatusReport.self, limit: 64 * 1024)
        return JSONBody(try await queue.report(nodeId: claims.subject, tokenVersion: claims.ver ?? -1, report))
    }

    /// A log upload, JSON or binary (`application/octet-stream`, see ``BinaryChunkBatch``).
    func upload(_ request: Request) async throws -> JSONBody<UploadLogsResponse> {
        let node = try await auth.requireNode(request)
        if request.hasOctetStreamBody {
            let batch = try await request.decodeChunkBatch(limit: maxBodyBytes)
            return JSONBody(try await logs.ingest(nodeId: node.nodeId, commandId: batch.commandId, binary: batch.body, batch.frames))
        }
        let body = try await request.decodeJSON(UploadLogsRequest.self, limit: maxBodyBytes)
        return JSONBody(try await logs.ingest(nodeId: node.nodeId, body))
    }
}
