import FleetProtocol
import Foundation
import Hummingbird
import Logging

/// Who am I, operator tokens, and the audit trail. The role each route needs is in ``OperatorPolicy``.
struct AccessController: Sendable {
    let auth: Authenticator
    let store: OperatorTokenStore
    let registry: OperatorTokenRegistry
    let audit: AuditReader

    func addRoutes(to router: Router<FleetRequestContext>) {
        router.get("/v1/me") { request, context in try await me(request, context) }
        router.get("/v1/operator-tokens") { request, context in try await listTokens(request, context) }
        router.post("/v1/operator-tokens/{jti}/revoke") { request, context in try await revokeToken(request, context) }
        router.get("/v1/audit") { request, context in try await readAudit(request, context) }
    }

    /// The caller's name and role, so a console offers only what the token may do.
    func me(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<OperatorSelf> {
        let caller = try await auth.requireOperator(request, context)
        return JSONBody(OperatorSelf(name: caller.name, role: caller.role, jti: caller.jti.uuidString, expiresAt: caller.expiresAt))
    }

    func listTokens(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<OperatorTokenList> {
        _ = try await auth.requireOperator(request, context)
        let limit = try request.queryInt("limit", in: 1...10_000) ?? 1000
        return JSONBody(OperatorTokenList(tokens: try await store.list(limit: limit)))
    }

    /// Ends the token at once: this replica at once, the others on the NOTIFY. Idempotent.
    func revokeToken(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<OperatorTokenRevokeResponse> {
        let caller = try await auth.requireOperator(request, context)
        guard let text = context.parameters.get("jti")?.removingPercentEncoding, let jti = UUID(uuidString: text) else {
            throw HTTPAPIError.badRequest("token id (jti) must be a UUID", code: "invalid_jti")
        }
        guard let response = try await store.revoke(jti: jti, actor: caller.name) else {
            throw HTTPAPIError.notFound("no operator token '\(jti.uuidString)'")
        }
        registry.markRevoked(jti)
        if response.revokedNow {
            context.logger.notice(
                "operator token revoked", metadata: ["jti": "\(jti)", "name": "\(response.token.name)", "by": "\(caller.name)"])
        }
        return JSONBody(response)
    }

    func readAudit(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<AuditPage> {
        _ = try await auth.requireOperator(request, context)
        return JSONBody(try await audit.page(try Self.auditQuery(request)))
    }

    /// Every filter checked before any query: a bad one is a 400 naming it.
    static func auditQuery(_ request: Request) throws -> AuditQuery {
        var query = AuditQuery()
        query.limit = try request.queryInt("limit", in: 1...500) ?? 100
        if let cursor = try OutputController.single("cursor", of: request), !cursor.isEmpty {
            guard let row = AuditQuery.row(ofCursor: cursor) else {
                throw HTTPAPIError.badRequest("cursor is not a cursor this API returned", code: "invalid_cursor")
            }
            query.before = row
        }
        if let actor = try OutputController.single("actor", of: request) {
            guard (1...128).contains(actor.utf8.count), !actor.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { throw HTTPAPIError.badRequest("actor must be 1-128 bytes without control characters", code: "invalid_filter") }
            query.actor = actor
        }
        if let action = try OutputController.single("action", of: request) {
            guard let known = AuditAction(rawValue: action) else {
                let names = AuditAction.allCases.map(\.rawValue).joined(separator: ", ")
                throw HTTPAPIError.badRequest("action must be one of: \(names)", code: "invalid_filter")
            }
            query.action = known
        }
        return query
    }
}
