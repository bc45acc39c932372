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
    /// `leaseSeconds`, in one statement per attempt; `FOR UPDATE SKIP LOCKED` keeps two concurrent
    /// polls from taking the same row.
    ///
    /// On check-in with `active` listed: `running` invocations missing from it are lost (the
    /// agent restarted mid-run), `delivered` ones in it keep their lease (recorded, waiting for a
    /// slot), and `delivered` ones missing from it are handed out again at once (the answer that
    /// carried them never reached the agent). Otherwise a delivered invocation comes again only
    /// when its lease lapses.
    ///
    /// A check-in of a node that holds nothing (`active` empty) and has nothing pending on the
    /// server (the steady state of an idle fleet) is one light statement instead.
    ///
    /// Returns the poll's number and the work, or nil: on check-in, the node is unknown, revoked
    /// or the token of an older generation; on a later attempt, a newer poll superseded this one.
    func claim(nodeId: String, _ attempt: PollAttempt, limit: Int = 32) async throws -> (pollSeq: Int64, response: PollResponse)? {
        if case .checkIn(let tokenVersion, let agentVersion, let active) = attempt, active?.isEmpty ?? true {
            let rows = try await database.execute(
                "check in",
                IdleCheckInStatement(nodeId: nodeId, tokenVersion: tokenVersion, agentVersion: agentVersion))
            guard let row = rows.first else { return nil }
            let (pollSeq, pending) = try row.decode((Int64, Bool).self)
            if !pending { return (pollSeq, PollResponse(assignments: [], cancel: [])) }
            // Something is pending: the full check-in settles and claims it (taking a newer poll number).
        }
        let rows =
            switch attempt {
            case .checkIn(let tokenVersion, let agentVersion, let active):
                try await database.execute(
                    "claim invocations",
                    CheckInStatement(
                        nodeId: nodeId, tokenVersion: tokenVersion, agentVersion: agentVersion, leaseSeconds: leaseSeconds,
                        active: active, limit: limit))
            case .again(let pollSeq):
                try await database.execute(
                    "claim invocations",
                    ClaimAgainStatement(nodeId: nodeId, pollSeq: pollSeq, leaseSeconds: leaseSeconds, limit: limit))
            }
        guard let claim = try Self.decodeClaim(rows) else { return nil }
        var response = claim.response
        if !claim.throttled.isEmpty, limit > 0 {
            response.assignments += try await claimThrottled(nodeId: nodeId, commandIds: claim.throttled)
        }
        return (claim.pollSeq, response)
    }

    static let lostReason = "the node no longer knows this invocation (agent restarted or lost its state)"

    /// Whether the `invocations` row belongs to a command with `max_concurrency`: its queued
    /// rows are claimed only by ``claimThrottled(nodeId:commandIds:)``, which counts slots.
    static let isThrottled = """
        EXISTS (SELECT 1 FROM commands t WHERE t.command_id = invocations.command_id AND t.max_concurrency IS NOT NULL)
        """

    /// The end both attempts share, continuing a `WITH` that defines `current(node_id, poll_seq,
    /// lease_until)` and `claimable(command_id, node_id)`: leases the claimable rows and answers
    /// with `work` rows, `cancel` rows and the `current` row (see ``decodeClaim(_:)``). It binds
    /// nothing, so it is spliced in as text.
    static let claimAndAnswer = """
        , claimed AS (
            UPDATE invocations i
            SET state = 'delivered', delivered_at = now(), delivery_count = i.delivery_count + 1,
                lease_expires_at = (SELECT lease_until FROM current)
            FROM claimable c, commands cmd
            WHERE i.command_id = c.command_id AND i.node_id = c.node_id AND cmd.command_id = i.command_id
            RETURNING i.command_id, cmd.command_type, cmd.payload::text AS payload, i.lease_expires_at,
                      i.delivery_count, i.created_at
        )
        SELECT 'work', command_id, command_type, payload, lease_expires_at, delivery_count, created_at, NULL::bigint
        FROM claimed
        UNION ALL
        SELECT 'cancel', command_id, NULL, NULL, NULL, NULL, created_at, NULL FROM invocations
        WHERE node_id = (SELECT node_id FROM current) AND cancel_requested AND state IN ('delivered', 'running')
        UNION ALL
        SELECT 'throttled', w.command_id, NULL, NULL, NULL, NULL, w.created_at, NULL
        FROM invocations w JOIN commands t ON t.command_id = w.command_id AND t.max_concurrency IS NOT NULL
        WHERE w.node_id = (SELECT node_id FROM current) AND w.state = 'queued' AND w.deliver_by > now()
          AND NOT w.cancel_requested AND t.stopped_at IS NULL
        UNION ALL
        SELECT 'current', NULL, NULL, NULL, NULL, NULL, NULL, poll_seq FROM current
        """

    /// What one claim statement found: the poll's number (nil when the poll may not claim),
    /// the work and cancels, and the throttled commands with a queued invocation for the node.
    struct ClaimRows {
        var pollSeq: Int64
        var response: PollResponse
        var throttled: [UUID]
    }

    /// Decodes `(kind, command_id, command_type, payload, lease_expires_at, delivery_count,
    /// created_at, poll_seq)` rows: `work`, `cancel` and `throttled` rows, and the `current` row
    /// with the poll's number (absent when the poll may not claim).
    static func decodeClaim(_ rows: [PostgresRow]) throws -> ClaimRows? {
        var assignments: [(Date, Assignment)] = []
        var cancels: [UUID] = []
        var throttled: [UUID] = []
        var pollSeq: Int64?
        for row in rows {
            let (kind, maybeId, type, payload, lease, count, maybeCreated, seq) =
                try row.decode((String, UUID?, String?, String?, Date?, Int?, Date?, Int64?).self)
            if kind == "current" {
                pollSeq = seq
                continue
            }
            guard let id = maybeId, let created = maybeCreated else {
                throw DatabaseError.unexpected(operation: "claim invocations", detail: "claim row without an id")
            }
            switch kind {
            case "cancel": cancels.append(id)
            case "throttled": throttled.append(id)
            default:
                guard let type, let commandType = CommandType(rawValue: type), let payload, let lease, let count else {
                    throw DatabaseError.unexpected(operation: "claim invocations", detail: "stored command \(id) is malformed")
                }
                assignments.append(
                    (
                        created,
                        Assignment(
                            commandId: id, payload: try CommandPayload(type: commandType, bodyJSON: Data(payload.utf8)),
                            leaseExpiresAt: lease, deliveryCount: count)
                    ))
            }
        }
        guard let pollSeq else { return nil }
        let response = PollResponse(assignments: assignments.sorted { $0.0 < $1.0 }.map(\.1), cancel: cancels)
        return ClaimRows(pollSeq: pollSeq, response: response, throttled: throttled)
    }
}
