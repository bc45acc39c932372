import FleetAuth
import FleetProtocol
import Foundation
import Logging
import PostgresNIO

/// `agent-svc operator-token` from the host: mint-and-record, list, revoke, straight against
/// Postgres with the service's DB_* settings (like `migrate`), so it works with no replica up.
/// Every act writes its audit row; issue and revoke NOTIFY the running replicas.
public struct OperatorTokenAdmin: Sendable {
    let configuration: ServiceConfiguration
    let logger: Logger
    /// Recorded as the actor of these acts (the host user).
    let actor: String

    public init(configuration: ServiceConfiguration, logger: Logger, actor: String) {
        self.configuration = configuration
        self.logger = logger
        self.actor = actor
    }

    /// Mints a token for `name` with `role` and records it; the token is only returned, never stored.
    public func issue(name: String, role: OperatorRole, ttl: TimeInterval) async throws -> IssuedToken {
        let authority = try await TokenAuthority(secret: configuration.signingSecret)
        let issued = try await authority.issueOperatorToken(name: name, role: role, ttl: ttl)
        let info = OperatorTokenInfo(
            jti: issued.jti, name: name, role: role, issuedAt: issued.issuedAt, expiresAt: issued.expiresAt, revokedAt: nil)
        try await withStore { store in try await store.record(info, actor: actor) }
        return issued
    }

    /// Every recorded token, newest first.
    public func list() async throws -> [OperatorTokenInfo] {
        try await withStore { store in try await store.list(limit: 100_000) }
    }

    /// Revokes `jti`; nil when no such token is recorded.
    public func revoke(jti: UUID) async throws -> OperatorTokenRevokeResponse? {
        try await withStore { store in try await store.revoke(jti: jti, actor: actor) }
    }

    private func withStore<T: Sendable>(_ body: @escaping @Sendable (OperatorTokenStore) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: configuration.database.clientConfiguration, backgroundLogger: logger)
        let store = OperatorTokenStore(database: Database(client: client, logger: logger))
        return try await withRunningClient(client, settings: configuration.database, timeoutSeconds: 30) {
            // The audit trail's address for acts done on the host, not over HTTP.
            try await AuditLog.$clientAddress.withValue("local") { try await body(store) }
        }
    }
}
