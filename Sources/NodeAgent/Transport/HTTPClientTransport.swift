import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// ``AgentTransport`` over AsyncHTTPClient's shared client.
public struct HTTPClientTransport: AgentTransport {
    /// Responses larger than this are refused (the API never sends more than a few KiB to agents).
    static let maxResponseBytes = 4 * 1024 * 1024

    let baseURL: String
    let client: HTTPClient

    /// A transport talking to `baseURL` (scheme, host, port; a trailing slash is ignored).
    public init(baseURL: String, client: HTTPClient = .shared) {
        var trimmed = baseURL
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.baseURL = trimmed
        self.client = client
    }

    public func send(_ request: TransportRequest, timeout: Duration) async throws -> TransportResponse {
        var httpRequest = HTTPClientRequest(url: baseURL + request.path)
        httpRequest.method = HTTPMethod(rawValue: request.method.rawValue)
        httpRequest.headers.add(name: "User-Agent", value: "node-agent/\(NodeAgentVersion.current)")
        for (name, value) in request.headers {
            httpRequest.headers.replaceOrAdd(name: name, value: value)
        }
        if let body = request.body {
            httpRequest.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            httpRequest.body = .bytes(ByteBuffer(bytes: body))
        }
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        let response = try await client.execute(httpRequest, timeout: .milliseconds(milliseconds))
        let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
        return TransportResponse(status: Int(response.status.code), body: Data(buffer.readableBytesView))
    }
}
