import FleetProtocol
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// The command queue in Postgres: submit, claim with a lease, state reports, cancel.
///
/// Every state change that a waiting poll or log reader cares about sends a NOTIFY in the
/// same transaction, so it is seen by every replica once (and only once) it commits.
struct CommandQueue: Sendable {
    static let workChannel = "fleet_work"
    static let logsChannel = "fleet_logs"
    static let maxTargets = 10_000

    let database: Database
    let leaseSeconds: Int
    let deliveryTimeoutSeconds: Int

    /// Creates the command and one queued invocation per target, atomically.
    func submit(_ request: SubmitCommandRequest, actor: String) async throws -> SubmitCommandResponse {
        var seen = Set<String>()
        let targets = request.targets.filter { seen.insert($0).inserted }
        guard !targets.isEmpty else { throw APIError.badRequest("targets must name at least one node id") }
        guard targets.count <= Self.maxTargets else { throw APIError.badRequest("at most \(Self.maxTargets) targets per command") }
        let invalid = targets.filter { !FleetValidation.isValidNodeId($0) }
        guard invalid.isEmpty else {
            throw APIError.badRequest("invalid node ids: \(Self.quoteList(invalid))", code: "unknown_targets")
        }
        let problems = request.payload.problems()
        guard problems.isEmpty else { throw APIError.badRequest(problems.joined(separator: "; "), code: "invalid_payload") }
        let payloadJSON = String(decoding: try request.payload.bodyJSON(), as: UTF8.self)
        let commandId = UUID()
        let type = request.commandType.rawValue
        let deliveryTimeout = deliveryTimeoutSeconds
        let auditJSON = String(
            decoding: try FleetJSON.makeEncoder().encode(["command_type": type, "targets": "\(targets.count)"]), as: UTF8.self)

        // One statement, so a submit costs one round trip: the command, its invocations, the
        // audit row and the NOTIFYs commit together, or (when a target is unknown) nothing does.
        let rows = try await database.query(
            "submit command",
            """
            WITH known AS (
                SELECT node_id FROM nodes WHERE node_id = ANY(\(targets)::text[]) AND revoked_at IS NULL FOR SHARE
            ), command AS (
                INSERT INTO commands (command_id, command_type, payload, created_by, target_count)
                SELECT \(commandId), \(type), \(payloadJSON)::jsonb, \(actor), \(targets.count)
                WHERE (SELECT count(*) FROM known) = \(targets.count)
                RETURNING command_id, created_at
            ), invocations AS (
                INSERT INTO invocations (command_id, node_id, state, created_at, deliver_by)
                SELECT command.command_id, known.node_id, 'queued', now(), now() + make_interval(secs => \(deliveryTimeout))
                FROM command, known
                RETURNING node_id
            ), audit AS (
                INSERT INTO audit_events (actor, action, subject, detail)
                SELECT \(actor), 'submit', \(commandId.uuidString), \(auditJSON)::jsonb FROM command
            )
            SELECT (SELECT created_at FROM command),
                   (SELECT COALESCE(array_agg(node_id), '{}') FROM known),
                   (SELECT count(*)::int FROM (SELECT pg_notify(\(Self.workChannel), node_id) FROM invocations) AS notified)
            """)
        guard let row = rows.first else { throw StoreError.unexpected(operation: "submit command", detail: "the statement returned no row") }
        let (created, knownTargets, _) = try row.decode((Date?, [String], Int).self)
        guard let createdAt = created else {
            let known = Set(knownTargets)
            throw APIError.badRequest(
                "unknown or revoked node ids: \(Self.quoteList(targets.filter { !known.contains($0) }))", code: "unknown_targets")
        }
        return SubmitCommandResponse(
            commandId: commandId, commandType: request.commandType, targets: targets, createdAt: createdAt)
    }

    static func quoteList(_ values: [String]) -> String {
        let shown = values.prefix(20).map { "'\($0.prefix(64))'" }.joined(separator: ", ")
        return values.count > 20 ? "\(shown) and \(values.count - 20) more" : shown
    }
}
