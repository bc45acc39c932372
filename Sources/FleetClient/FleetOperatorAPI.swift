import FleetProtocol
import FleetSupport
import Foundation

/// Every operator route: what the console uses (``FleetAPI``) plus what scripts need on top —
/// node selectors, idempotent submits, artifact uploads and raw output.
public protocol FleetOperatorAPI: FleetAPI {
    /// `GET /v1/agents?selector=`: one page of the nodes the selector matches (every node when nil).
    func listNodes(selector: String?, limit: Int, cursor: String?) async throws(FleetAPIError) -> NodeListResponse
    /// `POST /v1/commands/submit` with an `Idempotency-Key`: the same key and body again within
    /// 24 h answers with the first command instead of queueing it twice.
    func submit(_ request: SubmitCommandRequest, idempotencyKey: String?) async throws(FleetAPIError) -> SubmitCommandResponse
    /// `POST /v1/artifacts`: the file at `path`, streamed from disk.
    func uploadArtifact(path: String, name: String, version: String) async throws(FleetAPIError) -> ArtifactInfo
    /// `GET /v1/commands/{id}/output`: one stream's bytes in order, handed to `sink` as they arrive.
    func output(
        _ id: UUID, nodeId: String, stream: LogStream, sink: @Sendable ([UInt8]) async -> Void
    ) async throws(FleetAPIError) -> OutputRead
    /// `GET /v1/operator-tokens` (admin): every recorded operator token, newest first.
    func operatorTokens() async throws(FleetAPIError) -> OperatorTokenList
    /// `POST /v1/operator-tokens/{jti}/revoke` (admin): the token stops working at once.
    func revokeOperatorToken(_ jti: String) async throws(FleetAPIError) -> OperatorTokenRevokeResponse
    /// `GET /v1/audit` (admin): one page of the audit trail, newest first.
    func audit(limit: Int, cursor: String?, actor: String?, action: String?) async throws(FleetAPIError) -> AuditPage
}

/// What a raw output read delivered.
public struct OutputRead: Hashable, Sendable {
    /// Bytes handed to the sink.
    public var bytes: Int64
    /// True when that is the whole stream; false for a prefix of output still being produced.
    public var complete: Bool

    public init(bytes: Int64, complete: Bool) {
        self.bytes = bytes
        self.complete = complete
    }
}

extension FleetOperatorAPI {
    /// Every node the selector matches, following `next_cursor`.
    public func allNodes(selector: String?, pageSize: Int = 10_000) async throws(FleetAPIError) -> [NodeInfo] {
        var nodes: [NodeInfo] = []
        var cursor: String?
        repeat {
            let page = try await listNodes(selector: selector, limit: pageSize, cursor: cursor)
            nodes.append(contentsOf: page.nodes)
            cursor = page.nextCursor
        } while cursor != nil && !Task.isCancelled
        return nodes
    }

    /// A command with every one of its invocations (all pages), in node order.
    public func fullCommand(_ id: UUID) async throws(FleetAPIError) -> CommandDetail {
        var detail = try await command(id, limit: 1000, cursor: nil, state: nil)
        while let next = detail.nextCursor, !Task.isCancelled {
            let page = try await command(id, limit: 1000, cursor: next, state: nil)
            detail.invocations += page.invocations
            detail.command = page.command
            detail.nextCursor = page.nextCursor
        }
        return detail
    }

    /// Submits under one idempotency key, sending again while the answer is lost (unreachable,
    /// a timeout, a 5xx): the key makes a repeat return the first command, so nothing runs twice.
    /// A refusal (4xx) is final and thrown at once.
    public func submitRetrying(
        _ request: SubmitCommandRequest, idempotencyKey: String, attempts: Int = 5,
        backoff: Backoff = Backoff(base: .milliseconds(500), cap: .seconds(5)), clock: any Clock<Duration>
    ) async throws(FleetAPIError) -> SubmitCommandResponse {
        var backoff = backoff
        var attempt = 1
        while true {
            do {
                return try await submit(request, idempotencyKey: idempotencyKey)
            } catch {
                guard attempt < attempts, case .retry = error.disposition else { throw error }
                attempt += 1
                do { try await clock.sleep(for: backoff.next()) } catch { throw .unreachable("cancelled while retrying submit") }
            }
        }
    }
}
