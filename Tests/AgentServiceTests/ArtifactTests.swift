import Crypto
import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentService

@Suite("Artifacts")
struct ArtifactTests {
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    static func counts(_ fleet: TestFleet) async throws -> (Int, Int) {
        let rows = try await fleet.sql("SELECT (SELECT count(*)::int FROM artifacts), (SELECT count(*)::int FROM artifact_blocks)")
        return try rows[0].decode((Int, Int).self)
    }

    @Test("an upload is stored in blocks with the digest the server computed, listed, and streamed back byte-exact")
    func uploadListDownload() async throws {
        let fleet = try await TestFleet.make()
        // setup: 2.5 MiB → three blocks, the last one partial
        let bytes = Self.randomBytes(2 * ArtifactStore.blockBytes + ArtifactStore.blockBytes / 2)
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            // act
            let uploaded = try await client.upload(bytes, query: "name=node-agent&version=0.2.0", token: op)
            // check
            #expect(uploaded.status == .created, "\(uploaded.text)")
            let info = try uploaded.decode(ArtifactInfo.self)
            #expect(info.sha256 == Self.hex(bytes))
            #expect(info.sizeBytes == Int64(bytes.count))
            #expect(info.version == "0.2.0" && info.name == "node-agent" && info.uploadedBy == "alice")
            #expect(try await Self.counts(fleet) == (1, 3))
            let list = try await client.send(.get, "/v1/artifacts", token: op).decode(ArtifactList.self)
            #expect(list.artifacts == [info])
            let audit = try await fleet.sql("SELECT actor FROM audit_events WHERE action = 'upload_artifact'")
            #expect(try audit.map { try $0.decode(String.self) } == ["alice"])

            // nothing in flight for this node: no download
            let early = try await client.send(.get, FleetPaths.artifactContent(info.artifactId), token: node)
            #expect(early.status == .forbidden)
            let update = UpdateAgentPayload(version: "0.2.0", sha256: info.sha256, artifactId: info.artifactId)
            let submitted = try await client.send(
                .post, FleetPaths.submit, token: op, json: SubmitCommandRequest(targets: ["edge-1"], payload: .updateAgent(update)))
            #expect(submitted.status == .created, "\(submitted.text)")
            let id = try submitted.decode(SubmitCommandResponse.self).commandId
            _ = try await client.poll(token: node)
            let download = try await client.send(.get, FleetPaths.artifactContent(info.artifactId), token: node)
            #expect(download.status == .ok)
            #expect(Array(download.body.readableBytesView) == bytes)
            #expect(download.headers[HTTPField.Name("X-Artifact-SHA256")!] == info.sha256)
            // operators and other nodes do not get the content
            #expect(try await client.send(.get, FleetPaths.artifactContent(info.artifactId), token: op).status == .forbidden)
            let other = try await client.register("edge-2")
            #expect(try await client.send(.get, FleetPaths.artifactContent(info.artifactId), token: other).status == .forbidden)
            #expect(try await client.send(.get, FleetPaths.artifactContent("no-such-artifact"), token: node).status == .notFound)

            // once the update has finished, the node's access ends
            let result = InvocationResult(agentVersion: "0.2.0")
            let done = StatusReport(commandId: id, state: .succeeded, exitCode: 0, stdoutBytes: 0, stderrBytes: 0, result: result)
            #expect(try await client.send(.post, FleetPaths.status, token: node, json: done).status == .ok)
            #expect(try await client.send(.get, FleetPaths.artifactContent(info.artifactId), token: node).status == .forbidden)
            let detail = try await client.send(.get, FleetPaths.command(id.uuidString), token: op).decode(CommandDetail.self)
            #expect(detail.invocations.first?.result == result)
        }
    }

    @Test("refused uploads answer 4xx and store nothing")
    func refusedUploads() async throws {
        let fleet = try await TestFleet.make { $0.maxArtifactBytes = ArtifactStore.blockBytes + 10 }
        let bytes = Self.randomBytes(ArtifactStore.blockBytes)
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let cases: [(String, [UInt8], String?, HTTPResponse.Status, String?)] = [
                ("version=1", bytes, op, .badRequest, "invalid_artifact"),
                ("name=agent", bytes, op, .badRequest, "invalid_artifact"),
                ("name=agent&version=1;rm%20-rf", bytes, op, .badRequest, "invalid_artifact"),
                ("name=agent&version=1&sha256=xyz", bytes, op, .badRequest, "invalid_artifact"),
                ("name=agent&version=1&sha256=" + String(repeating: "0", count: 64), bytes, op, .badRequest, "digest_mismatch"),
                ("name=agent&version=1", [], op, .badRequest, "empty_artifact"),
                ("name=agent&version=1", bytes + Self.randomBytes(100), op, .contentTooLarge, "payload_too_large"),
                ("name=agent&version=1", bytes, node, .forbidden, "forbidden"),
                ("name=agent&version=1", bytes, nil, .unauthorized, "unauthorized"),
            ]
            for (query, body, token, status, code) in cases {
                let response = try await client.upload(body, query: query, token: token)
                #expect(response.status == status, "\(query): \(response.text)")
                #expect(response.errorCode == code, "\(query)")
            }
            #expect(try await Self.counts(fleet) == (0, 0))
            // a digest given and matching is accepted
            let good = try await client.upload(bytes, query: "name=agent&version=1&sha256=\(Self.hex(bytes).uppercased())", token: op)
            #expect(good.status == .created, "\(good.text)")
        }
    }

    @Test("an UpdateAgent naming an artifact must match its digest and version")
    func submitChecksTheArtifact() async throws {
        let fleet = try await TestFleet.make()
        let bytes = Self.randomBytes(1000)
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            _ = try await client.register("edge-1")
            let info = try await client.upload(bytes, query: "name=node-agent&version=0.3.0", token: op).decode(ArtifactInfo.self)
            let cases: [(UpdateAgentPayload, String)] = [
                (.init(version: "0.3.0", sha256: info.sha256, artifactId: "unknown-artifact"), "no artifact"),
                (.init(version: "0.3.0", sha256: String(repeating: "a", count: 64), artifactId: info.artifactId), "sha256"),
                (.init(version: "0.3.1", sha256: info.sha256, artifactId: info.artifactId), "version"),
            ]
            for (payload, needle) in cases {
                let response = try await client.send(
                    .post, FleetPaths.submit, token: op, json: SubmitCommandRequest(targets: ["edge-1"], payload: .updateAgent(payload)))
                #expect(response.status == .badRequest)
                #expect(response.errorCode == "invalid_payload")
                #expect(response.text.contains(needle), "\(response.text)")
            }
            let rows = try await fleet.sql("SELECT count(*)::int FROM commands")
            #expect(try rows[0].decode(Int.self) == 0)
            let upper = UpdateAgentPayload(version: "0.3.0", sha256: info.sha256.uppercased(), artifactId: info.artifactId)
            let accepted = try await client.send(
                .post, FleetPaths.submit, token: op, json: SubmitCommandRequest(targets: ["edge-1"], payload: .updateAgent(upper)))
            #expect(accepted.status == .created)
        }
    }
}

extension TestClientProtocol {
    /// `POST /v1/artifacts?query` with `bytes` as the raw body.
    func upload(_ bytes: [UInt8], query: String, token: String?) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: "/v1/artifacts?\(query)", method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
    }
}
