import AgentService
import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The HTTP layer protects itself from clients that never finish, lie about their length or
/// send what the parser refuses: each gets a JSON answer and a closed connection, never a
/// held descriptor. Real sockets against the live server; the limits are shortened so the
/// waits are a second, not the production half minute.
@Suite("HTTP edge")
struct EdgeTests {
    static func fleet(_ tune: @escaping (inout ServiceConfiguration) -> Void = { _ in }) async throws -> TestFleet {
        try await TestFleet.make { config in
            config.edge.headerTimeout = .seconds(1)
            config.edge.bodyStallTimeout = .seconds(1)
            config.edge.lingerTimeout = .seconds(1)
            config.maxBodyBytes = 64 * 1024
            tune(&config)
        }
    }

    /// The JSON error in a raw response, or a failure naming what came instead.
    static func error(in text: String, status: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> ErrorResponse {
        let response = try #require(RawResponse(text), "no HTTP response in \(text.prefix(200).debugDescription)", sourceLocation: sourceLocation)
        #expect(response.status == status, "\(text.prefix(300))", sourceLocation: sourceLocation)
        #expect(response.headers["content-type"]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        return try FleetJSON.makeDecoder().decode(ErrorResponse.self, from: Data(response.body.utf8))
    }

    @Test("headers that never finish are answered 408 and the connection is closed")
    func slowHeaders() async throws {
        let fleet = try await Self.fleet()
        try await fleet.run(.live) { client in
            let raw = try await RawHTTPConnection.connect(port: try #require(client.port))
            try await raw.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            let (text, closed) = try await raw.readUntilClosed()
            #expect(closed)
            #expect(try Self.error(in: text, status: 408).error.code == "request_timeout")
        }
    }

    @Test("a body that stalls is answered 408; a declared length over the limit is 413 before a byte is read")
    func stalledAndOversizedBodies() async throws {
        let fleet = try await Self.fleet()
        try await fleet.run(.live) { client in
            let op = try await fleet.operatorToken()
            let port = try #require(client.port)
            for path in ["/v1/commands/submit", "/v1/agents/register"] {
                let stalled = try await RawHTTPConnection.connect(port: port)
                try await stalled.send(
                    "POST \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(op)\r\nX-Enrollment-Token: \(TestFleet.enrollment)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":1")
                let (text, closed) = try await stalled.readUntilClosed()
                #expect(closed, "\(path)")
                #expect(try Self.error(in: text, status: 408).error.message.contains("stalled"), "\(path)")

                let huge = try await RawHTTPConnection.connect(port: port)
                try await huge.send(
                    "POST \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(op)\r\nX-Enrollment-Token: \(TestFleet.enrollment)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{\"a\":1")
                let (hugeText, hugeClosed) = try await huge.readUntilClosed()
                #expect(hugeClosed, "\(path): the rest of a refused body is not waited for")
                #expect(try Self.error(in: hugeText, status: 413).error.message.contains("1073741824"), "\(path)")
            }
        }
    }

    @Test("what the parser refuses gets the JSON error shape: long or many headers, Content-Length with Transfer-Encoding")
    func parserRefusals() async throws {
        let fleet = try await Self.fleet()
        try await fleet.run(.live) { client in
            let port = try #require(client.port)
            let longLine = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: \(String(repeating: "a", count: 70_000))\r\n\r\n"
            let longURI = "GET /healthz?\(String(repeating: "q", count: 70_000)) HTTP/1.1\r\nHost: x\r\n\r\n"
            let many = "GET /healthz HTTP/1.1\r\nHost: x\r\n" + (0..<10_000).map { "X-H\($0): v\r\n" }.joined() + "\r\n"
            let ambiguous = "POST /v1/commands/submit HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            for (name, request, status) in [("long header", longLine, 431), ("long URI", longURI, 431), ("10k headers", many, 431), ("CL+TE", ambiguous, 400)] {
                let raw = try await RawHTTPConnection.connect(port: port)
                try await raw.send(request)
                let (text, closed) = try await raw.readUntilClosed()
                #expect(closed, "\(name)")
                #expect(try Self.error(in: text, status: status).error.code == "bad_http_request", "\(name)")
            }
            // The server is unharmed.
            #expect(try await client.send(.get, "/healthz").status == .ok)
        }
    }

    @Test("pipelined requests are each answered, in order, on one connection")
    func pipelining() async throws {
        let fleet = try await Self.fleet()
        try await fleet.run(.live) { client in
            let raw = try await RawHTTPConnection.connect(port: try #require(client.port))
            let op = try await fleet.operatorToken()
            try await raw.send(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /v1/agents/poll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(op)\r\nContent-Length: 2\r\n\r\n{}"
                    + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let (text, closed) = try await raw.readUntilClosed()
            #expect(closed)
            let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().compactMap { Int($0.prefix(3)) }
            #expect(statuses == [200, 403, 200], "\(text.prefix(400))")  // an operator token on a node route is refused
        }
    }

    @Test("connections past the cap wait for a free one; none is refused and the first are served")
    func connectionCap() async throws {
        let fleet = try await Self.fleet { $0.edge.maxConnections = 3 }
        try await fleet.run(.live) { client in
            let port = try #require(client.port)
            // The test client holds one connection; two idle ones fill the cap.
            #expect(try await client.send(.get, "/healthz").status == .ok)
            let idle = [try await RawHTTPConnection.connect(port: port), try await RawHTTPConnection.connect(port: port)]
            try await Task.sleep(for: .milliseconds(200))
            let waiting = try await RawHTTPConnection.connect(port: port)
            try await waiting.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            // The idle ones are dropped by the header timeout only once they send a byte, so free one by hand.
            try await Task.sleep(for: .milliseconds(300))
            idle[0].close()
            let (text, _) = try await waiting.readUntilClosed()
            #expect(RawResponse(text)?.status == 200, "\(text.prefix(200))")
            idle[1].close()
        }
    }

    @Test("a known path asked with the wrong method is 405 with Allow; an unknown path stays 404")
    func wrongMethod() async throws {
        let fleet = try await Self.fleet()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.get, "/v1/commands/submit", "POST"),
                (.delete, "/v1/commands/\(UUID())", "GET"),
                (.get, "/v1/commands/\(UUID())/cancel", "POST"),
                (.put, "/v1/agents/poll", "POST"),
                (.post, "/healthz", "GET"),
                (.get, "/v1/agents/register", "POST"),  // not `/v1/agents/{id}`, which is GET
            ]
            for (method, path, allow) in cases {
                let response = try await client.send(method, path, token: op)
                #expect(response.status == .methodNotAllowed, "\(method) \(path): \(response.status)")
                #expect(response.headers[.allow] == allow, "\(method) \(path)")
                #expect(response.errorCode == "method_not_allowed")
            }
            let missing = try await client.send(.get, "/v1/nothing/here", token: op)
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "not_found")
        }
    }
}
