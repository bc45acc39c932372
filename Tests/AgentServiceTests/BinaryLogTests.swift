import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentService

/// One chunk of a binary batch, for the tests.
private typealias Piece = (stream: LogStream, offset: Int64, bytes: [UInt8])

private func batch(_ id: UUID, _ pieces: [Piece]) -> [UInt8] { BinaryChunkBatch.encode(commandId: id, pieces) }

private func uploadBinary(
    _ client: any TestClientProtocol, _ node: String, _ body: [UInt8], headers extra: HTTPFields = [:]
) async throws -> TestResponse {
    var headers = extra
    headers[.authorization] = "Bearer \(node)"
    headers[.contentType] = BinaryChunkBatch.contentType
    return try await client.execute(uri: "/v1/commands/logs", method: .post, headers: headers, body: ByteBuffer(bytes: body))
}

private func random(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

@Suite("Binary log uploads")
struct BinaryLogTests {
    @Test("a binary batch is stored byte-exact and is idempotent: the same batch again is all duplicates")
    func replayIsIdempotent() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup
            let (id, node, op) = try await fleet.deliveredRun(client)
            let out = random(70_000)
            let pieces: [Piece] = [
                (.stdout, 0, Array(out[..<65_536])), (.stderr, 0, Array("warn\n".utf8)), (.stdout, 65_536, Array(out[65_536...])),
            ]
            // act
            let first = try await uploadBinary(client, node, batch(id, pieces))
            let again = try await uploadBinary(client, node, batch(id, pieces))
            // check
            #expect(first.status == .ok)
            let receipts = try first.decode(UploadLogsResponse.self)
            #expect(receipts.receipts.map(\.outcome) == [.stored, .stored, .stored])
            #expect(receipts.stdoutBytes == 70_000 && receipts.stderrBytes == 5)
            #expect(again.status == .ok)
            #expect(try again.decode(UploadLogsResponse.self).receipts.map(\.outcome) == [.duplicate, .duplicate, .duplicate])
            let stored = try await fleet.sql("SELECT count(*)::int FROM log_chunks").first?.decode(Int.self)
            #expect(stored == 3)
            let raw = try await client.send(.get, "/v1/commands/\(id)/output?node_id=edge-1&stream=stdout", token: op)
            #expect(Array(raw.body.readableBytesView) == out)
        }
    }

    @Test("different bytes at a stored offset, a gap, or an overlap are 409 and the whole batch stores nothing")
    func conflicts() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup
            let (id, node, _) = try await fleet.deliveredRun(client)
            #expect(try await uploadBinary(client, node, batch(id, [(.stdout, 0, Array("abcdef".utf8))])).status == .ok)
            // act
            let different = try await uploadBinary(
                client, node, batch(id, [(.stdout, 6, Array("ok".utf8)), (.stdout, 0, Array("ABCDEF".utf8))]))
            let gap = try await uploadBinary(client, node, batch(id, [(.stdout, 6, Array("ok".utf8)), (.stdout, 100, [0xFF])]))
            let overlap = try await uploadBinary(client, node, batch(id, [(.stdout, 3, Array("defghi".utf8))]))
            // check
            #expect(different.status == .conflict && different.errorCode == "chunk_conflict")
            #expect(gap.status == .conflict && gap.errorCode == "offset_gap")
            #expect(overlap.status == .conflict && overlap.errorCode == "chunk_conflict")
            let chunkCount = try await fleet.sql("SELECT count(*)::int FROM log_chunks").first?.decode(Int.self)
            let stored = try await fleet.sql("SELECT stdout_stored FROM invocations").first?.decode(Int64.self)
            #expect(chunkCount == 1 && stored == 6, "\"ok\" at offset 6 came in refused batches and was not kept")
        }
    }

    @Test("one invocation's output may arrive partly as JSON and partly binary; replays match across the two forms")
    func mixedJSONAndBinary() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup
            let (id, node, op) = try await fleet.deliveredRun(client)
            let text = Array("hello, ünïcödé\n".utf8)
            let bytes = random(4096)
            let json = LogChunk(offset: 0, stream: .stdout, bytes: text)
            // act
            let first = try await client.send(.post, "/v1/commands/logs", token: node, json: UploadLogsRequest(commandId: id, chunks: [json]))
            let second = try await uploadBinary(client, node, batch(id, [(.stdout, 0, text), (.stdout, Int64(text.count), bytes)]))
            let jsonReplay = LogChunk(offset: Int64(text.count), stream: .stdout, bytes: bytes)
            let third = try await client.send(
                .post, "/v1/commands/logs", token: node, json: UploadLogsRequest(commandId: id, chunks: [jsonReplay]))
            // check
            #expect(first.status == .ok && second.status == .ok && third.status == .ok)
            #expect(try second.decode(UploadLogsResponse.self).receipts.map(\.outcome) == [.duplicate, .stored])
            #expect(try third.decode(UploadLogsResponse.self).receipts.map(\.outcome) == [.duplicate])
            let raw = try await client.send(.get, "/v1/commands/\(id)/output?node_id=edge-1&stream=stdout", token: op)
            #expect(Array(raw.body.readableBytesView) == text + bytes)
        }
    }

    @Test("a node may write only its own invocation's output")
    func onlyOwnInvocation() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let (id, _, _) = try await fleet.deliveredRun(client)
            let other = try await client.register("edge-2")
            let response = try await uploadBinary(client, other, batch(id, [(.stdout, 0, Array("not mine".utf8))]))
            #expect(response.status == .forbidden)
            #expect(try await fleet.sql("SELECT count(*)::int FROM log_chunks").first?.decode(Int.self) == 0)
        }
    }

    @Test("broken framing is 400, an empty batch 400, an oversize chunk or body 413; nothing is stored")
    func badBodies() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let (id, node, _) = try await fleet.deliveredRun(client)
            let good = batch(id, [(.stdout, 0, Array("abc".utf8))])
            var badStream = good
            badStream[BinaryChunkBatch.headerSize] = 7
            let oversize: [UInt8] = [UInt8](repeating: 1, count: 1024 * 1024 + 1)
            let noChunks: [Piece] = []
            var cases: [(String, [UInt8], HTTPResponse.Status, String)] = []
            cases.append(("not a batch", Array("{\"command_id\":1}".utf8), .badRequest, "invalid_body"))
            cases.append(("cut short", Array(good.dropLast()), .badRequest, "invalid_body"))
            cases.append(("trailing bytes", good + [0], .badRequest, "invalid_body"))
            cases.append(("unknown stream", badStream, .badRequest, "invalid_body"))
            cases.append(("offset past Int64", batch(id, [(.stdout, -1, [1])]), .badRequest, "invalid_body"))
            cases.append(("no chunks", batch(id, noChunks), .badRequest, "invalid_chunk"))
            cases.append(("empty chunk", batch(id, [(.stdout, 0, [])]), .badRequest, "invalid_chunk"))
            cases.append(("oversize chunk", batch(id, [(.stdout, 0, oversize)]), .contentTooLarge, "payload_too_large"))
            for (name, body, status, code) in cases {
                let response = try await uploadBinary(client, node, body)
                #expect(response.status == status, "\(name)")
                #expect(response.errorCode == code, "\(name): \(response.text)")
            }
            let mib: [UInt8] = Array(oversize.dropLast())
            let nine: [Piece] = (0..<9).map { (stream: LogStream.stdout, offset: Int64($0) << 20, bytes: mib) }
            let tooBig = try await uploadBinary(client, node, batch(id, nine))
            #expect(tooBig.status == .contentTooLarge, "a body over MAX_BODY_BYTES (8 MiB)")
            #expect(try await fleet.sql("SELECT count(*)::int FROM log_chunks").first?.decode(Int.self) == 0)
        }
    }
}
