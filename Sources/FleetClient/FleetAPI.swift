import FleetProtocol
import FleetSupport
import Foundation

/// The operator routes of agent-svc that the console and the CLI use: the seam between them and
/// the network (an HTTP implementation in production, fakes in tests and benchmarks).
public protocol FleetAPI: Sendable {
    /// `GET /v1/agents`: one page of nodes ordered by id.
    func listNodes(limit: Int, cursor: String?) async throws(FleetAPIError) -> NodeListResponse
    /// `GET /v1/commands`: one page of the history, newest first.
    func listCommands(limit: Int, cursor: String?) async throws(FleetAPIError) -> CommandListResponse
    /// `GET /v1/commands/{id}`: a command, its counts, and one page of its invocations in node order
    /// (`limit` nil: the server's default; `state` nil: every state).
    func command(
        _ id: UUID, limit: Int?, cursor: String?, state: InvocationState?
    ) async throws(FleetAPIError)
        -> CommandDetail
    /// `GET /v1/commands/{id}/logs`: chunks after `cursor` (all targets when `nodeId` is nil).
    func logs(_ id: UUID, nodeId: String?, cursor: String?, limit: Int, wait: Int) async throws(FleetAPIError) -> LogPage
    /// `POST /v1/commands/submit`.
    func submit(_ request: SubmitCommandRequest) async throws(FleetAPIError) -> SubmitCommandResponse
    /// `POST /v1/commands/{id}/cancel`.
    func cancel(_ id: UUID) async throws(FleetAPIError) -> CancelResponse
    /// `POST /v1/agents/{id}/revoke`.
    func revoke(_ nodeId: String) async throws(FleetAPIError) -> RevokeResponse
    /// `GET /v1/artifacts`: uploaded artifacts (agent binaries for UpdateAgent), newest first.
    func artifacts() async throws(FleetAPIError) -> ArtifactList
    /// `GET /v1/me`: the token's operator name and role, so a client offers only what the role may do.
    func me() async throws(FleetAPIError) -> OperatorSelf
}

extension FleetAPI {
    /// A client that cannot say who it is: the console then hides nothing and leaves refusals to the server.
    public func me() async throws(FleetAPIError) -> OperatorSelf {
        throw .server(status: 404, code: "not_found", message: "this client does not know its role")
    }
}

extension FleetAPI {
    /// The page of invocations `request` names.
    public func command(_ request: InvocationPageRequest) async throws(FleetAPIError) -> CommandDetail {
        try await command(request.commandId, limit: request.limit, cursor: request.cursor, state: request.state)
    }

    /// Every node, following `next_cursor` page by page.
    public func allNodes(pageSize: Int = 10_000) async throws(FleetAPIError) -> [NodeInfo] {
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

/// Which invocations of a command to fetch: the page after `cursor` (nil: the first), of one state or all.
public struct InvocationPageRequest: Hashable, Sendable {
    /// Invocations per page the console asks for (the server's default; it allows up to 1000).
    public static let pageSize = 200

    /// The command.
    public var commandId: UUID
    /// The `next_cursor` of the page before, nil for the first page.
    public var cursor: String?
    /// Only invocations in this state (the Command view's waiting list asks for `queued`).
    public var state: InvocationState?
    /// At most this many invocations.
    public var limit: Int

    /// A page of `commandId`'s invocations after `cursor`.
    public init(commandId: UUID, cursor: String? = nil, state: InvocationState? = nil, limit: Int = pageSize) {
        self.commandId = commandId
        self.cursor = cursor
        self.state = state
        self.limit = limit
    }
}

/// Why a call to agent-svc failed, phrased for one line (the console's status line, the CLI's stderr).
public enum FleetAPIError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server could not be reached (refused, timed out, DNS): retrying may help.
    case unreachable(String)
    /// The server answered with an error body.
    case server(status: Int, code: String, message: String)
    /// The answer was not what the API promises.
    case invalidResponse(String)
    /// A local file the call was to send cannot be read.
    case unreadableFile(path: String, reason: String)
    /// The server's certificate did not verify (the line names host and reason): retrying
    /// will not change it.
    case untrusted(String)

    public var description: String {
        switch self {
        case .unreachable(let why): "server unreachable: \(why)"
        case .server(let status, let code, let message): "\(status) \(code): \(message)"
        case .invalidResponse(let why): "bad response: \(why)"
        case .unreadableFile(let path, let reason): "cannot read \(path): \(reason)"
        case .untrusted(let why): why
        }
    }
}

extension FleetAPIError: ClassifiedError {
    /// A 4xx other than 429 (too many requests) will be refused again: give up. Anything
    /// else (unreachable, 5xx, a garbled answer) may pass: retry.
    public var disposition: FailureDisposition {
        switch self {
        case .unreadableFile, .untrusted: return .giveUp
        default: break
        }
        guard case .server(let status, _, _) = self, (400..<500).contains(status), status != 429 else { return .retry }
        return .giveUp
    }
}
