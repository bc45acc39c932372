import AsyncHTTPClient
import FleetProtocol
import FleetTLS
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// ``FleetAPI`` over HTTP with AsyncHTTPClient and an operator bearer token.
public struct HTTPFleetAPI: FleetAPI {
    public let baseURL: String
    let token: String
    let client: HTTPClient
    /// Largest response body read (a page of logs is at most ~4 MiB; 10,000 nodes are ~3 MiB).
    let maxBody = 64 * 1024 * 1024

    /// `baseURL` like `http://127.0.0.1:8080`; `token` an operator JWT.
    public init(baseURL: String, token: String, client: HTTPClient) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.token = token
        self.client = client
    }

    public func listNodes(limit: Int, cursor: String?) async throws(FleetAPIError) -> NodeListResponse {
        try await listNodes(selector: nil, limit: limit, cursor: cursor)
    }

    public func listCommands(limit: Int, cursor: String?) async throws(FleetAPIError) -> CommandListResponse {
        try await get(FleetPaths.commands, query: [("limit", String(limit)), ("cursor", cursor)])
    }

    public func command(
        _ id: UUID, limit: Int?, cursor: String?, state: InvocationState?
    ) async throws(FleetAPIError)
        -> CommandDetail
    {
        try await get(
            FleetPaths.command(id.uuidString.lowercased()),
            query: [("limit", limit.map(String.init)), ("cursor", cursor), ("state", state?.rawValue)])
    }

    public func logs(
        _ id: UUID, nodeId: String?, cursor: String?, limit: Int, wait: Int
    ) async throws(FleetAPIError)
        -> LogPage
    {
        try await get(
            FleetPaths.logs(id.uuidString.lowercased()),
            query: [("node_id", nodeId), ("cursor", cursor), ("limit", String(limit)), ("wait", String(wait))],
            timeout: .seconds(Int64(wait) + 20))
    }

    public func submit(_ request: SubmitCommandRequest) async throws(FleetAPIError) -> SubmitCommandResponse {
        try await submit(request, idempotencyKey: nil)
    }

    public func cancel(_ id: UUID) async throws(FleetAPIError) -> CancelResponse {
        try await send(.POST, FleetPaths.cancel(id.uuidString.lowercased()), body: EmptyBody())
    }

    public func revoke(_ nodeId: String) async throws(FleetAPIError) -> RevokeResponse {
        try await send(.POST, FleetPaths.revoke(Self.escape(nodeId)), body: EmptyBody())
    }

    public func artifacts() async throws(FleetAPIError) -> ArtifactList {
        try await get(FleetPaths.artifacts, query: [])
    }

    struct EmptyBody: Encodable {}

    func get<T: Decodable>(
        _ path: String, query: [(String, String?)], timeout: TimeAmount = .seconds(5)
    )
        async throws(FleetAPIError) -> T
    {
        let pairs = query.compactMap { key, value in value.map { "\(key)=\(Self.escape($0))" } }
        let url = baseURL + path + (pairs.isEmpty ? "" : "?" + pairs.joined(separator: "&"))
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        return try await execute(request, timeout: timeout)
    }

    func send<T: Decodable, B: Encodable>(
        _ method: HTTPMethod, _ path: String, body: B, headers: [(String, String)] = []
    ) async throws(FleetAPIError)
        -> T
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Content-Type", value: "application/json")
        do {
            request.body = .bytes(ByteBuffer(data: try FleetJSON.makeEncoder().encode(body)))
        } catch {
            throw .invalidResponse("cannot encode request: \(error)")
        }
        return try await execute(request, timeout: .seconds(20))
    }

    func execute<T: Decodable>(_ request: HTTPClientRequest, timeout: TimeAmount) async throws(FleetAPIError) -> T {
        var request = request
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        let status: Int
        let body: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: timeout)
            status = Int(response.status.code)
            body = try await response.body.collect(upTo: maxBody)
        } catch {
            throw transportFailure(error)
        }
        let data = Data(buffer: body)
        guard (200..<300).contains(status) else { throw Self.refusal(status: status, body: data) }
        do {
            return try FleetJSON.makeDecoder().decode(T.self, from: data)
        } catch {
            throw .invalidResponse("\(T.self): \(error)")
        }
    }

    /// The error an answer outside 2xx stands for: the API's error body, or the start of whatever came.
    static func refusal(status: Int, body data: Data) -> FleetAPIError {
        if let error = try? FleetJSON.makeDecoder().decode(ErrorResponse.self, from: data) {
            return .server(status: status, code: error.error.code, message: error.error.message)
        }
        return .server(status: status, code: "http_\(status)", message: String(decoding: data.prefix(200), as: UTF8.self))
    }

    /// A client for operator calls under `trust`; the caller keeps it for the process's life.
    /// A refused connection fails the call at once rather than being retried until the call's
    /// deadline, so "server down" is an answer in a second, and retries stay the caller's.
    public static func makeClient(trust: TrustSettings) -> HTTPClient {
        var configuration = HTTPClient.Configuration(tlsConfiguration: trust.forFleetServer)
        configuration.timeout.connect = .seconds(5)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// What a failed call stands for: a certificate that did not verify, or an unreachable server.
    func transportFailure(_ error: any Error) -> FleetAPIError {
        if let failure = TLSFailure.classify(error, host: URL(string: baseURL)?.host ?? baseURL) {
            return .untrusted(failure.description)
        }
        return .unreachable("\(Self.describe(error)) (\(baseURL))")
    }

    /// A short reason for a transport failure ("connection refused", "timed out").
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("Timeout") || text.contains("timeout") || text.contains("deadlineExceeded") { return "timed out" }
        if text.contains("remoteConnectionClosed") { return "connection closed" }
        return String(text.prefix(120))
    }

    /// Percent-encodes a query value or path segment (everything but unreserved characters).
    static func escape(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
