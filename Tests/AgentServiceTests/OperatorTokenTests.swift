import FleetProtocol
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentService

/// Operator tokens are recorded, listed and revoked; a revocation ends the token on every
/// replica at once (an in-memory record refreshed by NOTIFY).
@Suite("Operator tokens")
struct OperatorTokenTests {
    @Test("issued tokens are listed (never the token itself) and a revoked one stops working; revoke is idempotent")
    func listAndRevoke() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup
            let admin = try await fleet.operatorToken("root", role: .admin)
            let viewer = try await fleet.operatorToken("val", role: .viewer)
            let jti = try await client.send(.get, "/v1/me", token: viewer).decode(OperatorSelf.self).jti
            #expect(try await client.send(.get, "/v1/agents", token: viewer).status == .ok)
            // act
            let listed = try await client.send(.get, "/v1/operator-tokens", token: admin)
            let revoked = try await client.send(.post, "/v1/operator-tokens/\(jti)/revoke", token: admin)
            let again = try await client.send(.post, "/v1/operator-tokens/\(jti.lowercased())/revoke", token: admin)
            let refused = try await client.send(.get, "/v1/agents", token: viewer)
            // check
            #expect(listed.status == .ok)
            let tokens = try listed.decode(OperatorTokenList.self).tokens
            #expect(Set(tokens.map(\.name)) == ["root", "val"])
            #expect(tokens.first { $0.jti == jti }?.role == .viewer)
            #expect(!listed.text.contains(viewer) && !listed.text.contains(admin), "a listing never carries a token")
            #expect(revoked.status == .ok)
            #expect(try revoked.decode(OperatorTokenRevokeResponse.self).revokedNow)
            #expect(again.status == .ok)
            let second = try again.decode(OperatorTokenRevokeResponse.self)
            #expect(!second.revokedNow)
            #expect(second.token.revokedAt == (try revoked.decode(OperatorTokenRevokeResponse.self)).token.revokedAt)
            #expect(refused.status == .unauthorized)
            #expect(refused.text.contains("revoked"))
            let rows = try await fleet.sql("SELECT count(*)::int FROM audit_events WHERE action = 'revoke_token' AND subject = \(jti)")
            #expect(try rows.first?.decode(Int.self) == 1, "one audit row: the second call changed nothing")
        }
    }

    @Test("revoke refuses a jti that is not a UUID (400) and an unknown one (404)")
    func revokeBadInput() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let admin = try await fleet.operatorToken("root", role: .admin)
            let bad = try await client.send(.post, "/v1/operator-tokens/'%3B%20DROP%20TABLE/revoke", token: admin)
            #expect(bad.status == .badRequest)
            #expect(bad.errorCode == "invalid_jti")
            let unknown = try await client.send(.post, "/v1/operator-tokens/\(UUID().uuidString)/revoke", token: admin)
            #expect(unknown.status == .notFound)
        }
    }

    @Test("a token revoked on one replica is refused by another at once (its own listener, one database)")
    func revocationAcrossReplicas() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run(.router) { first, firstParts in
            try await fleet.run(.router) { second, secondParts in
                // setup: both replicas listening, both have seen the token
                try await eventually("replica 1 listens") { await firstParts.notifier.isListening }
                try await eventually("replica 2 listens") { await secondParts.notifier.isListening }
                let admin = try await fleet.operatorToken("root", role: .admin)
                let leaked = try await fleet.operatorToken("laptop", role: .operator)
                #expect(try await first.send(.get, "/v1/agents", token: leaked).status == .ok)
                #expect(try await second.send(.get, "/v1/agents", token: leaked).status == .ok)
                let jti = try await second.send(.get, "/v1/me", token: leaked).decode(OperatorSelf.self).jti
                // act
                let revoked = try await first.send(.post, "/v1/operator-tokens/\(jti)/revoke", token: admin)
                // check: the revoking replica at once, the other as soon as the NOTIFY lands
                #expect(revoked.status == .ok)
                #expect(try await first.send(.get, "/v1/agents", token: leaked).status == .unauthorized)
                let started = ContinuousClock.now
                try await eventually("replica 2 refuses the revoked token", timeout: .seconds(5)) {
                    try await second.send(.get, "/v1/agents", token: leaked).status == .unauthorized
                }
                print("operator token revocation seen by the second replica after \(ContinuousClock.now - started)")
                #expect(try await second.send(.get, "/v1/agents", token: admin).status == .ok, "other tokens still work")
            }
        }
    }

    @Test("agent-svc operator-token --list / --revoke work from the host, and a host revocation reaches a running replica")
    func hostCommands() async throws {
        let fleet = try await TestFleet.make()
        let host = OperatorTokenAdmin(configuration: fleet.configuration, logger: fleet.logger, actor: "host:ops")
        try await fleet.run(.router) { client, parts in
            // setup
            try await eventually("the listener is up") { await parts.notifier.isListening }
            let issued = try await host.issue(name: "ci", role: .viewer, ttl: 600)
            #expect(try await client.send(.get, "/v1/agents", token: issued.token).status == .ok)
            // act
            let listed = try await host.list()
            let revoked = try await host.revoke(jti: try #require(UUID(uuidString: issued.jti)))
            let unknown = try await host.revoke(jti: UUID())
            // check
            #expect(listed.map(\.jti).contains(issued.jti))
            #expect(listed.first { $0.jti == issued.jti }?.role == .viewer)
            #expect(revoked?.revokedNow == true)
            #expect(unknown == nil)
            try await eventually("the replica refuses the token revoked on the host", timeout: .seconds(5)) {
                try await client.send(.get, "/v1/agents", token: issued.token).status == .unauthorized
            }
            let audit = try await fleet.sql(
                "SELECT action, actor, address FROM audit_events WHERE subject = \(issued.jti) ORDER BY id")
            let rows = try audit.map { try $0.decode((String, String, String?).self) }
            #expect(rows.map(\.0) == ["issue_token", "revoke_token"])
            #expect(rows.allSatisfy { $0.1 == "host:ops" && $0.2 == "local" })
        }
    }

    @Test("while the listener is down every check asks Postgres, so a revocation is never missed")
    func registryWithoutListener() async throws {
        // setup: a registry that never heard from a listener
        let fleet = try await TestFleet.make()
        let token = try await fleet.operatorToken("val", role: .viewer)
        _ = token
        try await fleet.run { _, parts in
            let store = OperatorTokenStore(database: parts.database)
            let registry = OperatorTokenRegistry(store: store, logger: fleet.logger)
            let jti = try #require(UUID(uuidString: try await store.list(limit: 10)[0].jti))
            #expect(try await registry.standing(of: jti) == .active(.viewer))
            // act: revoked behind the registry's back (no event delivered)
            _ = try await store.revoke(jti: jti, actor: "test")
            // check
            #expect(try await registry.standing(of: jti) == .revoked)
            #expect(try await registry.standing(of: UUID()) == .unrecorded)
            // once loaded and fresh, answers come from memory
            await registry.handle(.connected)
            #expect(try await registry.standing(of: jti) == .revoked)
        }
    }
}
