import FleetProtocol
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentService

@Suite("Claim batches")
struct ClaimBatchTests {
    /// Checks `nodes` in with nothing pending and returns each one's poll number.
    private static func checkIn(_ nodes: [String], queue: CommandQueue) async throws -> [String: Int64] {
        var seqs: [String: Int64] = [:]
        for node in nodes {
            let claimed = try await queue.claim(nodeId: node, .checkIn(tokenVersion: 1, agentVersion: nil, active: []), limit: 0)
            seqs[node] = try #require(claimed).pollSeq
        }
        return seqs
    }

    @Test("one statement answers each poll with its own node's work, per-node limit, and nothing for a superseded poll")
    func batchStatementAnswersEachPoll() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            // setup: four nodes checked in; one command to three of them, 34 to the fourth
            let op = try await fleet.operatorToken()
            let nodes = ["edge-1", "edge-2", "edge-3", "edge-4"]
            for node in nodes { _ = try await client.register(node) }
            let queue = CommandQueue(database: parts.database, leaseSeconds: 60, deliveryTimeoutSeconds: 3600)
            let seqs = try await Self.checkIn(nodes, queue: queue)
            let shared = try await client.submit("true", to: ["edge-1", "edge-2", "edge-3"], token: op)
            var many: [UUID] = []
            for index in 1...34 { many.append(try await client.submit("echo \(index)", to: ["edge-4"], token: op)) }
            let polls: [(nodeId: String, pollSeq: Int64)] = [
                ("edge-1", seqs["edge-1"]!), ("edge-2", seqs["edge-2"]! - 1), ("edge-3", seqs["edge-3"]!), ("edge-4", seqs["edge-4"]!),
            ]
            // act
            let statement = CommandQueue.ClaimAgainStatement(polls, leaseSeconds: 60, limit: ClaimBatcher.limit)
            let claims = try CommandQueue.decodeClaims(try await parts.database.execute("claim", statement), polls: polls.count)
            // check: the superseded poll claims nothing and leaves its work queued
            #expect(claims[0]?.response.assignments.map(\.commandId) == [shared])
            #expect(claims[1] == nil)
            #expect(claims[2]?.response.assignments.map(\.commandId) == [shared])
            #expect(claims[3]?.pollSeq == seqs["edge-4"])
            #expect(claims[3]?.response.assignments.map(\.commandId) == Array(many.prefix(32)))
            let again = try CommandQueue.decodeClaims(
                try await parts.database.execute(
                    "claim", CommandQueue.ClaimAgainStatement([polls[3]], leaseSeconds: 60, limit: ClaimBatcher.limit)),
                polls: 1)
            #expect(again[0]?.response.assignments.map(\.commandId) == Array(many.suffix(2)))
            let states = try await fleet.sql(
                "SELECT node_id, state, delivery_count FROM invocations WHERE command_id = \(shared) ORDER BY node_id"
            ).map { try $0.decode((String, String, Int).self) }
            #expect(states.map(\.1) == ["delivered", "queued", "delivered"])
            #expect(states.map(\.2) == [1, 0, 1])
        }
    }

    @Test("polls claiming at once through the batcher get every invocation exactly once")
    func concurrentClaimsAreExactlyOnce() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            // setup: 40 nodes checked in, one command to all
            let op = try await fleet.operatorToken()
            let nodes = (1...40).map { "edge-\($0)" }
            for node in nodes { _ = try await client.register(node) }
            let queue = CommandQueue(database: parts.database, leaseSeconds: 60, deliveryTimeoutSeconds: 3600)
            let seqs = try await Self.checkIn(nodes, queue: queue)
            let id = try await client.submit("true", to: nodes, token: op)
            // act: two claims per node at once (a repeat wake), so batches form and race
            let handed = try await withThrowingTaskGroup(of: (String, [UUID]).self) { group in
                for node in nodes {
                    for _ in 0..<2 {
                        group.addTask {
                            let claim = try await queue.claims.claim(nodeId: node, pollSeq: seqs[node]!).get()
                            return (node, claim?.response.assignments.map(\.commandId) ?? [])
                        }
                    }
                }
                var handed: [String: [UUID]] = [:]
                for try await (node, ids) in group { handed[node, default: []] += ids }
                return handed
            }
            // check
            for node in nodes { #expect(handed[node] == [id], "\(node)") }
            let counts = try await fleet.sql(
                "SELECT count(*)::int, sum(delivery_count)::int FROM invocations WHERE command_id = \(id) AND state = 'delivered'"
            ).map { try $0.decode((Int, Int).self) }
            #expect(counts.first?.0 == 40 && counts.first?.1 == 40)
        }
    }
}
