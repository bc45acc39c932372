import FleetProtocol
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentService

@Suite("Status batches")
struct StatusBatchTests {
    @Test("reports written together each get their own answer, and absent fields stay absent")
    func batchAnswersEachReport() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            // setup: one command to 12 nodes, every invocation delivered
            let op = try await fleet.operatorToken()
            var tokens: [String: String] = [:]
            for index in 1...12 { tokens["edge-\(index)"] = try await client.register("edge-\(index)") }
            let id = try await client.submit("true", to: tokens.keys.sorted(), token: op)
            for token in tokens.values { _ = try await client.poll(token: token) }
            let batcher = StatusBatcher(database: parts.database)
            func change(
                _ state: InvocationState, exitCode: Int? = nil, reason: String? = nil, commandId: UUID? = nil
            )
                -> CommandQueue.ReportedChange
            {
                CommandQueue.ReportedChange(
                    report: StatusReport(
                        commandId: commandId ?? id, state: state, exitCode: exitCode, reason: reason, stdoutBytes: exitCode.map { _ in 0 },
                        stderrBytes: exitCode.map { _ in 0 }),
                    reason: reason, resultJSON: nil)
            }
            // act: many reports at once, so they share statements
            let outcomes = await withTaskGroup(of: (String, StatusBatcher.Outcome).self) { group in
                for index in 1...10 {
                    let node = "edge-\(index)"
                    let report = index.isMultiple(of: 2) ? change(.succeeded, exitCode: 0) : change(.failed, exitCode: 3, reason: "boom")
                    group.addTask { (node, await batcher.apply(nodeId: node, tokenVersion: 1, report)) }
                }
                group.addTask { ("edge-11", await batcher.apply(nodeId: "edge-11", tokenVersion: 0, change(.running))) }
                group.addTask { ("edge-12", await batcher.apply(nodeId: "edge-12", tokenVersion: 1, change(.running, commandId: UUID()))) }
                var outcomes: [String: StatusBatcher.Outcome] = [:]
                for await (node, outcome) in group { outcomes[node] = outcome }
                return outcomes
            }
            // check: applied rows, a stale token, an unknown command; a repeat is left to the single path
            for index in 1...10 {
                guard case .applied(false) = outcomes["edge-\(index)"] else {
                    Issue.record("edge-\(index): \(String(describing: outcomes["edge-\(index)"]))")
                    continue
                }
            }
            guard case .staleCredentials = outcomes["edge-11"] else {
                Issue.record("edge-11: \(String(describing: outcomes["edge-11"]))")
                return
            }
            guard case .notFound = outcomes["edge-12"] else {
                Issue.record("edge-12: \(String(describing: outcomes["edge-12"]))")
                return
            }
            guard case .retryAlone = await batcher.apply(nodeId: "edge-2", tokenVersion: 1, change(.succeeded, exitCode: 0)) else {
                Issue.record("a repeat should go to the single path")
                return
            }
            let rows = try await fleet.sql(
                "SELECT node_id, state, exit_code, reason, signal, stdout_total FROM invocations WHERE command_id = \(id) ORDER BY node_id"
            ).map { try $0.decode((String, String, Int?, String?, Int?, Int64?).self) }
            let byNode = Dictionary(uniqueKeysWithValues: rows.map { ($0.0, $0) })
            #expect(byNode["edge-2"]?.1 == "succeeded" && byNode["edge-2"]?.2 == 0 && byNode["edge-2"]?.3 == nil)
            #expect(byNode["edge-3"]?.1 == "failed" && byNode["edge-3"]?.2 == 3 && byNode["edge-3"]?.3 == "boom")
            #expect(byNode["edge-3"]?.4 == nil && byNode["edge-3"]?.5 == 0)
            #expect(byNode["edge-11"]?.1 == "delivered" && byNode["edge-12"]?.1 == "delivered")
        }
    }
}
