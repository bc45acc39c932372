import FleetProtocol
import Foundation
import PostgresNIO

extension CommandQueue {
    /// One attempt of a poll to take work.
    enum PollAttempt: Sendable {
        /// The poll's first attempt: checks the token generation and revocation, records
        /// last-seen and the agent version, takes the node's next poll number, and settles what
        /// the agent listed in `active`.
        case checkIn(tokenVersion: Int, agentVersion: String?, active: [UUID]?)
        /// A later attempt after a wake: claims only while `pollSeq` is still the node's newest
        /// poll (an older poll held by the server was abandoned by an agent that restarted).
        case again(pollSeq: Int64)
    }

    /// Hands the node its queued invocations (and ones to deliver again), leased for
    /// `leaseSeconds`, in one statement; `FOR UPDATE SKIP LOCKED` keeps two concurrent polls
    /// from taking the same row.
    ///
    /// On check-in with `active` listed: `running` invocations missing from it are lost (the
    /// agent restarted mid-run), `delivered` ones in it keep their lease (recorded, waiting for a
    /// slot), and `delivered` ones missing from it are handed out again at once (the answer that
    /// carried them never reached the agent). Otherwise a delivered invocation comes again only
    /// when its lease lapses.
    ///
    /// Returns the poll's number and the work, or nil: on check-in, the node is unknown, revoked
    /// or the token of an older generation; on a later attempt, a newer poll superseded this one.
    func claim(nodeId: String, _ attempt: PollAttempt, limit: Int = 32) async throws -> (pollSeq: Int64, response: PollResponse)? {
        var isCheckIn = false, tokenVersion = 0, agentVersion: String?, active: [UUID]?, pollSeq: Int64 = 0
        switch attempt {
        case .checkIn(let version, let agent, let listed):
            (isCheckIn, tokenVersion, agentVersion, active) = (true, version, agent, listed)
        case .again(let seq):
            pollSeq = seq
        }
        let listed = active != nil
        let known = active ?? []
        let lostReason = "the node no longer knows this invocation (agent restarted or lost its state)"
        // Each row is touched by one CTE at most (Postgres leaves a row updated twice in one
        // statement to chance): `lost` takes running rows, `renewed` listed delivered rows, and
        // `claimable` queued rows plus unlisted (or, without a list, lapsed) delivered rows.
        let rows = try await database.query(
            "claim invocations",
            """
            WITH seen AS (
                UPDATE nodes SET last_seen_at = now(), agent_version = COALESCE(\(agentVersion), agent_version),
                    poll_seq = poll_seq + 1
                WHERE \(isCheckIn) AND node_id = \(nodeId) AND revoked_at IS NULL AND token_version = \(tokenVersion)
                RETURNING node_id, poll_seq
            ), current AS (
                SELECT node_id, poll_seq FROM seen
                UNION ALL
                SELECT node_id, poll_seq FROM nodes WHERE NOT \(isCheckIn) AND node_id = \(nodeId) AND poll_seq = \(pollSeq)
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
                WHERE node_id = \(nodeId) AND EXISTS (SELECT 1 FROM current) AND deliver_by > now() AND NOT cancel_requested
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
            WHERE node_id = \(nodeId) AND EXISTS (SELECT 1 FROM current) AND cancel_requested
              AND state IN ('delivered', 'running')
            UNION ALL
            SELECT 'current', NULL, NULL, NULL, NULL,
                   (SELECT count(*)::int FROM (SELECT pg_notify(\(Self.logsChannel), command_id::text) FROM lost) AS notified),
                   NULL, poll_seq
            FROM current
            """)
        return try Self.decodeClaim(rows)
    }

    /// Decodes `(kind, command_id, command_type, payload, lease_expires_at, delivery_count,
    /// created_at, poll_seq)` rows: `work` and `cancel` rows, and the `current` row with the
    /// poll's number (absent when the poll may not claim).
    static func decodeClaim(_ rows: [PostgresRow]) throws -> (pollSeq: Int64, response: PollResponse)? {
        var assignments: [(Date, Assignment)] = []
        var cancels: [UUID] = []
        var pollSeq: Int64?
        for row in rows {
            let (kind, maybeId, type, payload, lease, count, maybeCreated, seq) =
                try row.decode((String, UUID?, String?, String?, Date?, Int?, Date?, Int64?).self)
            if kind == "current" {
                pollSeq = seq
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
        guard let pollSeq else { return nil }
        return (pollSeq, PollResponse(assignments: assignments.sorted { $0.0 < $1.0 }.map(\.1), cancel: cancels))
    }
}
