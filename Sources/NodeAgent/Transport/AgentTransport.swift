import Foundation

/// One HTTP request to agent-svc, independent of the HTTP library.
public struct TransportRequest: Sendable, Hashable {
    /// HTTP methods the agent uses.
    public enum Method: String, Sendable, Hashable {
        case get = "GET"
        case post = "POST"
    }

    public var method: Method
    /// Path and query below the base URL, e.g. `/v1/agents/poll`.
    public var path: String
    public var headers: [String: String]
    public var body: Data?
    /// Media type of `body`.
    public var contentType: String

    public init(
        method: Method, path: String, headers: [String: String] = [:], body: Data? = nil, contentType: String = "application/json"
    ) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.contentType = contentType
    }
}

/// Status and body of an HTTP response.
public struct TransportResponse: Sendable, Hashable {
    public var status: Int
    public var body: Data

    public init(status: Int, body: Data) {
        self.status = status
        self.body = body
    }
}

/// The seam between the agent and the network; tests substitute an in-process fake.
///
/// Implementations throw only for transport failures (connection refused, timeout); any HTTP
/// status, including 4xx and 5xx, is a normal response.
public protocol AgentTransport: Sendable {
    /// Sends one request and returns the whole response body.
    func send(_ request: TransportRequest, timeout: Duration) async throws -> TransportResponse
}
