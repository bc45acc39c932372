import FleetProtocol
import Foundation
import PostgresNIO

extension CommandQueue {
    /// The start of a poll in one round trip: checks the token generation and revocation,
    /// records last-seen and the agent version, takes the node's next poll number, settles what
    /// the agent listed in `active`, and claims the node's work.
    ///
    /// With `active` listed: `running` invocations missing from it are lost (the agent
    /// restarted mid-run), `delivered` ones in it keep their lease (recorded, waiting for a
    /// slot), and `delivered` ones missing from it are handed out again at once (the answer that
    /// carried them never reached the agent). Without it, a delivered invocation comes again
    /// only when its lease lapses.
    ///
    /// Returns nil when the node is unknown, revoked, or the token is of an older generation.
    func checkInAndClaim(
        nodeId: String, tokenVersion: Int, agentVersion: String?, active: [UUID]?, limit: Int = 32
    ) async throws -> (pollSeq: Int64, response: PollResponse)? {
        let listed = active != nil
        let known = active ?? []
        let lostReason = "the node no longer knows this invocation (agent restarted or lost its state)"
        // Each row is touched by one CTE at most (Postgres leaves a row updated twice in one
        // statement to chance): `lost` takes running rows, `renewed` listed delivered rows, and
        // `claimable` queued rows plus unlisted (or, without a list, lapsed) delivered rows.
        let rows = try await database.query(
            "poll check-in and claim",
            """
            WITH seen AS (
                UPDATE nodes SET last_seen_at = now(), agent_version = COALESCE(\(agentVersion), agent_version),
                    poll_seq = poll_seq + 1
                WHERE node_id = \(nodeId) AND revoked_at IS NULL AND token_version = \(tokenVersion)
                RETURNING node_id, poll_seq
            ), lost AS (
                UPDATE invocations SET state = 'lost', finished_at = now(), reason = \(lostReason)
                WHERE \(listed) AND node_id IN (SELECT node_id FROM seen) AND state = 'running'
                  AND NOT (command_id = ANY(\(known)::uuid[]))
                RETURNING command_id
            ), renewed AS (
                UPDATE invocations SET lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
                WHERE node_id IN (SELECT node_id FROM seen) AND state = 'delivered'
                  AND command_id = ANY(\(known)::uuid[])
            ), claimable AS (
                SELECT command_id, node_id FROM invocations
                WHERE node_id = \(nodeId) AND EXISTS (SELECT 1 FROM seen) AND deliver_by > now() AND NOT cancel_requested
                  AND (state = 'queued'
                       OR (state = 'delivered' AND CASE WHEN \(listed) THEN NOT (command_id = ANY(\(known)::uuid[]))
                                                        ELSE lease_expires_at < now() END))
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
            SELECT 'work', command_id, command_type, payload, lease_expires_at, delivery_count, created_at, NULL::bigint
            FROM claimed
            UNION ALL
            SELECT 'cancel', command_id, NULL, NULL, NULL, NULL, created_at, NULL FROM invocations
            WHERE node_id = \(nodeId) AND EXISTS (SELECT 1 FROM seen) AND cancel_requested AND state IN ('delivered', 'running')
            UNION ALL
            SELECT 'seen', NULL, NULL, NULL, NULL,
                   (SELECT count(*)::int FROM (SELECT pg_notify(\(Self.logsChannel), command_id::text) FROM lost) AS notified),
                   NULL, poll_seq
            FROM seen
            """)
        let decoded = try Self.decodePoll(rows)
        guard decoded.marks.contains("seen"), let pollSeq = decoded.pollSeq else { return nil }
        return (pollSeq, decoded.response)
    }
}
