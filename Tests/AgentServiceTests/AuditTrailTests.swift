import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import AgentService

/// `GET /v1/audit`: every mutating route leaves its row (in the same transaction as its
/// change), newest first, keyset-paged, with validated filters.
@Suite("Audit trail")
struct AuditTrailTests {
    static let forwarded = HTTPField.Name("X-Forwarded-For")!

    @Test("every mutating route writes one row: actor, action, subject and the client address")
    func everyMutatingRoute() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup
            let admin = try await fleet.operatorToken("root", role: .admin)
            let spare = try await fleet.operatorToken("spare", role: .viewer)
            let spareJTI = try await client.send(.get, "/v1/me", token: spare).decode(OperatorSelf.self).jti
            let via: HTTPFields = [Self.forwarded: "203.0.113.9, 198.51.100.7"]
            // act: each mutating route once, as Kong would forward it
            let registered = try await client.send(
                .post, "/v1/agents/register", headers: [enrollmentHeader: TestFleet.enrollment, Self.forwarded: "198.51.100.7"],
                json: RegisterRequest(nodeId: "edge-1", attrs: [:]))
            _ = try await client.register("edge-2")
            let submitted = try await client.send(
                .post, "/v1/commands/submit", token: admin, headers: via,
                json: SubmitCommandRequest(targets: ["edge-1"], payload: .runCommand(.init(cmd: "true", timeoutSec: 5))))
            let command = try submitted.decode(SubmitCommandResponse.self).commandId
            let cancelled = try await client.send(.post, "/v1/commands/\(command)/cancel", token: admin, headers: via)
            let revoked = try await client.send(.post, "/v1/agents/edge-2/revoke", token: admin, headers: via)
            var uploadHeaders: HTTPFields = [.authorization: "Bearer \(admin)", Self.forwarded: "198.51.100.7"]
            uploadHeaders[.contentType] = "application/octet-stream"
            let uploaded = try await client.execute(
                uri: "/v1/artifacts?name=tool&version=1.0", method: .post, headers: uploadHeaders, body: .init(string: "bits"))
            let artifact = try uploaded.decode(ArtifactInfo.self).artifactId
            let tokenRevoked = try await client.send(.post, "/v1/operator-tokens/\(spareJTI)/revoke", token: admin, headers: via)
            let page = try await client.send(.get, "/v1/audit?limit=500", token: admin)
            // check
            for response in [registered, submitted, cancelled, revoked, uploaded, tokenRevoked] {
                #expect(response.status.code < 300, "\(response.status) \(response.text)")
            }
            let events = try page.decode(AuditPage.self).events
            func one(_ action: AuditAction, _ subject: String) -> AuditEvent? {
                let matching = events.filter { $0.action == action.rawValue && $0.subject == subject }
                #expect(matching.count == 1, "\(action) \(subject): \(matching.count) rows")
                return matching.first
            }
            #expect(one(.register, "edge-1")?.actor == "node:edge-1")
            #expect(one(.register, "edge-1")?.address == "198.51.100.7")
            for (action, subject) in [
                (AuditAction.submit, command.uuidString), (.cancel, command.uuidString), (.revoke, "edge-2"),
                (.uploadArtifact, artifact), (.revokeToken, spareJTI),
            ] {
                let event = one(action, subject)
                #expect(event?.actor == "root", "\(action)")
                #expect(event?.address == "198.51.100.7", "\(action): the hop the gateway appended, not what the client claimed")
            }
            #expect(one(.issueToken, spareJTI)?.actor == "host:test")
            #expect(one(.issueToken, spareJTI)?.address == "local")
            #expect(zip(events, events.dropFirst()).allSatisfy { $0.id > $1.id }, "newest first")
        }
    }

    @Test("a refused act writes no row: the audit row shares the act's transaction")
    func refusedActLeavesNoRow() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let admin = try await fleet.operatorToken("root", role: .admin)
            let refused = try await client.send(
                .post, "/v1/commands/submit", token: admin,
                json: SubmitCommandRequest(targets: ["nowhere"], payload: .runCommand(.init(cmd: "true", timeoutSec: 5))))
            #expect(refused.status == .badRequest)
            let page = try await client.send(.get, "/v1/audit?action=submit", token: admin).decode(AuditPage.self)
            #expect(page.events.isEmpty)
        }
    }

    @Test("pages newest first with an opaque cursor: no row twice, none skipped; actor and action filter")
    func pagingAndFilters() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup: 7 submits by two operators, plus the registration and the token issues
            let alice = try await fleet.operatorToken("alice", role: .admin)
            let bob = try await fleet.operatorToken("bob", role: .operator)
            _ = try await client.register("edge-1")
            for index in 0..<7 { _ = try await client.submit("echo \(index)", to: ["edge-1"], token: index % 2 == 0 ? alice : bob) }
            let everything = try await client.send(.get, "/v1/audit", token: alice).decode(AuditPage.self)
            // act: walk the trail three at a time
            var seen: [AuditEvent] = []
            var cursor: String?
            repeat {
                let query = cursor.map { "&cursor=\($0)" } ?? ""
                let page = try await client.send(.get, "/v1/audit?limit=3\(query)", token: alice)
                #expect(page.status == .ok)
                let decoded = try page.decode(AuditPage.self)
                #expect(decoded.events.count <= 3)
                seen += decoded.events
                cursor = decoded.nextCursor
            } while cursor != nil && seen.count < 100
            let byBob = try await client.send(.get, "/v1/audit?actor=bob", token: alice).decode(AuditPage.self)
            let submits = try await client.send(.get, "/v1/audit?action=submit&actor=alice", token: alice).decode(AuditPage.self)
            // check
            #expect(seen.map(\.id) == everything.events.map(\.id))
            #expect(seen.count == 7 + 1 + 2)
            #expect(everything.nextCursor == nil)
            #expect(byBob.events.count == 3 && byBob.events.allSatisfy { $0.actor == "bob" })
            #expect(submits.events.count == 4 && submits.events.allSatisfy { $0.action == "submit" && $0.actor == "alice" })
        }
    }

    @Test("bad filters are a 400 naming the problem; the trail is for admins only")
    func validation() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let admin = try await fleet.operatorToken("root", role: .admin)
            let cases: [(String, String)] = [
                ("limit=0", "bad_request"), ("limit=501", "bad_request"), ("limit=ten", "bad_request"),
                ("cursor=not-a-cursor", "invalid_cursor"), ("cursor=\(AuditQuery.cursor(after: 5))x%27", "invalid_cursor"),
                ("action=delete_everything", "invalid_filter"), ("actor=\(String(repeating: "a", count: 129))", "invalid_filter"),
                ("actor=a&actor=b", "bad_request"), ("actor=%01", "invalid_filter"),
            ]
            for (query, code) in cases {
                let response = try await client.send(.get, "/v1/audit?\(query)", token: admin)
                #expect(response.status == .badRequest, "\(query): \(response.status)")
                #expect(response.errorCode == code, "\(query): \(response.text)")
            }
            let sqlish = try await client.send(.get, "/v1/audit?actor=%27%20OR%201%3D1%20--", token: admin)
            #expect(sqlish.status == .ok)
            #expect(try sqlish.decode(AuditPage.self).events.isEmpty)
            for role in [OperatorRole.viewer, .operator] {
                let response = try await client.send(.get, "/v1/audit", token: try await fleet.operatorToken("x", role: role))
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test("a cursor names a row and nothing else")
    func cursorRoundTrip() {
        #expect(AuditQuery.row(ofCursor: AuditQuery.cursor(after: 42)) == 42)
        #expect(AuditQuery.row(ofCursor: "42") == nil)
        #expect(AuditQuery.row(ofCursor: AuditQuery.cursor(after: 0)) == nil)
        #expect(ClientAddressMiddleware.address(forwardedFor: ["1.2.3.4, 5.6.7.8"], peer: nil) == "5.6.7.8")
        #expect(ClientAddressMiddleware.address(forwardedFor: ["1.2.3.4", "9.9.9.9"], peer: nil) == "9.9.9.9")
        #expect(ClientAddressMiddleware.address(forwardedFor: [], peer: nil) == nil)
    }
}
