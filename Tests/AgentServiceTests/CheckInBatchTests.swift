import FleetProtocol
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentService

@Suite("Check-in batches")
struct CheckInBatchTests {
    @Test("one statement checks many nodes in: each answered alone, a stale token refused, a node's second check-in left to the single path")
    func batchAnswersEachCheckIn() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            // setup: three nodes, work queued for the third
            let op = try await fleet.operatorToken()
            for node in ["edge-1", "edge-2", "edge-3"] { _ = try await client.register(node) }
            _ = try await client.submit("true", to: ["edge-3"], token: op)
            let before = try await fleet.sql("SELECT node_id, poll_seq FROM nodes ORDER BY node_id")
                .map { try $0.decode((String, Int64).self) }
            let seq = Dictionary(uniqueKeysWithValues: before)
            // act
            let outcomes = await CheckInBatcher.write(
                [
                    (nodeId: "edge-1", tokenVersion: 1, agentVersion: nil),
                    (nodeId: "edge-2", tokenVersion: 0, agentVersion: "9.9.9"),
                    (nodeId: "edge-1", tokenVersion: 1, agentVersion: nil),
                    (nodeId: "nobody", tokenVersion: 1, agentVersion: nil),
                    (nodeId: "edge-3", tokenVersion: 1, agentVersion: "2.0.0"),
                ], to: parts.database)
            // check
            guard case .checkedIn(let first, false) = outcomes[0] else {
                Issue.record("edge-1: \(outcomes[0])")
                return
            }
            #expect(first == seq["edge-1"]! + 1)
            guard case .refused = outcomes[1], case .retryAlone = outcomes[2], case .refused = outcomes[3] else {
                Issue.record("\(outcomes[1...3])")
                return
            }
            guard case .checkedIn(let third, true) = outcomes[4] else {
                Issue.record("edge-3: \(outcomes[4])")
                return
            }
            #expect(third == seq["edge-3"]! + 1)
            let versions = try await fleet.sql("SELECT node_id, agent_version, poll_seq FROM nodes ORDER BY node_id")
                .map { try $0.decode((String, String?, Int64).self) }
            #expect(versions.map(\.1) == [nil, nil, "2.0.0"])
            #expect(versions[1].2 == seq["edge-2"], "a refused check-in takes no poll number")
        }
    }

    @Test("concurrent idle check-ins through the batcher each get their own poll number")
    func concurrentCheckIns() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            // setup
            let nodes = (1...30).map { "edge-\($0)" }
            for node in nodes { _ = try await client.register(node) }
            let batcher = CheckInBatcher(database: parts.database)
            // act: three check-ins per node at once
            let answered = await withTaskGroup(of: (String, CheckInBatcher.Outcome).self) { group in
                for node in nodes {
                    for _ in 0..<3 {
                        group.addTask { (node, await batcher.checkIn(nodeId: node, tokenVersion: 1, agentVersion: "1.0.0")) }
                    }
                }
                var answered: [String: [CheckInBatcher.Outcome]] = [:]
                for await (node, outcome) in group { answered[node, default: []].append(outcome) }
                return answered
            }
            // check: whatever went alone is retryAlone; the rest got distinct numbers
            for node in nodes {
                let numbers = (answered[node] ?? []).compactMap { outcome -> Int64? in
                    if case .checkedIn(let seq, false) = outcome { return seq }
                    return nil
                }
                let alone = (answered[node] ?? []).filter { if case .retryAlone = $0 { true } else { false } }.count
                #expect(numbers.count + alone == 3, "\(node): \(answered[node] ?? [])")
                #expect(Set(numbers).count == numbers.count)
                #expect(!numbers.isEmpty)
            }
        }
    }
}
