import FleetProtocol
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentService

/// Selectors, max concurrency, max errors, delivery windows and paged invocations, through the
/// real router and a real Postgres.
@Suite("Rollouts")
struct RolloutTests {
    /// Six nodes: three web (two in eu), two db, one gpu box without a role.
    static let nodes: [(String, [String: String])] = [
        ("web-1", ["role": "web", "region": "eu"]), ("web-2", ["role": "web", "region": "eu"]),
        ("web-3", ["role": "web", "region": "us"]), ("db-1", ["role": "db", "region": "eu"]),
        ("db-2", ["role": "db", "region": "us"]), ("gpu-1", ["gpu": "a100", "region": "us"]),
    ]

    static func registerAll(_ client: any TestClientProtocol) async throws -> [String: String] {
        var tokens: [String: String] = [:]
        for (id, attrs) in nodes { tokens[id] = try await client.register(id, attrs: attrs) }
        return tokens
    }

    static func submit(
        _ client: any TestClientProtocol, token: String, _ request: SubmitCommandRequest
    ) async throws -> TestResponse {
        try await client.send(.post, FleetPaths.submit, token: token, json: request)
    }

    static func run(_ cmd: String) -> CommandPayload { .runCommand(RunCommandPayload(cmd: cmd)) }

    @Test(
        "a selector resolves to registered, unrevoked nodes, offline ones included",
        arguments: [
            ("role=web", ["web-1", "web-2", "web-3"]),
            ("role=web,region=eu", ["web-1", "web-2"]),
            ("role in (web,db),region!=eu", ["db-2", "web-3"]),
            ("!role", ["gpu-1"]),
            ("gpu", ["gpu-1"]),
            ("role notin (web)", ["db-1", "db-2", "gpu-1"]),
            ("*", ["db-1", "db-2", "gpu-1", "web-2", "web-3"]),
        ])
    func selectorResolves(selector: String, expected: [String]) async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup: every node registered (none has polled: all offline), web-1 revoked except for `role=web,region=eu`
            _ = try await Self.registerAll(client)
            let op = try await fleet.operatorToken()
            let revokeWeb1 = selector != "role=web,region=eu" && selector != "role=web"
            if revokeWeb1 { _ = try await client.send(.post, "/v1/agents/web-1/revoke", token: op) }
            let want = revokeWeb1 ? expected.filter { $0 != "web-1" } : expected
            // act
            let preview = try await client.send(
                .get, "/v1/agents?selector=\(selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", token: op)
            let response = try await Self.submit(client, token: op, SubmitCommandRequest(targets: [], selector: selector, payload: Self.run("true")))
            // check: the preview and the submit agree, and the command remembers its selector
            #expect(response.status == .created, "\(response.text)")
            let submitted = try response.decode(SubmitCommandResponse.self)
            #expect(submitted.targets.sorted() == want.sorted())
            #expect(try preview.decode(NodeListResponse.self).nodes.map(\.nodeId).sorted() == want.sorted())
            let detail = try await client.send(.get, "/v1/commands/\(submitted.commandId.uuidString)", token: op).decode(CommandDetail.self)
            #expect(detail.command.selector == (try NodeSelector(parsing: selector)).description)
            #expect(detail.command.counts.queued == want.count)
        }
    }

    @Test("bad targeting is a 400 that queues nothing")
    func badTargeting() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            _ = try await Self.registerAll(client)
            let op = try await fleet.operatorToken()
            let cases: [(SubmitCommandRequest, String, String)] = [
                (SubmitCommandRequest(targets: [], selector: "role=nothing", payload: Self.run("true")), "no_targets", "matches no registered node"),
                (SubmitCommandRequest(targets: [], selector: "role in (web", payload: Self.run("true")), "invalid_selector", "position 12"),
                (SubmitCommandRequest(targets: ["web-1"], selector: "role=web", payload: Self.run("true")), "bad_request", "not both"),
                (
                    SubmitCommandRequest(targets: ["web-1"], payload: Self.run("true"), maxConcurrency: .count(0)), "invalid_rollout",
                    "max_concurrency"
                ),
                (SubmitCommandRequest(targets: ["web-1"], payload: Self.run("true"), maxConcurrency: .percent(101)), "invalid_rollout", "1%–100%"),
                (SubmitCommandRequest(targets: ["web-1"], payload: Self.run("true"), maxErrors: .count(-1)), "invalid_rollout", "max_errors"),
                (SubmitCommandRequest(targets: ["web-1"], payload: Self.run("true"), deliverWithinSec: 0), "invalid_rollout", "deliver_within_sec"),
            ]
            for (request, code, phrase) in cases {
                let response = try await Self.submit(client, token: op, request)
                #expect(response.status == .badRequest, "\(response.text)")
                #expect(response.errorCode == code, "\(response.text)")
                #expect(response.text.contains(phrase), "\(response.text)")
            }
            let junk = try await client.send(
                .post, FleetPaths.submit, token: op,
                raw: #"{"command_type":"RunCommand","targets":["web-1"],"payload":{"cmd":"true"},"max_errors":"lots"}"#)
            #expect(junk.status == .badRequest)
            let history = try await client.send(.get, "/v1/commands", token: op).decode(CommandListResponse.self)
            #expect(history.commands.isEmpty)
        }
    }

    @Test("max_concurrency hands out at most N at a time and the next node is woken when a slot frees")
    func concurrencyLimit() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let tokens = try await Self.registerAll(client)
            let op = try await fleet.operatorToken()
            let response = try await Self.submit(
                client, token: op, SubmitCommandRequest(targets: [], selector: "*", payload: Self.run("true"), maxConcurrency: .percent(30)))
            let id = try response.decode(SubmitCommandResponse.self).commandId
            // act: every node polls once
            var delivered: [String] = []
            for (node, _) in Self.nodes {
                if try await !client.poll(token: tokens[node]!).assignments.isEmpty { delivered.append(node) }
            }
            // check: 30% of 6 is 2 (rounded up)
            #expect(delivered.count == 2, "\(delivered)")
            let detail = try await client.send(.get, "/v1/commands/\(id.uuidString)", token: op).decode(CommandDetail.self)
            #expect(detail.command.rollout?.maxConcurrency == 2)
            #expect(detail.command.rollout?.maxConcurrencySpec == .percent(30))
            #expect(detail.command.rollout.map { $0.progress(detail.command.counts) } == "2 running of max 2, 4 waiting, 0 errors")
            // act: one finishes; a waiting node may take its slot, but only one
            _ = try await client.send(
                .post, "/v1/agents/status", token: tokens[delivered[0]]!, json: StatusReport(commandId: id, state: .succeeded, exitCode: 0))
            var next: [String] = []
            for (node, _) in Self.nodes where !delivered.contains(node) {
                if try await !client.poll(token: tokens[node]!).assignments.isEmpty { next.append(node) }
            }
            #expect(next.count == 1, "\(next)")
        }
    }

    @Test("more errors than max_errors stops sending: waiting invocations end cancelled with the reason, in-flight ones finish")
    func maxErrorsStop() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let tokens = try await Self.registerAll(client)
            let op = try await fleet.operatorToken()
            let response = try await Self.submit(
                client, token: op,
                SubmitCommandRequest(targets: [], selector: "*", payload: Self.run("false"), maxConcurrency: .count(2), maxErrors: .count(1)))
            let id = try response.decode(SubmitCommandResponse.self).commandId
            // Polls every node once; returns the nodes that were handed the command.
            func pollAll() async throws -> [String] {
                var got: [String] = []
                for (node, _) in Self.nodes where try await !client.poll(token: tokens[node]!).assignments.isEmpty { got.append(node) }
                return got
            }
            func fail(_ node: String) async throws {
                _ = try await client.send(
                    .post, "/v1/agents/status", token: tokens[node]!, json: StatusReport(commandId: id, state: .failed, exitCode: 1))
            }
            // act: two run; the first fails (1 error, tolerated) and a third takes its slot
            let first = try await pollAll()
            #expect(first.count == 2)
            try await fail(first[0])
            let third = try await pollAll()
            #expect(third.count == 1)
            // act: the second fails (2 errors > 1): the rest are cancelled, the third still runs and fails
            try await fail(first[1])
            #expect(try await pollAll().isEmpty, "nothing more is sent")
            try await fail(third[0])
            // check
            let detail = try await client.send(.get, "/v1/commands/\(id.uuidString)", token: op).decode(CommandDetail.self)
            #expect(detail.command.counts.failed == 3 && detail.command.counts.cancelled == 3)
            #expect(detail.command.rollout?.stoppedReason?.contains("max errors (1) exceeded") == true)
            let cancelled = detail.invocations.filter { $0.state == .cancelled }
            #expect(cancelled.allSatisfy { $0.reason?.contains("max errors") == true })
        }
    }

    @Test("an invocation not delivered within deliver_within_sec expires")
    func deliveryWindow() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client, parts in
            _ = try await Self.registerAll(client)
            let op = try await fleet.operatorToken()
            let response = try await Self.submit(
                client, token: op, SubmitCommandRequest(targets: ["db-1"], payload: Self.run("true"), deliverWithinSec: 60))
            let id = try response.decode(SubmitCommandResponse.self).commandId
            let deadline = try await fleet.sql("SELECT extract(epoch FROM deliver_by - created_at)::int FROM invocations WHERE command_id = \(id)")
            #expect(try deadline.first?.decode(Int.self) == 60)
            // act: the window passes while the node is offline
            _ = try await fleet.sql("UPDATE invocations SET deliver_by = now() - interval '1 second' WHERE command_id = \(id)")
            try await LifecycleTests.queue(fleet, parts).reap(lostAfterSeconds: 3600)
            // check
            let detail = try await client.send(.get, "/v1/commands/\(id.uuidString)", token: op).decode(CommandDetail.self)
            #expect(detail.invocations.map(\.state) == [.expired])
            #expect(detail.command.rollout?.deliverWithinSec == 60)
        }
    }

    @Test("a command's invocations are paged in node order and can be filtered by state")
    func pagedInvocations() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let tokens = try await Self.registerAll(client)
            let op = try await fleet.operatorToken()
            let id = try await client.submit("true", to: Self.nodes.map(\.0), token: op)
            _ = try await client.poll(token: tokens["web-2"]!)
            // act: pages of 4
            var seen: [String] = []
            var cursor: String?
            repeat {
                let query = cursor.map { "&cursor=\($0)" } ?? ""
                let page = try await client.send(.get, "/v1/commands/\(id.uuidString)?limit=4\(query)", token: op).decode(CommandDetail.self)
                #expect(page.command.counts.total == 6, "counts cover the whole command")
                seen += page.invocations.map(\.nodeId)
                cursor = page.nextCursor
            } while cursor != nil
            // check
            #expect(seen == Self.nodes.map(\.0).sorted())
            let delivered = try await client.send(.get, "/v1/commands/\(id.uuidString)?state=delivered", token: op).decode(CommandDetail.self)
            #expect(delivered.invocations.map(\.nodeId) == ["web-2"])
            let bad = try await client.send(.get, "/v1/commands/\(id.uuidString)?state=sleeping", token: op)
            #expect(bad.status == .badRequest)
        }
    }
}
