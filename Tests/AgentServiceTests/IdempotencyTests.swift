import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// `Idempotency-Key` on submit: a script that lost the answer can retry without running twice.
@Suite("Idempotent submit")
struct IdempotencyTests {
    static let key = HTTPField.Name("Idempotency-Key")!

    @Test("the same key and body return the first command; another body is 422; nothing is queued twice")
    func sameKeySameCommand() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken()
            _ = try await client.register("edge-1")
            _ = try await client.register("edge-2")
            let body = SubmitCommandRequest(targets: ["edge-2", "edge-1"], payload: .runCommand(.init(cmd: "uptime")))
            // act: the first submit, a retry of it (spelled differently), and a different body with the same key
            let first = try await client.send(.post, FleetPaths.submit, token: op, headers: [Self.key: "retry-1"], json: body)
            let retry = try await client.send(
                .post, FleetPaths.submit, token: op, headers: [Self.key: "retry-1"],
                raw: #"{ "payload": {"cmd": "uptime"}, "targets": ["edge-2", "edge-1"], "command_type": "RunCommand" }"#)
            var other = body
            other.payload = .runCommand(.init(cmd: "reboot"))
            let reused = try await client.send(.post, FleetPaths.submit, token: op, headers: [Self.key: "retry-1"], json: other)
            // check
            #expect(first.status == .created)
            #expect(retry.status == .ok, "\(retry.text)")
            let firstId = try first.decode(SubmitCommandResponse.self).commandId
            let replay = try retry.decode(SubmitCommandResponse.self)
            #expect(replay.commandId == firstId)
            #expect(replay.targets == ["edge-1", "edge-2"])
            #expect(reused.status == .unprocessableContent && reused.errorCode == "idempotency_key_reused", "\(reused.text)")
            let commands = try await fleet.sql("SELECT count(*)::int FROM commands").first?.decode(Int.self)
            let invocations = try await fleet.sql("SELECT count(*)::int FROM invocations").first?.decode(Int.self)
            #expect(commands == 1 && invocations == 2)
        }
    }

    @Test("keys are per operator, expire after 24 h, and must be visible ASCII")
    func scopeAndWindow() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let alice = try await fleet.operatorToken("alice")
            let bob = try await fleet.operatorToken("bob")
            _ = try await client.register("edge-1")
            let body = SubmitCommandRequest(targets: ["edge-1"], payload: .runCommand(.init(cmd: "true")))
            let a = try await client.send(.post, FleetPaths.submit, token: alice, headers: [Self.key: "k"], json: body)
            let b = try await client.send(.post, FleetPaths.submit, token: bob, headers: [Self.key: "k"], json: body)
            #expect(a.status == .created && b.status == .created, "another operator's key is another key")
            // act: a day passes; the key is free again
            _ = try await fleet.sql("UPDATE commands SET created_at = created_at - interval '25 hours'")
            let later = try await client.send(.post, FleetPaths.submit, token: alice, headers: [Self.key: "k"], json: body)
            #expect(later.status == .created)
            #expect(try later.decode(SubmitCommandResponse.self).commandId != (try a.decode(SubmitCommandResponse.self).commandId))
            for bad in ["", String(repeating: "x", count: 256), "with space", "ünï"] {
                let response = try await client.send(.post, FleetPaths.submit, token: alice, headers: [Self.key: bad], json: body)
                #expect(response.status == .badRequest, "'\(bad)': \(response.text)")
            }
        }
    }

    @Test("concurrent retries with one key queue one command")
    func concurrentRetries() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run(.live) { client in
            let op = try await fleet.operatorToken()
            _ = try await client.register("edge-1")
            let body = SubmitCommandRequest(targets: ["edge-1"], payload: .runCommand(.init(cmd: "true")))
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await client.send(.post, FleetPaths.submit, token: op, headers: [Self.key: "burst"], json: body).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1)
            #expect(statuses.filter { $0 == .ok }.count == 7)
            let commands = try await fleet.sql("SELECT count(*)::int FROM commands").first?.decode(Int.self)
            #expect(commands == 1)
        }
    }
}
