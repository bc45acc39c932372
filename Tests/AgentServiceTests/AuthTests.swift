import FleetAuth
import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Authentication and authorisation")
struct AuthTests {
    /// Every operator route, with a body where it takes one.
    static let operatorRoutes: [(HTTPRequest.Method, String)] = [
        (.post, "/v1/commands/submit"), (.get, "/v1/commands"), (.get, "/v1/commands/00000000-0000-0000-0000-000000000001"),
        (.get, "/v1/commands/00000000-0000-0000-0000-000000000001/logs"),
        (.get, "/v1/commands/00000000-0000-0000-0000-000000000001/output?node_id=edge-1"),
        (.post, "/v1/commands/00000000-0000-0000-0000-000000000001/cancel"),
        (.get, "/v1/agents"), (.get, "/v1/agents/edge-1"), (.post, "/v1/agents/edge-1/revoke"),
    ]
    static let nodeRoutes: [(HTTPRequest.Method, String)] = [
        (.post, "/v1/agents/poll"), (.post, "/v1/agents/token"), (.post, "/v1/agents/status"), (.post, "/v1/commands/logs"),
    ]

    @Test("no route that queues work or reads output answers without a valid token")
    func everyProtectedRouteNeedsAToken() async throws {
        let fleet = try await TestFleet.make()
        let other = try await TokenAuthority(secret: "another-secret-another-secret-12345")
        let forged = try await other.issueOperatorToken(name: "mallory", ttl: 3600).token
        try await fleet.run { client in
            for (method, path) in Self.operatorRoutes + Self.nodeRoutes {
                let missing = try await client.send(method, path, raw: "{}")
                #expect(missing.status == .unauthorized, "\(method) \(path) without a token")
                #expect(missing.errorCode == "unauthorized")
                let garbage = try await client.send(method, path, token: "not.a.jwt", raw: "{}")
                #expect(garbage.status == .unauthorized, "\(method) \(path) with garbage")
                let wrongKey = try await client.send(method, path, token: forged, raw: "{}")
                #expect(wrongKey.status == .unauthorized, "\(method) \(path) signed with another secret")
            }
        }
    }

    @Test("a node token cannot use operator routes, an operator token cannot use node routes")
    func rolesAreSeparate() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let node = try await client.register("edge-1")
            let op = try await fleet.operatorToken()
            for (method, path) in Self.operatorRoutes {
                let response = try await client.send(method, path, token: node, raw: "{}")
                #expect(response.status == .forbidden, "node token on \(method) \(path)")
            }
            for (method, path) in Self.nodeRoutes {
                let response = try await client.send(method, path, token: op, raw: "{}")
                #expect(response.status == .forbidden, "operator token on \(method) \(path)")
            }
        }
    }

    @Test("revoking a node stops its tokens at once, cancels its queued work and is audited")
    func revoke() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let op = try await fleet.operatorToken("bob")
            let node = try await client.register("edge-1")
            let id = try await client.submit("true", to: ["edge-1"], token: op)
            let response = try await client.send(.post, "/v1/agents/edge-1/revoke", token: op)
            #expect(response.status == .ok)
            let poll = try await client.send(.post, "/v1/agents/poll", token: node, json: PollRequest())
            #expect(poll.status == .unauthorized)
            let refresh = try await client.send(.post, "/v1/agents/token", token: node)
            #expect(refresh.status == .unauthorized)
            // re-registering a revoked id is refused too
            let again = try await client.send(
                .post, "/v1/agents/register", token: node, headers: [enrollmentHeader: TestFleet.enrollment],
                json: RegisterRequest(nodeId: "edge-1"))
            #expect(again.status == .forbidden)
            let info = try await client.send(.get, "/v1/agents/edge-1", token: op).decode(NodeInfo.self)
            #expect(info.status == .revoked && !info.online)
            let detail = try await client.send(.get, "/v1/commands/\(id)", token: op).decode(CommandDetail.self)
            #expect(detail.invocations.first?.state == .cancelled)
            let audit = try await fleet.sql("SELECT actor, action, subject FROM audit_events WHERE action = 'revoke'")
                .map { try $0.decode((String, String, String).self) }
            #expect(audit.count == 1 && audit.first?.0 == "bob" && audit.first?.2 == "edge-1")
            // submitting to a revoked node is refused
            let submit = try await client.send(
                .post, "/v1/commands/submit", token: op,
                json: SubmitCommandRequest(targets: ["edge-1"], payload: .runCommand(.init(cmd: "true"))))
            #expect(submit.status == .badRequest)
        }
    }

    @Test("a status report with a revoked node's token is a 401 and changes nothing")
    func revokedNodeCannotReport() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let (id, node, op) = try await fleet.deliveredRun(client, cmd: "true")
            #expect(try await client.send(.post, "/v1/agents/edge-1/revoke", token: op).status == .ok)
            let report = try await client.send(
                .post, "/v1/agents/status", token: node, json: StatusReport(commandId: id, state: .succeeded, exitCode: 0))
            #expect(report.status == .unauthorized)
            let state = try await fleet.sql("SELECT state FROM invocations WHERE command_id = \(id)").first?.decode(String.self)
            #expect(state == "delivered")
        }
    }

    @Test("expired tokens and tokens of an earlier generation are refused")
    func expiredAndStale() async throws {
        let fleet = try await TestFleet.make()
        let past = try await TokenAuthority(secret: TestFleet.secret, now: { Date().addingTimeInterval(-7200) })
        try await fleet.run { client in
            _ = try await client.register("edge-1")
            let expiredNode = try await past.issueNodeToken(nodeId: "edge-1", version: 1, ttl: 3600).token
            #expect(try await client.send(.post, "/v1/agents/poll", token: expiredNode, json: PollRequest()).status == .unauthorized)
            let expiredOp = try await past.issueOperatorToken(name: "alice", ttl: 3600).token
            #expect(try await client.send(.get, "/v1/agents", token: expiredOp).status == .unauthorized)
            let stale = try await fleet.tokens.issueNodeToken(nodeId: "edge-1", version: 0).token
            #expect(try await client.send(.post, "/v1/agents/poll", token: stale, json: PollRequest()).status == .unauthorized)
            let ghost = try await fleet.tokens.issueNodeToken(nodeId: "ghost", version: 1).token
            #expect(try await client.send(.post, "/v1/agents/poll", token: ghost, json: PollRequest()).status == .unauthorized)
        }
    }

    @Test("health and metrics are open; readiness checks the database")
    func openRoutes() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            #expect(try await client.send(.get, "/healthz").status == .ok)
            let ready = try await client.send(.get, "/readyz")
            #expect(ready.status == .ok)
            _ = try await client.register("edge-1")
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.status == .ok)
            for name in [
                "fleet_http_requests_total", "fleet_http_request_duration_seconds", "fleet_queue_depth",
                "fleet_log_chunks_ingested_total", "fleet_log_bytes_ingested_total", "fleet_connected_pollers",
            ] {
                #expect(metrics.text.contains(name), "metrics lack \(name)")
            }
        }
    }
}
