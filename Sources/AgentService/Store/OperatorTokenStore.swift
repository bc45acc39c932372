import FleetProtocol
import Foundation
import Logging
import PostgresNIO

/// Where an operator token stands, as far as the record says.
enum OperatorTokenStanding: Sendable, Equatable {
    case active(OperatorRole)
    case revoked
    /// No record of the jti: minted before tokens were recorded, or never by `agent-svc operator-token`.
    case unrecorded
}

/// The record of issued operator tokens in Postgres (never the tokens themselves).
struct OperatorTokenStore: Sendable {
    /// NOTIFY channel: an operator token was issued or revoked; every replica reloads its cache.
    static let channel = "fleet_operator_tokens"

    let database: Database

    /// Records a freshly minted token, with its audit row and the NOTIFY, in one transaction.
    func record(_ info: OperatorTokenInfo, actor: String) async throws {
        guard let jti = UUID(uuidString: info.jti) else {
            throw DatabaseError.unexpected(operation: "record operator token", detail: "jti is not a UUID")
        }
        try await database.transaction("record operator token") { connection in
            try await connection.query(
                """
                INSERT INTO operator_tokens (jti, name, role, issued_at, expires_at)
                VALUES (\(jti), \(info.name), \(info.role.rawValue), \(info.issuedAt), \(info.expiresAt))
                """, logger: database.logger)
            let detail = try Self.json(["name": info.name, "role": info.role.rawValue])
            try await AuditLog.record(
                on: connection, logger: database.logger, actor: actor, action: AuditAction.issueToken.rawValue,
                subject: info.jti, detailJSON: detail)
            try await connection.query("SELECT pg_notify(\(Self.channel), \(info.jti))", logger: database.logger)
        }
    }

    /// Every recorded token, newest first.
    func list(limit: Int) async throws -> [OperatorTokenInfo] {
        let rows = try await database.query(
            "list operator tokens",
            """
            SELECT jti, name, role, issued_at, expires_at, revoked_at FROM operator_tokens
            ORDER BY issued_at DESC, jti LIMIT \(limit)
            """)
        return try rows.map(Self.decode)
    }

    /// Revokes `jti` (idempotent); nil when no such token is recorded. The audit row and the
    /// NOTIFY are written only when this call revoked it.
    func revoke(jti: UUID, actor: String) async throws -> OperatorTokenRevokeResponse? {
        try await database.transaction("revoke operator token") { connection in
            let rows = try await connection.rows(
                """
                WITH before AS (SELECT jti, revoked_at IS NULL AS live FROM operator_tokens WHERE jti = \(jti) FOR UPDATE)
                UPDATE operator_tokens t SET revoked_at = COALESCE(t.revoked_at, now()),
                    revoked_by = CASE WHEN before.live THEN \(actor) ELSE t.revoked_by END
                FROM before WHERE t.jti = before.jti
                RETURNING t.jti, t.name, t.role, t.issued_at, t.expires_at, t.revoked_at, before.live
                """, logger: database.logger)
            guard let row = rows.first else { return nil }
            let (id, name, role, issued, expires, revoked, revokedNow) =
                try row.decode((UUID, String, String, Date, Date, Date?, Bool).self)
            let info = try Self.info(jti: id, name: name, role: role, issued: issued, expires: expires, revoked: revoked)
            if revokedNow {
                try await AuditLog.record(
                    on: connection, logger: database.logger, actor: actor, action: AuditAction.revokeToken.rawValue,
                    subject: info.jti, detailJSON: try Self.json(["name": info.name, "role": info.role.rawValue]))
                try await connection.query("SELECT pg_notify(\(Self.channel), \(info.jti))", logger: database.logger)
            }
            return OperatorTokenRevokeResponse(token: info, revokedNow: revokedNow)
        }
    }

    /// The standing of every token not yet expired: what a replica holds in memory.
    func standings() async throws -> [UUID: OperatorTokenStanding] {
        let rows = try await database.query(
            "load operator tokens",
            "SELECT jti, role, revoked_at IS NOT NULL FROM operator_tokens WHERE expires_at > now()")
        var standings: [UUID: OperatorTokenStanding] = [:]
        for row in rows {
            let (jti, role, revoked) = try row.decode((UUID, String, Bool).self)
            standings[jti] = Self.standing(role: role, revoked: revoked)
        }
        return standings
    }

    /// The standing of one token (a cache miss, or the listener is down).
    func standing(jti: UUID) async throws -> OperatorTokenStanding {
        let rows = try await database.query(
            "operator token standing",
            "SELECT role, revoked_at IS NOT NULL FROM operator_tokens WHERE jti = \(jti)")
        guard let row = rows.first else { return .unrecorded }
        let (role, revoked) = try row.decode((String, Bool).self)
        return Self.standing(role: role, revoked: revoked)
    }

    static func standing(role: String, revoked: Bool) -> OperatorTokenStanding {
        guard !revoked, let role = OperatorRole(rawValue: role) else { return .revoked }
        return .active(role)
    }

    static func decode(_ row: PostgresRow) throws -> OperatorTokenInfo {
        let (jti, name, role, issued, expires, revoked) = try row.decode((UUID, String, String, Date, Date, Date?).self)
        return try info(jti: jti, name: name, role: role, issued: issued, expires: expires, revoked: revoked)
    }

    static func info(
        jti: UUID, name: String, role: String, issued: Date, expires: Date, revoked: Date?
    ) throws -> OperatorTokenInfo {
        guard let role = OperatorRole(rawValue: role) else {
            throw DatabaseError.unexpected(operation: "read operator token", detail: "unknown role '\(role)'")
        }
        return OperatorTokenInfo(
            jti: jti.uuidString, name: name, role: role, issuedAt: issued, expiresAt: expires, revokedAt: revoked)
    }

    static func json(_ fields: [String: String]) throws -> String {
        String(decoding: try FleetJSON.makeEncoder().encode(fields), as: UTF8.self)
    }
}
