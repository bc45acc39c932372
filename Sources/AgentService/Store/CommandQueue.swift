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

        let createdAt = try await database.transaction("submit command") { connection in
            let found = try await connection.rows(
                "SELECT node_id FROM nodes WHERE node_id = ANY(\(targets)) AND revoked_at IS NULL", logger: database.logger)
            let known = Set(try found.map { try $0.decode(String.self) })
            let unknown = targets.filter { !known.contains($0) }
            guard unknown.isEmpty else {
                throw APIError.badRequest(
                    "unknown or revoked node ids: \(Self.quoteList(unknown))", code: "unknown_targets")
            }
            let created = try await connection.rows(
                """
                INSERT INTO commands (command_id, command_type, payload, created_by, target_count)
                VALUES (\(commandId), \(type), \(payloadJSON)::jsonb, \(actor), \(targets.count))
                RETURNING created_at
                """, logger: database.logger)
            try await connection.query(
                """
                INSERT INTO invocations (command_id, node_id, state, created_at, deliver_by)
                SELECT \(commandId), t, 'queued', now(), now() + make_interval(secs => \(deliveryTimeout))
                FROM unnest(\(targets)::text[]) AS t
                """, logger: database.logger)
            try await connection.query(
                "SELECT pg_notify(\(Self.workChannel), t) FROM unnest(\(targets)::text[]) AS t", logger: database.logger)
            try await AuditLog.record(
                on: connection, logger: database.logger, actor: actor, action: "submit", subject: commandId.uuidString,
                detailJSON: auditJSON)
            guard let row = created.first else { throw APIError(.internalServerError, code: "internal", message: "insert returned nothing") }
            return try row.decode(Date.self)
        }
        return SubmitCommandResponse(
            commandId: commandId, commandType: request.commandType, targets: targets, createdAt: createdAt)
    }

    /// Hands the node its queued invocations (and ones whose lease lapsed), leased for `leaseSeconds`.
    ///
    /// One statement: `FOR UPDATE SKIP LOCKED` keeps two concurrent polls from taking the same row.
    func claim(nodeId: String, limit: Int = 32) async throws -> [Assignment] {
        let rows = try await database.query(
            "claim invocations",
            """
            WITH claimable AS (
                SELECT command_id, node_id FROM invocations
                WHERE node_id = \(nodeId) AND deliver_by > now() AND NOT cancel_requested
                  AND (state = 'queued' OR (state = 'delivered' AND lease_expires_at < now()))
                ORDER BY created_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE invocations i
            SET state = 'delivered', delivered_at = now(), delivery_count = i.delivery_count + 1,
                lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
            FROM claimable c, commands cmd
            WHERE i.command_id = c.command_id AND i.node_id = c.node_id AND cmd.command_id = i.command_id
            RETURNING i.command_id, cmd.command_type, cmd.payload::text, i.lease_expires_at, i.delivery_count, i.created_at
            """)
        return try rows.map { row in
            let (id, type, payload, lease, count, created) = try row.decode((UUID, String, String, Date, Int, Date).self)
            guard let commandType = CommandType(rawValue: type) else {
                throw StoreError.database(operation: "claim", underlying: APIError.badRequest("stored command type \(type)"))
            }
            return (created, Assignment(
                commandId: id, payload: try CommandPayload(type: commandType, bodyJSON: Data(payload.utf8)),
                leaseExpiresAt: lease, deliveryCount: count))
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Marks `running` invocations the node no longer knows as lost (it restarted mid-run).
    func markForgottenLost(nodeId: String, active: [UUID]) async throws {
        _ = try await database.query(
            "mark forgotten lost",
            """
            WITH lost AS (
                UPDATE invocations SET state = 'lost', finished_at = now(),
                    reason = 'the node no longer knows this invocation (agent restarted or lost its state)'
                WHERE node_id = \(nodeId) AND state = 'running' AND NOT (command_id = ANY(\(active)))
                RETURNING command_id
            )
            SELECT pg_notify(\(Self.logsChannel), command_id::text) FROM lost
            """)
    }

    /// Invocations on this node whose cancel the agent still has to carry out.
    func pendingCancels(nodeId: String) async throws -> [UUID] {
        let rows = try await database.query(
            "pending cancels",
            """
            SELECT command_id FROM invocations
            WHERE node_id = \(nodeId) AND cancel_requested AND state IN ('delivered', 'running')
            """)
        return try rows.map { try $0.decode(UUID.self) }
    }

    static func quoteList(_ values: [String]) -> String {
        let shown = values.prefix(20).map { "'\($0.prefix(64))'" }.joined(separator: ", ")
        return values.count > 20 ? "\(shown) and \(values.count - 20) more" : shown
    }
}
