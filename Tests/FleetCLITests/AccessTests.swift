import FleetClient
import FleetProtocol
import Foundation
import Testing

@testable import FleetCLI

@Suite("fleet tokens, audit")
struct AccessTests {
    static let jti = "0B6F3C1E-8D2A-4F7B-9C11-5E4D3A2B1C0F"

    static func fake() -> FakeFleet {
        let api = FakeFleet()
        let issued = Date(timeIntervalSince1970: 1_799_990_000)
        api.update {
            $0.tokens = [
                OperatorTokenInfo(
                    jti: Self.jti, name: "alice", role: .admin, issuedAt: issued, expiresAt: Date(timeIntervalSince1970: 1_802_000_000),
                    revokedAt: nil),
                OperatorTokenInfo(
                    jti: "11111111-2222-3333-4444-555555555555", name: "ci", role: .viewer, issuedAt: issued,
                    expiresAt: Date(timeIntervalSince1970: 1_800_000_000), revokedAt: nil),
            ]
            $0.auditEvents = (0..<5).map(Self.event)
        }
        return api
    }

    static func event(_ index: Int) -> AuditEvent {
        let byAlice = index % 2 == 0
        let at = Date(timeIntervalSince1970: 1_800_000_000 - Double(index))
        return AuditEvent(
            id: Int64(10 - index), at: at, actor: byAlice ? "alice" : "node:edge-1", action: byAlice ? "submit" : "register",
            subject: "s\(index)", address: index == 0 ? "198.51.100.7" : nil)
    }

    @Test("tokens list: an aligned table with each token's state, or the API's JSON")
    func list() async throws {
        let api = Self.fake()
        let table = await fleet(["tokens", "list"], api: api)
        #expect(table.status == 0)
        #expect(
            table.output.out == """
                JTI                                   NAME   ROLE    ISSUED                    EXPIRES                   STATE
                0B6F3C1E-8D2A-4F7B-9C11-5E4D3A2B1C0F  alice  admin   2027-01-15T05:13:20.000Z  2027-02-07T11:33:20.000Z  active
                11111111-2222-3333-4444-555555555555  ci     viewer  2027-01-15T05:13:20.000Z  2027-01-15T08:00:00.000Z  expired

                """)
        let json = await fleet(["tokens", "list", "--json"], api: api)
        let decoded = try FleetJSON.makeDecoder().decode(OperatorTokenList.self, from: Data(json.output.outBytes))
        #expect(decoded.tokens.map(\.name) == ["alice", "ci"])
    }

    @Test("tokens revoke: says whether it revoked now; a jti that is not a UUID is a usage error; a refusal exits 1")
    func revoke() async throws {
        let api = Self.fake()
        let first = await fleet(["tokens", "revoke", Self.jti], api: api)
        #expect(first.status == 0)
        #expect(first.output.out.hasPrefix("revoked \(Self.jti) (alice, admin) at "))
        let again = await fleet(["tokens", "revoke", Self.jti], api: api)
        #expect(again.output.out.contains("was already revoked"))
        let bad = await fleet(["tokens", "revoke", "nope"], api: api)
        #expect(bad.status == 2)
        #expect(bad.output.err.contains("a token jti is a UUID"))
        api.update { $0.failAll = .server(status: 403, code: "role_required", message: "this route needs the admin role") }
        let refused = await fleet(["tokens", "revoke", Self.jti], api: api)
        #expect(refused.status == 1)
        #expect(refused.output.err == "fleet: revoke token failed: 403 role_required: this route needs the admin role\n")
        #expect(api.state.withLock { $0.revokedTokens } == [Self.jti, Self.jti])
    }

    @Test("audit: follows cursors up to --limit, passes the filters, refuses an unknown action")
    func audit() async throws {
        let api = Self.fake()
        let all = await fleet(["audit", "--limit", "4"], api: api)
        #expect(all.status == 0)
        let lines = all.output.out.split(separator: "\n")
        #expect(lines.count == 5, "a header and four events: \(all.output.out)")
        #expect(lines[0].hasPrefix("TIME"))
        #expect(lines[1].contains("alice") && lines[1].contains("submit") && lines[1].hasSuffix("198.51.100.7"))
        let queries = api.state.withLock { $0.auditQueries }
        #expect(queries.map(\.1) == [nil, "2"], "the second page asked with the first page's cursor")
        #expect(queries.map(\.0) == [4, 2], "never more than what --limit still needs")
        let filtered = await fleet(["audit", "--actor", "alice", "--action", "submit", "--json"], api: api)
        let page = try FleetJSON.makeDecoder().decode(AuditPage.self, from: Data(filtered.output.outBytes))
        #expect(page.events.count == 3 && page.events.allSatisfy { $0.actor == "alice" })
        #expect(api.state.withLock { $0.auditQueries.last.map { ($0.2, $0.3) } } ?? (nil, nil) == ("alice", "submit"))
        let bad = await fleet(["audit", "--action", "drop"], api: api)
        #expect(bad.status == 2)
        #expect(bad.output.err.contains("--action must be one of"))
    }
}
