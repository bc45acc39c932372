import FleetProtocol
import Foundation

/// The node-facing calls of agent-svc, typed: encodes bodies, decodes answers, classifies errors.
public struct AgentAPI: Sendable {
    let transport: any AgentTransport
    /// Bound on calls that are not long polls.
    let requestTimeout: Duration
    /// Told whether each call reached the server (nil: nobody watches the link).
    let link: LinkMonitor?

    public init(transport: any AgentTransport, requestTimeout: Duration = .seconds(30), link: LinkMonitor? = nil) {
        self.transport = transport
        self.requestTimeout = requestTimeout
        self.link = link
    }

    /// `GET /healthz`: only to learn whether the server can be reached (any answer counts).
    public func probe(timeout: Duration) async {
        do {
            _ = try await transport.send(TransportRequest(method: .get, path: "/healthz"), timeout: timeout)
            link?.answered()
        } catch {
            link?.failed()
        }
    }

    /// `POST /v1/agents/register`; `currentToken` proves ownership when re-registering an existing id.
    public func register(
        _ body: RegisterRequest, enrollmentToken: String, currentToken: String? = nil
    ) async throws(AgentAPIError) -> NodeTokenResponse {
        var headers = ["X-Enrollment-Token": enrollmentToken]
        if let currentToken { headers["Authorization"] = "Bearer \(currentToken)" }
        return try await call(FleetPaths.register, body: body, headers: headers, timeout: requestTimeout)
    }

    /// `POST /v1/agents/token`: a fresh token for the node holding `token`.
    public func refreshToken(token: String) async throws(AgentAPIError) -> NodeTokenResponse {
        try await call(FleetPaths.refreshToken, body: EmptyBody(), headers: bearer(token), timeout: requestTimeout)
    }

    /// `POST /v1/agents/poll`: new assignments and cancellations, held up to `waitSec` by the server.
    public func poll(_ body: PollRequest, token: String) async throws(AgentAPIError) -> PollResponse {
        let wait = Duration.seconds(body.waitSec ?? 0)
        return try await call(FleetPaths.poll, body: body, headers: bearer(token), timeout: wait + requestTimeout)
    }

    /// `POST /v1/agents/status`: moves an invocation along its lifecycle.
    public func report(_ body: StatusReport, token: String) async throws(AgentAPIError) -> StatusResponse {
        try await call(FleetPaths.status, body: body, headers: bearer(token), timeout: requestTimeout)
    }

    /// `POST /v1/commands/logs`: uploads chunks; the answer has one receipt per chunk.
    public func uploadLogs(_ body: UploadLogsRequest, token: String) async throws(AgentAPIError) -> UploadLogsResponse {
        try await call(FleetPaths.uploadLogs, body: body, headers: bearer(token), timeout: requestTimeout + .seconds(30))
    }

    /// `POST /v1/commands/logs` with a binary batch (``BinaryChunkBatch``); the same answer.
    public func uploadLogs(binary body: Data, token: String) async throws(AgentAPIError) -> UploadLogsResponse {
        try await send(
            FleetPaths.uploadLogs, body: body, contentType: BinaryChunkBatch.contentType, headers: bearer(token),
            timeout: requestTimeout + .seconds(30))
    }

    private func bearer(_ token: String) -> [String: String] { ["Authorization": "Bearer \(token)"] }

    private func call<Body: Encodable, Response: Decodable>(
        _ path: String, body: Body, headers: [String: String], timeout: Duration
    ) async throws(AgentAPIError) -> Response {
        let data: Data
        do {
            data = try FleetJSON.makeEncoder().encode(body)
        } catch {
            throw .rejected(status: 0, message: "cannot encode request for \(path): \(error)")
        }
        return try await send(path, body: data, contentType: "application/json", headers: headers, timeout: timeout)
    }

    private func send<Response: Decodable>(
        _ path: String, body: Data, contentType: String, headers: [String: String], timeout: Duration
    ) async throws(AgentAPIError) -> Response {
        let response: TransportResponse
        do {
            response = try await transport.send(
                TransportRequest(method: .post, path: path, headers: headers, body: body, contentType: contentType), timeout: timeout)
        } catch {
            // A call cut short on purpose (a held poll at shutdown) says nothing about the link.
            if !Task.isCancelled { link?.failed() }
            throw .unavailable("\(path): \(error)")
        }
        link?.answered()
        let decoder = FleetJSON.makeDecoder()
        guard (200..<300).contains(response.status) else {
            throw AgentAPIError.from(status: response.status, body: try? decoder.decode(ErrorResponse.self, from: response.body))
        }
        do {
            return try decoder.decode(Response.self, from: response.body)
        } catch {
            throw .malformedResponse("\(path) answered \(response.status) with an unexpected body: \(error)")
        }
    }
}

/// `{}`: the body of calls that need none.
struct EmptyBody: Codable, Sendable {}
