import Logging
import PostgresNIO

/// Who did what: every submit, cancel and revoke, written in the same transaction as the act.
enum AuditLog {
    static func record(
        on connection: PostgresConnection, logger: Logger, actor: String, action: String, subject: String,
        detailJSON: String = "{}"
    ) async throws {
        try await connection.query(
            """
            INSERT INTO audit_events (actor, action, subject, detail)
            VALUES (\(actor), \(action), \(subject), \(detailJSON)::jsonb)
            """, logger: logger)
    }
}
