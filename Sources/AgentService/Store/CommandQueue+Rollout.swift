import FleetProtocol
import Foundation
import PostgresNIO

/// Rollout control: `max_concurrency` slots, the `max_errors` stop, and waking the node whose
/// turn it is. The bounds hold exactly across replicas because every claim of a throttled
/// invocation and every end of a controlled one serialise on a per-command advisory lock, and
/// each counts in a statement that starts after the lock is held (so it sees every commit).
extension CommandQueue {
    /// The first key of the per-command advisory locks (the second is a hash of the command id).
    static let rolloutLockSpace: Int32 = 0x466C_7401

    /// Takes the rollout locks of `commandIds` in a fixed order (no deadlock between two takers).
    static func lockRollouts(_ commandIds: [UUID], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            SELECT pg_advisory_xact_lock(\(rolloutLockSpace), hashtext(id::text))
            FROM unnest(\(commandIds)::uuid[]) AS id ORDER BY id
            """, logger: logger)
    }

    /// Claims the node's queued invocations of throttled commands that have a free slot.
    func claimThrottled(nodeId: String, commandIds: [UUID]) async throws -> [Assignment] {
        try await database.transaction("claim throttled invocations") { connection in
            try await Self.lockRollouts(commandIds, on: connection, logger: database.logger)
            let rows = try await connection.rows(
                """
                WITH current AS (
                    SELECT 1::bigint AS n, node_id, poll_seq, now() + make_interval(secs => \(leaseSeconds)) AS lease_until
                    FROM nodes WHERE node_id = \(nodeId)
                ), slots AS (
                    SELECT c.command_id FROM commands c
                    WHERE c.command_id = ANY(\(commandIds)::uuid[]) AND c.stopped_at IS NULL
                      AND (SELECT count(*) FROM invocations f
                           WHERE f.command_id = c.command_id AND f.state IN ('delivered', 'running')) < c.max_concurrency
                ), claimable AS (
                    SELECT 1::bigint AS n, command_id, node_id FROM invocations
                    WHERE node_id = \(nodeId) AND command_id IN (SELECT command_id FROM slots) AND state = 'queued'
                      AND deliver_by > now() AND NOT cancel_requested
                    FOR UPDATE SKIP LOCKED
                )
                \(unescaped: Self.claimAndAnswer)
                """, logger: database.logger)
            return try Self.decodeClaims(rows, polls: 1)[0]?.response.assignments ?? []
        }
    }

    /// After invocations of `commandIds` ended (inside the transaction that ended them, holding
    /// their rollout locks): stops every command past its `max_errors` (its queued invocations
    /// end `cancelled`, in-flight ones finish) and wakes the online nodes next in line for the
    /// slots that freed. Commands without rollout bounds are left alone.
    static func applyRolloutEffects(_ commandIds: [UUID], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            WITH over AS (
                SELECT c.command_id, c.max_errors FROM commands c
                WHERE c.command_id = ANY(\(commandIds)::uuid[]) AND c.max_errors IS NOT NULL AND c.stopped_at IS NULL
                  AND (SELECT count(*) FROM invocations e
                       WHERE e.command_id = c.command_id AND e.state IN ('failed', 'timed_out', 'lost')) > c.max_errors
            ), stopped AS (
                UPDATE commands c SET stopped_at = now(),
                    stopped_reason = 'max errors (' || o.max_errors || ') exceeded: stopped sending'
                FROM over o WHERE c.command_id = o.command_id
                RETURNING c.command_id, c.stopped_reason
            ), cancelled AS (
                UPDATE invocations i SET state = 'cancelled', finished_at = now(), reason = s.stopped_reason
                FROM stopped s WHERE i.command_id = s.command_id AND i.state = 'queued'
                RETURNING i.command_id
            ), next_in_line AS (
                SELECT pg_notify(\(workChannel), q.node_id) FROM commands c
                CROSS JOIN LATERAL (
                    SELECT w.node_id FROM invocations w JOIN nodes n ON n.node_id = w.node_id
                    WHERE w.command_id = c.command_id AND w.state = 'queued' AND NOT w.cancel_requested
                      AND n.last_seen_at > now() - interval '60 seconds'
                    ORDER BY w.node_id
                    LIMIT GREATEST(c.max_concurrency - (SELECT count(*) FROM invocations f
                        WHERE f.command_id = c.command_id AND f.state IN ('delivered', 'running')), 0)
                ) q
                WHERE c.command_id = ANY(\(commandIds)::uuid[]) AND c.max_concurrency IS NOT NULL AND c.stopped_at IS NULL
                  AND c.command_id NOT IN (SELECT command_id FROM stopped)
            )
            SELECT (SELECT count(*) FROM cancelled), (SELECT count(*) FROM next_in_line),
                   (SELECT count(*) FROM (SELECT pg_notify(\(logsChannel), command_id::text) FROM stopped) AS notified)
            """, logger: logger)
    }

    /// ``applyRolloutEffects(_:on:logger:)`` in its own transaction, for changes made outside one
    /// (the reaper's expiries and lost runs).
    func applyRolloutEffects(_ commandIds: [UUID]) async throws {
        guard !commandIds.isEmpty else { return }
        try await database.transaction("apply rollout effects") { connection in
            try await Self.lockRollouts(commandIds, on: connection, logger: database.logger)
            try await Self.applyRolloutEffects(commandIds, on: connection, logger: database.logger)
        }
    }

    /// Queued invocations of throttled commands, for the gauge of work held back by rollouts.
    func throttledDepth() async throws -> Int {
        let rows = try await database.query(
            "throttled depth",
            """
            SELECT count(*)::int FROM invocations i JOIN commands c ON c.command_id = i.command_id
            WHERE i.state = 'queued' AND c.max_concurrency IS NOT NULL
            """)
        return try rows.first?.decode(Int.self) ?? 0
    }
}
