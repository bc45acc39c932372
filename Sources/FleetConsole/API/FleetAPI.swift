import FleetProtocol
import Foundation

/// The operator routes of agent-svc that the console uses: the seam between the console and
/// the network (an HTTP implementation in production, fakes in tests and benchmarks).
public protocol FleetAPI: Sendable {
    /// `GET /v1/agents`: one page of nodes ordered by id.
    func listNodes(limit: Int, cursor: String?) async throws(APIError) -> NodeListResponse
    /// `GET /v1/commands`: one page of the history, newest first.
    func listCommands(limit: Int, cursor: String?) async throws(APIError) -> CommandListResponse
    /// `GET /v1/commands/{id}`: a command and its invocations.
    func command(_ id: UUID) async throws(APIError) -> CommandDetail
    /// `GET /v1/commands/{id}/logs`: chunks after `cursor` (all targets when `nodeId` is nil).
    func logs(_ id: UUID, nodeId: String?, cursor: String?, limit: Int, wait: Int) async throws(APIError) -> LogPage
    /// `POST /v1/commands/submit`.
    func submit(_ request: SubmitCommandRequest) async throws(APIError) -> SubmitCommandResponse
    /// `POST /v1/commands/{id}/cancel`.
    func cancel(_ id: UUID) async throws(APIError) -> CancelResponse
    /// `POST /v1/agents/{id}/revoke`.
    func revoke(_ nodeId: String) async throws(APIError) -> RevokeResponse
    /// `GET /v1/artifacts`: uploaded artifacts (agent binaries for UpdateAgent), newest first.
    func artifacts() async throws(APIError) -> ArtifactList
}

extension FleetAPI {
    /// Every node, following `next_cursor` page by page.
    public func allNodes(pageSize: Int = 10_000) async throws(APIError) -> [NodeInfo] {
        var nodes: [NodeInfo] = []
        var cursor: String?
        repeat {
            let page = try await listNodes(limit: pageSize, cursor: cursor)
            nodes.append(contentsOf: page.nodes)
            cursor = page.nextCursor
        } while cursor != nil && !Task.isCancelled
        return nodes
    }
}

/// Why a call to agent-svc failed, phrased for the status line.
public enum APIError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server could not be reached (refused, timed out, DNS): retrying may help.
    case unreachable(String)
    /// The server answered with an error body.
    case server(status: Int, code: String, message: String)
    /// The answer was not what the API promises.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .unreachable(let why): "server unreachable: \(why)"
        case .server(let status, let code, let message): "\(status) \(code): \(message)"
        case .invalidResponse(let why): "bad response: \(why)"
        }
    }

    /// True when the failure is about the connection rather than the request.
    public var isConnectivity: Bool {
        switch self {
        case .unreachable: true
        case .server(let status, _, _): status == 502 || status == 503 || status == 504
        case .invalidResponse: false
        }
    }
}
