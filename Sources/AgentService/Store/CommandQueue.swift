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

    /// Hands the node its queued invocations (and ones whose lease lapsed), leased for `leaseSeconds`,
    /// provided `pollSeq` is still the node's newest poll; `superseded` when it is not.
    ///
    /// One statement: `FOR UPDATE SKIP LOCKED` keeps two concurrent polls from taking the same row.
    func claim(nodeId: String, pollSeq: Int64, limit: Int = 32) async throws -> (PollResponse, superseded: Bool) {
        let rows = try await database.query(
            "claim invocations",
            """
            WITH newest AS (
                SELECT 1 FROM nodes WHERE node_id = \(nodeId) AND poll_seq = \(pollSeq)
            ), claimable AS (
                SELECT command_id, node_id FROM invocations
                WHERE node_id = \(nodeId) AND deliver_by > now() AND NOT cancel_requested AND EXISTS (SELECT 1 FROM newest)
                  AND (state = 'queued' OR (state = 'delivered' AND lease_expires_at < now()))
                ORDER BY created_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE invocations i
                SET state = 'delivered', delivered_at = now(), delivery_count = i.delivery_count + 1,
                    lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
                FROM claimable c, commands cmd
                WHERE i.command_id = c.command_id AND i.node_id = c.node_id AND cmd.command_id = i.command_id
                RETURNING i.command_id, cmd.command_type, cmd.payload::text AS payload, i.lease_expires_at,
                          i.delivery_count, i.created_at
            )
            SELECT 'work', command_id, command_type, payload, lease_expires_at, delivery_count, created_at FROM claimed
            UNION ALL
            SELECT 'cancel', command_id, NULL, NULL, NULL, NULL, created_at FROM invocations
            WHERE node_id = \(nodeId) AND cancel_requested AND state IN ('delivered', 'running')
            UNION ALL
            SELECT 'superseded', NULL, NULL, NULL, NULL, NULL, NULL WHERE NOT EXISTS (SELECT 1 FROM newest)
            """)
        var assignments: [(Date, Assignment)] = []
        var cancels: [UUID] = []
        var superseded = false
        for row in rows {
            let (kind, maybeId, type, payload, lease, count, maybeCreated) =
                try row.decode((String, UUID?, String?, String?, Date?, Int?, Date?).self)
            guard kind != "superseded" else {
                superseded = true
                continue
            }
            guard let id = maybeId, let created = maybeCreated else {
                throw StoreError.unexpected(operation: "claim invocations", detail: "claim row without an id")
            }
            if kind == "cancel" {
                cancels.append(id)
                continue
            }
            guard let type, let commandType = CommandType(rawValue: type), let payload, let lease, let count else {
                throw StoreError.unexpected(operation: "claim invocations", detail: "stored command \(id) is malformed")
            }
            assignments.append((created, Assignment(
                commandId: id, payload: try CommandPayload(type: commandType, bodyJSON: Data(payload.utf8)),
                leaseExpiresAt: lease, deliveryCount: count)))
        }
        return (PollResponse(assignments: assignments.sorted { $0.0 < $1.0 }.map(\.1), cancel: cancels), superseded)
    }

    /// Records that the node polled (last seen, version) and, when it listed what it knows,
    /// marks `running` invocations it no longer knows as lost (it restarted mid-run) and renews
    /// the lease of delivered ones it does know. One round trip.
    /// Returns this poll's number (see `nodes.poll_seq`), or nil when the node is unknown, revoked,
    /// or the token is of an older generation.
    func checkIn(nodeId: String, tokenVersion: Int, agentVersion: String?, active: [UUID]?) async throws -> Int64? {
        let checkLost = active != nil
        let rows = try await database.query(
            "node check-in",
            """
            WITH seen AS (
                UPDATE nodes SET last_seen_at = now(), agent_version = COALESCE(\(agentVersion), agent_version),
                    poll_seq = poll_seq + 1
                WHERE node_id = \(nodeId) AND revoked_at IS NULL AND token_version = \(tokenVersion)
                RETURNING node_id, poll_seq
            ), lost AS (
                UPDATE invocations SET state = 'lost', finished_at = now(),
                    reason = 'the node no longer knows this invocation (agent restarted or lost its state)'
                WHERE \(checkLost) AND node_id IN (SELECT node_id FROM seen) AND state = 'running'
                  AND NOT (command_id = ANY(\(active ?? [])::uuid[]))
                RETURNING command_id
            ), known AS (
                -- Delivered work the agent has recorded but not started (all its slots busy):
                -- renew the lease so it is not handed out again.
                UPDATE invocations SET lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
                WHERE node_id IN (SELECT node_id FROM seen) AND state = 'delivered'
                  AND command_id = ANY(\(active ?? [])::uuid[])
            ), unreceived AS (
                -- Delivered work the agent does not list never reached it (the answer went to a
                -- poll it had abandoned, or recording it failed): its lease lapses now, so this
                -- poll hands it out again instead of after the lease. The agent polls one at a
                -- time and records what it got before it polls again, so nothing it holds is here.
                UPDATE invocations SET lease_expires_at = now()
                WHERE \(checkLost) AND node_id IN (SELECT node_id FROM seen) AND state = 'delivered'
                  AND NOT (command_id = ANY(\(active ?? [])::uuid[]))
            )
            SELECT (SELECT poll_seq FROM seen),
                   (SELECT count(*)::int FROM (SELECT pg_notify(\(Self.logsChannel), command_id::text) FROM lost) AS notified)
            """)
        guard let row = rows.first else { return nil }
        let (pollSeq, _) = try row.decode((Int64?, Int).self)
        return pollSeq
    }

    static func quoteList(_ values: [String]) -> String {
        let shown = values.prefix(20).map { "'\($0.prefix(64))'" }.joined(separator: ", ")
        return values.count > 20 ? "\(shown) and \(values.count - 20) more" : shown
    }
}
