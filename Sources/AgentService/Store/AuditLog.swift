import Logging
import PostgresNIO

/// Who did what: every mutating route writes its row in the same transaction as the act.
enum AuditLog {
    /// The client address of the request being served (see ``ClientAddressMiddleware``). A task
    /// local rather than a parameter: it reaches the audit statement of every store without
    /// threading through each store's signature, and it cannot be forgotten by a new route.
    @TaskLocal static var clientAddress: String?

    static func record(
        on connection: PostgresConnection, logger: Logger, actor: String, action: String, subject: String,
        detailJSON: String = "{}"
    ) async throws {
        try await connection.query(
            """
            INSERT INTO audit_events (actor, action, subject, detail, address)
            VALUES (\(actor), \(action), \(subject), \(detailJSON)::jsonb, \(clientAddress))
            """, logger: logger)
    }

    /// The actor recorded for a node's own acts (registration): kept apart from operator names.
    static func nodeActor(_ nodeId: String) -> String { "node:\(nodeId)" }
}
