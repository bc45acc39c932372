import FleetProtocol
import FleetTestSupport
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentService

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
            let audit = try await fleet.sql("SELECT actor, action FROM audit_events WHERE action = 'submit'").map { try $0.decode((String, String).self) }
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
        // The database decides when a lease lapses: the test moves it instead of waiting it out.
        let fleet = try await TestFleet.make { $0.leaseSeconds = 300 }
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            let first = try await client.poll(token: node)
            #expect(first.assignments.map(\.commandId) == [id])
            #expect(try await client.poll(token: node).assignments.isEmpty)
            try await fleet.lapseLease(of: id)
            let again = try await client.poll(token: node)
            #expect(again.assignments.map(\.commandId) == [id])
            #expect(again.assignments.first?.deliveryCount == 2)
            // once the agent reports running, the lease no longer matters
            _ = try await client.send(.post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .running))
            try await fleet.lapseLease(of: id)
            #expect(try await client.poll(token: node).assignments.isEmpty)
        }
    }

    @Test("delivered work the agent lists as known keeps its lease and is not delivered again")
    func knownWorkKeepsItsLease() async throws {
        let fleet = try await TestFleet.make { $0.leaseSeconds = 300 }
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            #expect(try await client.poll(token: node, active: []).assignments.map(\.commandId) == [id])
            for _ in 0..<3 {
                // however long the agent holds it, listing it keeps it
                try await fleet.lapseLease(of: id)
                #expect(try await client.poll(token: node, active: [id]).assignments.isEmpty)
            }
            // once the agent forgets it (restart before recording), it is delivered again
            #expect(try await client.poll(token: node, active: []).assignments.map(\.commandId) == [id])
        }
    }

    @Test("a submit wakes a waiting long-poll through NOTIFY, long before its wait ends")
    func notifyWakesPoll() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            try await eventually("the change listener is up") { await parts.notifier.isListening }
            let clock = ContinuousClock()
            async let waiting: (PollResponse, Duration) = {
                let start = clock.now
                let response = try await client.poll(token: node, wait: 20)
                return (response, clock.now - start)
            }()
            try await eventually("the poll is held") { await parts.notifier.parked == 1 }
            let submittedAt = clock.now
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            let (response, _) = try await waiting
            let latency = clock.now - submittedAt
            #expect(response.assignments.map(\.commandId) == [id])
            // Woken by the NOTIFY, not by the 20 s wait (latency itself is measured by the benchmarks).
            #expect(latency < .seconds(10), "woken \(latency) after the submit")
        }
    }

    @Test("an empty long-poll returns after its wait with no work")
    func emptyPollWaits() async throws {
        let clock = ManualClock()
        let fleet = try await TestFleet.make(clock: clock)
        try await fleet.run { client, parts in
            let node = try await client.register("edge-1")
            async let waiting = client.poll(token: node, wait: 1)
            try await eventually("the poll is held") { await parts.notifier.parked == 1 }
            await clock.waitForSleepers(3)  // the expiry ticker, the reaper and the retention sweeper
            // 900 ms on, the ticker has looked (and sleeps again), and the poll is still held
            clock.advance(by: .milliseconds(900))
            await clock.waitForSleepers(3)
            #expect(await parts.notifier.parked == 1)
            clock.advance(by: .milliseconds(300))
            let response = try await waiting
            #expect(response.assignments.isEmpty && response.cancel.isEmpty)
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

/// Work handed to a poll the agent no longer reads must not wait out its lease.
@Suite("Abandoned polls")
struct AbandonedPollTests {
    @Test("delivered work the agent does not list as known is delivered again on its next poll")
    func unlistedDeliveredWorkIsDeliveredAgain() async throws {
        let fleet = try await TestFleet.make { $0.leaseSeconds = 300 }
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            let node = try await client.register("edge-1")
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            // the answer to this poll is lost on the way (the agent restarted)
            #expect(try await client.poll(token: node, active: []).assignments.map(\.commandId) == [id])
            // an agent that lists it keeps it; one that does not gets it again, long before the lease ends
            #expect(try await client.poll(token: node, active: [id]).assignments.isEmpty)
            let again = try await client.poll(token: node, active: [])
            #expect(again.assignments.map(\.commandId) == [id])
            #expect(again.assignments.first?.deliveryCount == 2)
            // a client that sends no list (curl, old agents) is left alone
            #expect(try await client.poll(token: node).assignments.isEmpty)
        }
    }

    @Test("a newer poll of the node supersedes an abandoned one, which takes no work")
    func abandonedPollDoesNotClaim() async throws {
        let fleet = try await TestFleet.make { $0.leaseSeconds = 300 }
        try await fleet.run(.live) { client, parts in
            // setup: a poll held by the server whose client went away (an agent that exec'd) …
            let (op, node) = try await Self.abandonHeldPoll(fleet, client, parts)
            // … and the restarted agent's first poll, which finds nothing yet
            #expect(try await client.poll(token: node).assignments.isEmpty)
            // act: work arrives; only the abandoned poll is waiting, and it wakes
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            try await eventually("the woken poll has answered") { await parts.notifier.subscribers(of: "work:edge-1") == 0 }
            // check: it left the work for the agent's next poll (no `active` list: no lapse rule)
            #expect(try await client.poll(token: node).assignments.map(\.commandId) == [id])
        }
    }

    @Test("a leaving poll answers at once with nothing and retires the poll its stopped agent left held")
    func leavingPollRetiresTheHeldOne() async throws {
        let fleet = try await TestFleet.make { $0.leaseSeconds = 300 }
        try await fleet.run(.live) { client, parts in
            // setup: the agent's held poll, then its SIGTERM: it closes the socket and says it is leaving
            let (op, node) = try await Self.abandonHeldPoll(fleet, client, parts)
            let leaving = try await client.send(.post, "/v1/agents/poll", token: node, json: PollRequest(waitSec: 20, leaving: true))
            #expect(leaving.status == .ok)
            #expect(try leaving.decode(PollResponse.self).assignments.isEmpty)
            // act: work arrives for the stopped node
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            try await eventually("the woken poll has answered") { await parts.notifier.subscribers(of: "work:edge-1") == 0 }
            // check: still queued (so its delivery window can run out), and the agent gets it when it is back
            let states = try await fleet.sql("SELECT state FROM invocations WHERE command_id = \(id)")
            #expect(try states.first?.decode(String.self) == "queued")
            #expect(try await client.poll(token: node).assignments.map(\.commandId) == [id])
        }
    }

    /// Registers `edge-1`, has the server hold a 20 s poll for it, then closes that poll's socket
    /// (the server cannot see it close); returns an operator token and the node's token.
    static func abandonHeldPoll(
        _ fleet: TestFleet, _ client: any TestClientProtocol, _ parts: AgentServiceParts
    ) async throws -> (operator: String, node: String) {
        let op = try await fleet.operatorToken()
        let node = try await client.register("edge-1")
        let port = try #require(client.port)
        try await eventually("the change listener is up") { await parts.notifier.isListening }
        let held = try RawConnection.open(port: port)
        RawConnection.send(held, RawConnection.poll(token: node, wait: 20))
        try await eventually("the poll is held") { await parts.notifier.parked == 1 }
        close(held)
        return (op, node)
    }
}

/// A plain TCP client, for requests the test client cannot abandon halfway.
enum RawConnection {
    static func open(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw TestSetupError("cannot connect to 127.0.0.1:\(port)") }
        return fd
    }

    static func poll(token: String, wait: Int) -> String {
        let body = #"{"wait_sec":\#(wait)}"#
        return "POST /v1/agents/poll HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    static func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
