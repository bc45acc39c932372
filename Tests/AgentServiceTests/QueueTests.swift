import FleetProtocol
import Foundation
import HummingbirdTesting
import Testing

@Suite("Command queue")
struct QueueTests {
    @Test("submit creates one queued invocation per target and a poll returns them at once")
    func submitAndPoll() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup
            let op = try await fleet.operatorToken()
            let node1 = try await client.register("edge-1")
            _ = try await client.register("edge-2")
            // act
            let submitted = try await client.send(
                .post, "/v1/commands/submit", token: op,
                raw: #"{"command_type":"RunCommand","targets":["edge-1","edge-2"],"payload":{"cmd":"uptime","timeout_sec":30}}"#)
            // check
            #expect(submitted.status == .created)
            let id = try submitted.decode(SubmitCommandResponse.self).commandId
            let poll = try await client.poll(token: node1, wait: 10)
            #expect(poll.assignments.map(\.commandId) == [id])
            #expect(poll.assignments.first?.payload == .runCommand(.init(cmd: "uptime", timeoutSec: 30)))
            let detail = try await client.send(.get, "/v1/commands/\(id)", token: op).decode(CommandDetail.self)
            #expect(detail.invocations.map(\.nodeId) == ["edge-1", "edge-2"])
            #expect(detail.invocations.map(\.state) == [.delivered, .queued])
            #expect(detail.command.counts.delivered == 1 && detail.command.counts.queued == 1)
            let audit = try await fleet.sql("SELECT actor, action FROM audit_events").map { try $0.decode((String, String).self) }
            #expect(audit.map(\.0) == ["alice"] && audit.map(\.1) == ["submit"])
        }
    }

    @Test("unknown target ids are a 400 naming them, and nothing is written")
    func unknownTargets() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            _ = try await client.register("edge-1")
            let response = try await client.send(
                .post, "/v1/commands/submit", token: op,
                raw: #"{"command_type":"RunCommand","targets":["edge-1","ghost-7","ghost-9"],"payload":{"cmd":"true"}}"#)
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "unknown_targets")
            #expect(response.text.contains("ghost-7") && response.text.contains("ghost-9"))
            let commands = try await fleet.sql("SELECT count(*)::int FROM commands").first?.decode(Int.self)
            let invocations = try await fleet.sql("SELECT count(*)::int FROM invocations").first?.decode(Int.self)
            #expect(commands == 0 && invocations == 0)
        }
    }

    @Test("two concurrent pollers of one node never receive the same invocation")
    func concurrentPollers() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            var submitted: Set<UUID> = []
            for index in 0..<40 { submitted.insert(try await client.submit("echo \(index)", to: ["edge-1"], token: op)) }
            var received: [UUID] = []
            for _ in 0..<10 {
                async let first = client.poll(token: node)
                async let second = client.poll(token: node)
                let (a, b) = try await (first, second)
                received += a.assignments.map(\.commandId) + b.assignments.map(\.commandId)
                if received.count >= submitted.count { break }
            }
            #expect(received.count == submitted.count)
            #expect(Set(received) == submitted)
        }
    }

    @Test("a lease that lapses without a status report is delivered again")
    func leaseExpiryRedelivers() async throws {
        // Long enough that the immediate second poll lands inside the lease on a loaded machine.
        let fleet = try await TestFleet.make { $0.leaseSeconds = 3 }
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            let first = try await client.poll(token: node)
            #expect(first.assignments.map(\.commandId) == [id])
            #expect(try await client.poll(token: node).assignments.isEmpty)
            try await Task.sleep(for: .milliseconds(3300))
            let again = try await client.poll(token: node)
            #expect(again.assignments.map(\.commandId) == [id])
            #expect(again.assignments.first?.deliveryCount == 2)
            // once the agent reports running, the lease no longer matters
            _ = try await client.send(.post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .running))
            try await Task.sleep(for: .milliseconds(3300))
            #expect(try await client.poll(token: node).assignments.isEmpty)
        }
    }

    @Test("delivered work the agent lists as known keeps its lease and is not delivered again")
    func knownWorkKeepsItsLease() async throws {
        // Long enough that the immediate second poll lands inside the lease on a loaded machine.
        let fleet = try await TestFleet.make { $0.leaseSeconds = 3 }
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            #expect(try await client.poll(token: node, active: []).assignments.map(\.commandId) == [id])
            for _ in 0..<3 {
                try await Task.sleep(for: .milliseconds(600))
                #expect(try await client.poll(token: node, active: [id]).assignments.isEmpty)
            }
            // once the agent forgets it (restart before recording), the lapsed lease redelivers it
            try await Task.sleep(for: .milliseconds(3300))
            #expect(try await client.poll(token: node, active: []).assignments.map(\.commandId) == [id])
        }
    }

    @Test("a submit wakes a waiting long-poll through NOTIFY well under a second")
    func notifyWakesPoll() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            _ = try await client.poll(token: node)  // listener is up once a poll has round-tripped
            try await Task.sleep(for: .milliseconds(300))
            let clock = ContinuousClock()
            async let waiting: (PollResponse, Duration) = {
                let start = clock.now
                let response = try await client.poll(token: node, wait: 20)
                return (response, clock.now - start)
            }()
            try await Task.sleep(for: .milliseconds(500))
            let submittedAt = clock.now
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            let (response, _) = try await waiting
            let latency = clock.now - submittedAt
            #expect(response.assignments.map(\.commandId) == [id])
            #expect(latency < .seconds(1), "woken \(latency) after the submit")
        }
    }

    @Test("an empty long-poll returns after its wait with no work")
    func emptyPollWaits() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let node = try await client.register("edge-1")
            let start = ContinuousClock.now
            let response = try await client.poll(token: node, wait: 1)
            #expect(response.assignments.isEmpty && response.cancel.isEmpty)
            #expect(ContinuousClock.now - start >= .milliseconds(900))
        }
    }

    @Test("history is newest first and cursor-paged without overlap")
    func historyPaging() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            _ = try await client.register("edge-1")
            var ids: [UUID] = []
            for index in 0..<7 { ids.append(try await client.submit("echo \(index)", to: ["edge-1"], token: op)) }
            var seen: [UUID] = []
            var cursor: String?
            repeat {
                let uri = "/v1/commands?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.send(.get, uri, token: op).decode(CommandListResponse.self)
                seen += page.commands.map(\.commandId)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == ids.reversed())
        }
    }
}
