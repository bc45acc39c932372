import FleetProtocol
import Foundation
import PostgresNIO

/// A validated `GET /v1/audit` query.
struct AuditQuery: Sendable, Equatable {
    var limit: Int = 100
    /// Only rows older than this id (from the previous page's cursor).
    var before: Int64?
    var actor: String?
    var action: AuditAction?

    /// The opaque cursor of a page that ended at row `id`.
    static func cursor(after id: Int64) -> String {
        Data("audit:\(id)".utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    /// The row id a cursor names, or nil when it is not one this API returned.
    static func row(ofCursor cursor: String) -> Int64? {
        guard cursor.utf8.count <= 64 else { return nil }
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: text), let plain = String(data: data, encoding: .utf8),
            plain.hasPrefix("audit:"), let id = Int64(plain.dropFirst("audit:".count)), id > 0
        else { return nil }
        return id
    }
}

/// Reads the audit trail, newest first, a page at a time (keyset on the row id: a page
/// costs the same however deep it is, and rows written meanwhile never shift it).
struct AuditReader: Sendable {
    let database: Database

    func page(_ query: AuditQuery) async throws -> AuditPage {
        let rows = try await database.query(
            "read audit trail",
            """
            SELECT id, at, actor, action, subject, address FROM audit_events
            WHERE (\(query.before)::bigint IS NULL OR id < \(query.before))
              AND (\(query.actor)::text IS NULL OR actor = \(query.actor))
              AND (\(query.action?.rawValue)::text IS NULL OR action = \(query.action?.rawValue))
            ORDER BY id DESC LIMIT \(query.limit + 1)
            """)
        let events = try rows.prefix(query.limit).map { row in
            let (id, at, actor, action, subject, address) = try row.decode((Int64, Date, String, String, String, String?).self)
            return AuditEvent(id: id, at: at, actor: actor, action: action, subject: subject, address: address)
        }
        let next = rows.count > query.limit ? events.last.map { AuditQuery.cursor(after: $0.id) } : nil
        return AuditPage(events: events, nextCursor: next)
    }
}
