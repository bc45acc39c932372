import FleetProtocol
import FleetTestSupport
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentService

@Suite("Invocation lifecycle")
struct LifecycleTests {
    @Test("status reports drive the state machine and illegal transitions are refused")
    func stateMachine() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            _ = try await client.poll(token: node)
            let running = try await client.send(.post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .running))
            #expect(running.status == .ok)
            let done = StatusReport(commandId: id, state: .succeeded, exitCode: 0, stdoutBytes: 0, stderrBytes: 0)
            #expect(try await client.send(.post, "/v1/agents/status", token: node, json: done).status == .ok)
            // the same final report again is idempotent (agents retry)
            #expect(try await client.send(.post, "/v1/agents/status", token: node, json: done).status == .ok)
            let back = try await client.send(.post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .running))
            #expect(back.status == .conflict)
            #expect(back.errorCode == "illegal_transition")
            let other = try await client.send(
                .post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .failed, exitCode: 1))
            #expect(other.status == .conflict)
            let detail = try await client.send(.get, "/v1/commands/\(id)", token: op).decode(CommandDetail.self)
            #expect(detail.invocations.first?.state == .succeeded)
            #expect(detail.invocations.first?.exitCode == 0)
            #expect(detail.invocations.first?.startedAt != nil && detail.invocations.first?.finishedAt != nil)
        }
    }

    @Test("agents cannot report queued or delivered, nor on queued work")
    func agentStates() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            let queued = try await client.send(.post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .queued))
            #expect(queued.status == .badRequest)
            let early = try await client.send(.post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .running))
            #expect(early.status == .conflict)
        }
    }

    @Test("a running invocation the agent no longer lists is marked lost")
    func forgottenIsLost() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let kept = try await client.submit("sleep 5", to: ["edge-1"], token: op)
            let forgotten = try await client.submit("sleep 5", to: ["edge-1"], token: op)
            _ = try await client.poll(token: node)
            for id in [kept, forgotten] {
                _ = try await client.send(.post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .running))
            }
            _ = try await client.poll(token: node, active: [kept])
            let keptState = try await client.send(.get, "/v1/commands/\(kept)", token: op).decode(CommandDetail.self)
            let lostState = try await client.send(.get, "/v1/commands/\(forgotten)", token: op).decode(CommandDetail.self)
            #expect(keptState.invocations.first?.state == .running)
            #expect(lostState.invocations.first?.state == .lost)
            #expect(lostState.invocations.first?.reason?.contains("no longer knows") == true)
        }
    }

    @Test("cancel stops queued work at once and asks the agent to stop delivered work")
    func cancel() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node1 = try await client.register("edge-1")
            _ = try await client.register("edge-2")
            let id = try await client.submit("sleep 100", to: ["edge-1", "edge-2"], token: op)
            _ = try await client.poll(token: node1)
            _ = try await client.send(.post, "/v1/agents/status", token: node1, json: StatusReport(commandId: id, state: .running))
            let response = try await client.send(.post, "/v1/commands/\(id)/cancel", token: op)
            #expect(response.status == .ok)
            let body = try response.decode(CancelResponse.self)
            #expect(body.cancelled == 1 && body.cancelling == 1)
            let poll = try await client.poll(token: node1)
            #expect(poll.cancel == [id])
            let reported = try await client.send(
                .post, "/v1/agents/status", token: node1, json: StatusReport(commandId: id, state: .cancelled, signal: 15))
            #expect(reported.status == .ok)
            let detail = try await client.send(.get, "/v1/commands/\(id)", token: op).decode(CommandDetail.self)
            #expect(detail.invocations.map(\.state) == [.cancelled, .cancelled])
            #expect(try await client.poll(token: node1).cancel.isEmpty)
            let audit = try await fleet.sql(
                "SELECT action FROM audit_events WHERE action IN ('submit', 'cancel') ORDER BY id").map { try $0.decode(String.self) }
            #expect(audit == ["submit", "cancel"])
        }
    }

    @Test("undelivered invocations expire after the delivery deadline; runs on vanished nodes are lost")
    func reaper() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            let op = try await fleet.operatorToken()
            let running = try await Self.runOnEdge1(client, op: op)
            _ = try await client.register("edge-2")
            let idle = try await client.submit("true", to: ["edge-2"], token: op)
            // The database decides both: move the delivery deadline and edge-1's last poll into the past.
            let lostAfter = fleet.configuration.lostAfterSeconds
            _ = try await fleet.sql("UPDATE invocations SET deliver_by = now() - interval '1 second' WHERE command_id = \(idle)")
            _ = try await fleet.sql(
                "UPDATE nodes SET last_seen_at = now() - make_interval(secs => \(lostAfter + 1)) WHERE node_id = 'edge-1'")
            try await Self.queue(fleet, parts).reap(lostAfterSeconds: lostAfter)
            let states = try await [running, idle].asyncMap { id in try await Self.state(of: id, client, op) }
            #expect(states == [.lost, .expired])
        }
    }

    @Test("the reaper runs a round at start and then once per interval")
    func reaperRounds() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            // setup: a run on edge-1, and a reaper on a test clock that calls a node lost after a
            // minute (the app's own reaper waits 900 s, so only this one can act)
            let op = try await fleet.operatorToken()
            let id = try await Self.runOnEdge1(client, op: op)
            let clock = ManualClock()
            let reaper = LeaseReaper(
                queue: Self.queue(fleet, parts), lostAfterSeconds: 60, interval: .seconds(5), logger: fleet.logger, clock: clock)
            let rounds = Task { try await reaper.run() }
            await clock.waitForSleepers()
            _ = try await fleet.sql("UPDATE nodes SET last_seen_at = now() - interval '2 minutes' WHERE node_id = 'edge-1'")
            // act: almost an interval passes, then the rest of it
            clock.advance(by: .milliseconds(4999))
            #expect(try await Self.state(of: id, client, op) == .running)
            clock.advance(by: .milliseconds(1))
            await clock.waitForSleepers()
            // check
            #expect(try await Self.state(of: id, client, op) == .lost)
            rounds.cancel()
            try await rounds.value
        }
    }

    /// Registers `edge-1` and has it run `sleep 60`.
    static func runOnEdge1(_ client: any TestClientProtocol, op: String) async throws -> UUID {
        let node = try await client.register("edge-1")
        let id = try await client.submit("sleep 60", to: ["edge-1"], token: op)
        _ = try await client.poll(token: node)
        _ = try await client.send(.post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .running))
        return id
    }

    static func queue(_ fleet: TestFleet, _ parts: AgentServiceParts) -> CommandQueue {
        CommandQueue(
            database: parts.database, leaseSeconds: fleet.configuration.leaseSeconds,
            deliveryTimeoutSeconds: fleet.configuration.deliveryTimeoutSeconds)
    }

    static func state(of id: UUID, _ client: any TestClientProtocol, _ op: String) async throws -> InvocationState? {
        try await client.send(.get, "/v1/commands/\(id)", token: op).decode(CommandDetail.self).invocations.first?.state
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
