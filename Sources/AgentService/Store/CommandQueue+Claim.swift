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
    /// Later attempts claim up to ``ClaimBatcher/limit`` (`limit` is the check-in's), batched
    /// with the attempts of other polls woken by the same NOTIFY.
    ///
    /// Returns the poll's number and the work, or nil: on check-in, the node is unknown, revoked
    /// or the token of an older generation; on a later attempt, a newer poll superseded this one.
    func claim(nodeId: String, _ attempt: PollAttempt, limit: Int = ClaimBatcher.limit) async throws -> (pollSeq: Int64, response: PollResponse)? {
        if case .checkIn(let tokenVersion, let agentVersion, let active) = attempt, active?.isEmpty ?? true {
            var outcome = await checkIns.checkIn(nodeId: nodeId, tokenVersion: tokenVersion, agentVersion: agentVersion)
            if case .retryAlone = outcome {
                outcome = try await CheckInBatcher.run(
                    [(nodeId: nodeId, tokenVersion: tokenVersion, agentVersion: agentVersion)], on: database)[0]
            }
            guard case .checkedIn(let pollSeq, let pending) = outcome else { return nil }
            if !pending { return (pollSeq, PollResponse(assignments: [], cancel: [])) }
            // Something is pending: the full check-in settles and claims it (taking a newer poll number).
        }
        let found: ClaimRows?
        switch attempt {
        case .checkIn(let tokenVersion, let agentVersion, let active):
            let rows = try await database.execute(
                "claim invocations",
                CheckInStatement(
                    nodeId: nodeId, tokenVersion: tokenVersion, agentVersion: agentVersion, leaseSeconds: leaseSeconds,
                    active: active, limit: limit))
            found = try Self.decodeClaims(rows, polls: 1)[0]
        case .again(let pollSeq):
            found = try await claims.claim(nodeId: nodeId, pollSeq: pollSeq).get()
        }
        guard let claim = found else { return nil }
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

    /// The end both attempts share, continuing a `WITH` that defines `current(n, node_id,
    /// poll_seq, lease_until)`, one row per poll that may claim, and `claimable(n, command_id,
    /// node_id)`: leases the claimable rows and answers with `work`, `cancel` and `throttled` rows
    /// and the `current` row of each poll `n` (see ``decodeClaims(_:polls:)``). It binds nothing,
    /// so it is spliced in as text.
    static let claimAndAnswer = """
        , claimed AS (
            UPDATE invocations i
            SET state = 'delivered', delivered_at = now(), delivery_count = i.delivery_count + 1,
                lease_expires_at = cur.lease_until
            FROM claimable c JOIN current cur ON cur.n = c.n, commands cmd
            WHERE i.command_id = c.command_id AND i.node_id = c.node_id AND cmd.command_id = i.command_id
            RETURNING c.n, i.command_id, cmd.command_type, cmd.payload::text AS payload, i.lease_expires_at,
                      i.delivery_count, i.created_at
        )
        SELECT n, 'work', command_id, command_type, payload, lease_expires_at, delivery_count, created_at, NULL::bigint
        FROM claimed
        UNION ALL
        SELECT cur.n, 'cancel', i.command_id, NULL, NULL, NULL, NULL, i.created_at, NULL
        FROM current cur JOIN invocations i ON i.node_id = cur.node_id
        WHERE i.cancel_requested AND i.state IN ('delivered', 'running')
        UNION ALL
        SELECT cur.n, 'throttled', w.command_id, NULL, NULL, NULL, NULL, w.created_at, NULL
        FROM current cur JOIN invocations w ON w.node_id = cur.node_id
        JOIN commands t ON t.command_id = w.command_id AND t.max_concurrency IS NOT NULL
        WHERE w.state = 'queued' AND w.deliver_by > now() AND NOT w.cancel_requested AND t.stopped_at IS NULL
        UNION ALL
        SELECT n, 'current', NULL, NULL, NULL, NULL, NULL, NULL, poll_seq FROM current
        """

    /// What one poll's claim found: the poll's number, the work and cancels, and the throttled
    /// commands with a queued invocation for the node.
    struct ClaimRows: Sendable {
        var pollSeq: Int64
        var response: PollResponse
        var throttled: [UUID]
    }

    /// Decodes `(n, kind, command_id, command_type, payload, lease_expires_at, delivery_count,
    /// created_at, poll_seq)` rows for `polls` polls numbered from 1: per poll, its `work`,
    /// `cancel` and `throttled` rows and its `current` row with the poll's number, or nil when
    /// it has no `current` row (it may not claim).
    static func decodeClaims(_ rows: [PostgresRow], polls: Int) throws -> [ClaimRows?] {
        var assignments = [[(Date, Assignment)]](repeating: [], count: polls)
        var cancels = [[UUID]](repeating: [], count: polls)
        var throttled = [[UUID]](repeating: [], count: polls)
        var pollSeqs = [Int64?](repeating: nil, count: polls)
        for row in rows {
            let (n, kind, maybeId, type, payload, lease, count, maybeCreated, seq) =
                try row.decode((Int, String, UUID?, String?, String?, Date?, Int?, Date?, Int64?).self)
            guard (1...polls).contains(n) else {
                throw DatabaseError.unexpected(operation: "claim invocations", detail: "claim row for poll \(n) of \(polls)")
            }
            let poll = n - 1
            if kind == "current" {
                pollSeqs[poll] = seq
                continue
            }
            guard let id = maybeId, let created = maybeCreated else {
                throw DatabaseError.unexpected(operation: "claim invocations", detail: "claim row without an id")
            }
            switch kind {
            case "cancel": cancels[poll].append(id)
            case "throttled": throttled[poll].append(id)
            default:
                guard let type, let commandType = CommandType(rawValue: type), let payload, let lease, let count else {
                    throw DatabaseError.unexpected(operation: "claim invocations", detail: "stored command \(id) is malformed")
                }
                assignments[poll].append(
                    (
                        created,
                        Assignment(
                            commandId: id, payload: try CommandPayload(type: commandType, bodyJSON: Data(payload.utf8)),
                            leaseExpiresAt: lease, deliveryCount: count)
                    ))
            }
        }
        return (0..<polls).map { poll in
            pollSeqs[poll].map { pollSeq in
                ClaimRows(
                    pollSeq: pollSeq,
                    response: PollResponse(
                        assignments: assignments[poll].sorted { $0.0 < $1.0 }.map(\.1), cancel: cancels[poll]),
                    throttled: throttled[poll])
            }
        }
    }
}
