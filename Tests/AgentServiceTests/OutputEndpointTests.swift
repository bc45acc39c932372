import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentService

/// `GET /v1/commands/{id}/output`: one stream's raw bytes, straight from Postgres.
@Suite("Raw output endpoint")
struct OutputEndpointTests {
    static let completeHeader = HTTPField.Name("Fleet-Output-Complete")!

    /// Uploads `bytes` as 64 KiB chunks of `stream`, 16 chunks a request (well under the body limit once base64).
    static func upload(_ bytes: [UInt8], stream: LogStream, _ client: any TestClientProtocol, _ node: String, _ id: UUID) async throws {
        var chunks: [LogChunk] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + 65_536, bytes.count)
            chunks.append(LogChunk(offset: Int64(offset), stream: stream, bytes: bytes[offset..<end]))
            offset = end
        }
        for start in stride(from: 0, to: chunks.count, by: 16) {
            let batch = Array(chunks[start..<min(start + 16, chunks.count)])
            let response = try await client.send(
                .post, "/v1/commands/logs", token: node, json: UploadLogsRequest(commandId: id, chunks: batch))
            guard response.status == .ok else { throw TestSetupError("upload: \(response.status) \(response.text)") }
        }
    }

    static func finish(_ client: any TestClientProtocol, _ node: String, _ id: UUID, stdout: Int64, stderr: Int64) async throws {
        let report = StatusReport(commandId: id, state: .succeeded, exitCode: 0, stdoutBytes: stdout, stderrBytes: stderr)
        let response = try await client.send(.post, "/v1/agents/status", token: node, json: report)
        guard response.status == .ok else { throw TestSetupError("status: \(response.status) \(response.text)") }
    }

    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    @Test("a finished multi-page stream comes back byte for byte, with Content-Length, each stream on its own")
    func byteExact() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run(.live) { client in
            // setup: 2.5 MiB of random stdout spans three 1 MiB pages; stderr is small and binary too
            let (id, node, op) = try await fleet.deliveredRun(client)
            let out = Self.random(2_621_440 + 17)
            let err = Self.random(70_001)
            try await Self.upload(out, stream: .stdout, client, node, id)
            try await Self.upload(err, stream: .stderr, client, node, id)
            try await Self.finish(client, node, id, stdout: Int64(out.count), stderr: Int64(err.count))
            // act
            let stdout = try await client.send(.get, "/v1/commands/\(id)/output?node_id=edge-1&stream=stdout", token: op)
            let stderr = try await client.send(.get, "/v1/commands/\(id)/output?node_id=edge-1&stream=stderr", token: op)
            let byDefault = try await client.send(.get, "/v1/commands/\(id)/output?node_id=edge-1", token: op)
            // check
            #expect(stdout.status == .ok)
            #expect(stdout.headers[.contentType] == "application/octet-stream")
            #expect(stdout.headers[.contentLength] == String(out.count))
            #expect(stdout.headers[Self.completeHeader] == "true")
            #expect(Array(stdout.body.readableBytesView) == out)
            #expect(Array(stderr.body.readableBytesView) == err)
            #expect(Array(byDefault.body.readableBytesView) == out, "stream defaults to stdout")
        }
    }

    @Test("while the command runs, the stored prefix is sent chunked and marked incomplete")
    func runningPrefix() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run(.live) { client in
            // setup
            let (id, node, op) = try await fleet.deliveredRun(client)
            let out = Self.random(100_000)
            try await Self.upload(out, stream: .stdout, client, node, id)
            // act
            let response = try await client.send(.get, "/v1/commands/\(id)/output?node_id=edge-1&stream=stdout", token: op)
            let empty = try await client.send(.get, "/v1/commands/\(id)/output?node_id=edge-1&stream=stderr", token: op)
            // check
            #expect(response.status == .ok)
            #expect(response.headers[.contentLength] == nil)
            #expect(response.headers[Self.completeHeader] == "false")
            #expect(Array(response.body.readableBytesView) == out)
            #expect(empty.status == .ok && empty.body.readableBytes == 0)
        }
    }

    @Test("a finished invocation whose reported bytes are not all stored is 409 output_incomplete")
    func gapIsConflict() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup: the node says 2,000 bytes; 1,000 are in
            let (id, node, op) = try await fleet.deliveredRun(client)
            try await Self.upload(Self.random(1000), stream: .stdout, client, node, id)
            try await Self.finish(client, node, id, stdout: 2000, stderr: 0)
            // act
            let stdout = try await client.send(.get, "/v1/commands/\(id)/output?node_id=edge-1&stream=stdout", token: op)
            let stderr = try await client.send(.get, "/v1/commands/\(id)/output?node_id=edge-1&stream=stderr", token: op)
            // check: only the stream with the gap is refused
            #expect(stdout.status == .conflict)
            #expect(stdout.errorCode == "output_incomplete")
            #expect(stdout.text.contains("1000 of the 2000"))
            #expect(stderr.status == .ok && stderr.headers[.contentLength] == "0")
        }
    }

    @Test("node tokens are refused, unknown ids are 404, bad parameters are 400 with a JSON error")
    func refusals() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup
            let (id, node, op) = try await fleet.deliveredRun(client)
            _ = try await client.register("edge-2")
            let base = "/v1/commands/\(id)/output"
            // act and check
            let cases: [(String, String?, HTTPResponse.Status, String?)] = [
                ("\(base)?node_id=edge-1", node, .forbidden, "forbidden"),
                ("\(base)?node_id=edge-1", nil, .unauthorized, "unauthorized"),
                ("/v1/commands/\(UUID())/output?node_id=edge-1", op, .notFound, "not_found"),
                ("\(base)?node_id=edge-2", op, .notFound, "not_found"),
                (base, op, .badRequest, "invalid_node_id"),
                ("\(base)?node_id=bad%20id", op, .badRequest, "invalid_node_id"),
                ("\(base)?node_id=edge-1&stream=both", op, .badRequest, "invalid_stream"),
                ("\(base)?node_id=edge-1&node_id=edge-2", op, .badRequest, "bad_request"),
                ("/v1/commands/not-a-uuid/output?node_id=edge-1", op, .badRequest, "invalid_command_id"),
            ]
            for (uri, token, status, code) in cases {
                let response = try await client.send(.get, uri, token: token)
                #expect(response.status == status, "\(uri)")
                #expect(response.errorCode == code, "\(uri): \(response.text)")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, "\(uri)")
            }
        }
    }
}
