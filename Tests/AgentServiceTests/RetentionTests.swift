import FleetProtocol
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentService

@Suite("Retention")
struct RetentionTests {
    /// A finished run on `node` with `chunks` stdout chunks of 1 KiB stored.
    private static func finishedRun(
        _ client: any TestClientProtocol, node: String, token: String, op: String, chunks: Int
    ) async throws -> UUID {
        let id = try await client.submit("producer", to: [node], token: op)
        _ = try await client.poll(token: token)
        let batch = (0..<chunks).map { LogChunk(offset: Int64($0 * 1024), stream: .stdout, bytes: Array(repeating: 65, count: 1024)) }
        let upload = try await client.send(.post, "/v1/commands/logs", token: token, json: UploadLogsRequest(commandId: id, chunks: batch))
        #expect(upload.status == .ok)
        let report = StatusReport(commandId: id, state: .succeeded, exitCode: 0, stdoutBytes: Int64(chunks * 1024), stderrBytes: 0)
        #expect(try await client.send(.post, "/v1/agents/status", token: token, json: report).status == .ok)
        return id
    }

    private static func count(_ fleet: TestFleet, chunksOf id: UUID) async throws -> Int {
        try await fleet.sql("SELECT count(*)::int FROM log_chunks WHERE command_id = \(id)").first?.decode(Int.self) ?? -1
    }

    @Test("output past the horizon goes in bounded batches; newer output, running work and the rows stay")
    func dropsOldOutputInBatches() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            // setup: an old finished run with 25 chunks, a new finished run, and an old run still running
            let op = try await fleet.operatorToken()
            let edge1 = try await client.register("edge-1")
            let edge2 = try await client.register("edge-2")
            let old = try await Self.finishedRun(client, node: "edge-1", token: edge1, op: op, chunks: 25)
            let recent = try await Self.finishedRun(client, node: "edge-1", token: edge1, op: op, chunks: 3)
            let running = try await client.submit("producer", to: ["edge-2"], token: op)
            _ = try await client.poll(token: edge2)
            let chunk = [LogChunk(offset: 0, stream: .stdout, bytes: Array("still going".utf8))]
            _ = try await client.send(.post, "/v1/commands/logs", token: edge2, json: UploadLogsRequest(commandId: running, chunks: chunk))
            _ = try await fleet.sql("UPDATE invocations SET finished_at = now() - interval '31 days' WHERE command_id = \(old)")
            _ = try await fleet.sql("UPDATE invocations SET started_at = now() - interval '40 days' WHERE command_id = \(running)")
            let store = RetentionStore(database: parts.database)
            // act: batches of 10 chunks
            var rounds: [(chunks: Int, invocations: Int)] = []
            while true {
                let round = try await store.dropOutput(olderThanDays: 30, batch: 10)
                if round.chunks == 0 && round.invocations == 0 { break }
                rounds.append(round)
            }
            // check: 10 + 10 + 5 chunks, the invocation marked in the round that took its last chunk
            #expect(rounds.map(\.chunks) == [10, 10, 5])
            #expect(rounds.map(\.invocations) == [0, 0, 1])
            #expect(try await Self.count(fleet, chunksOf: old) == 0)
            #expect(try await Self.count(fleet, chunksOf: recent) == 3)
            #expect(try await Self.count(fleet, chunksOf: running) == 1)
            let marked = try await fleet.sql(
                "SELECT command_id FROM invocations WHERE output_dropped_at IS NOT NULL"
            ).map { try $0.decode(UUID.self) }
            #expect(marked == [old])
            // the row still tells what happened
            let detail = try await client.send(.get, "/v1/commands/\(old)", token: op).decode(CommandDetail.self)
            #expect(detail.invocations.first?.state == .succeeded && detail.invocations.first?.stdoutTotal == 25 * 1024)
        }
    }

    @Test("commands past the history horizon are deleted with everything they own, unfinished ones are kept")
    func dropsOldHistory() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            let op = try await fleet.operatorToken()
            let edge1 = try await client.register("edge-1")
            let old = try await Self.finishedRun(client, node: "edge-1", token: edge1, op: op, chunks: 2)
            _ = try await client.register("edge-2")  // never polls: its invocation stays queued
            let stuck = try await client.submit("never picked up", to: ["edge-2"], token: op)
            let recent = try await Self.finishedRun(client, node: "edge-1", token: edge1, op: op, chunks: 1)
            _ = try await fleet.sql(
                "UPDATE commands SET created_at = now() - interval '400 days' WHERE command_id = ANY(\([old, stuck])::uuid[])")
            let store = RetentionStore(database: parts.database)
            #expect(try await store.dropHistory(olderThanDays: 365, batch: 10) == 1)
            #expect(try await store.dropHistory(olderThanDays: 365, batch: 10) == 0)
            let left = try await fleet.sql("SELECT command_id FROM commands ORDER BY created_at").map { try $0.decode(UUID.self) }
            #expect(left == [stuck, recent])
            #expect(try await Self.count(fleet, chunksOf: old) == 0)
            #expect(try await client.send(.get, "/v1/commands/\(old)", token: op).status == .notFound)
        }
    }
}
