import FleetProtocol
import Foundation
import PostgresNIO

/// The statements every node runs on every check-in and report, prepared once per pooled
/// connection. Planning these CTEs cost Postgres more than running them (about 10× on this
/// 2-core box: 7–12 ms planned each time, 0.5–2 ms prepared), and at 10,000 nodes they run
/// hundreds of times a second. Their SQL is fixed text; values travel only as binds.
protocol HotStatement: PostgresPreparedStatement where Row == PostgresRow {}

extension HotStatement {
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

extension CommandQueue {
    /// The poll's first attempt (``claim(nodeId:_:limit:)`` states the rules): `current` is the
    /// node's row after taking the next poll number, if the token is current. Each row is touched
    /// by one CTE at most (Postgres leaves a row updated twice in one statement to chance): `lost`
    /// takes running rows, `renewed` listed delivered rows, and `claimable` queued rows plus
    /// unlisted (or, without a list, lapsed) delivered rows.
    ///
    /// An agent that sends no `active` list binds NULL: `= ANY(NULL)` is unknown, so nothing is
    /// lost or renewed and `COALESCE` falls back to the lease.
    struct CheckInStatement: HotStatement {
        static let name = "fleet_check_in"
        static let bindingDataTypes: [PostgresDataType] = [.text, .int8, .text, .int8, .text, .uuidArray, .int8]
        static let sql = """
            WITH current AS (
                UPDATE nodes SET last_seen_at = now(), agent_version = COALESCE($3, agent_version), poll_seq = poll_seq + 1
                WHERE node_id = $1 AND revoked_at IS NULL AND token_version = $2
                RETURNING 1::bigint AS n, node_id, poll_seq, now() + make_interval(secs => $4) AS lease_until
            ), lost AS (
                UPDATE invocations SET state = 'lost', finished_at = now(), reason = $5
                WHERE node_id IN (SELECT node_id FROM current) AND state = 'running'
                  AND NOT (command_id = ANY($6::uuid[]))
                RETURNING pg_notify('\(CommandQueue.logsChannel)', command_id::text)
            ), renewed AS (
                UPDATE invocations SET lease_expires_at = (SELECT lease_until FROM current)
                WHERE node_id IN (SELECT node_id FROM current) AND state = 'delivered'
                  AND command_id = ANY($6::uuid[])
            ), claimable AS (
                SELECT 1::bigint AS n, command_id, node_id FROM invocations
                WHERE node_id = $1 AND EXISTS (SELECT 1 FROM current) AND deliver_by > now() AND NOT cancel_requested
                  AND ((state = 'queued' AND NOT \(CommandQueue.isThrottled))
                       OR (state = 'delivered' AND COALESCE(NOT (command_id = ANY($6::uuid[])), lease_expires_at < now())))
                ORDER BY created_at LIMIT $7
                FOR UPDATE SKIP LOCKED
            )
            \(CommandQueue.claimAndAnswer)
            """

        var nodeId: String
        var tokenVersion: Int
        var agentVersion: String?
        var leaseSeconds: Int
        var active: [UUID]?
        var limit: Int

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 7)
            try bindings.append(nodeId)
            try bindings.append(tokenVersion)
            try bindings.append(agentVersion)
            try bindings.append(leaseSeconds)
            try bindings.append(CommandQueue.lostReason)
            try bindings.append(active)
            try bindings.append(limit)
            return bindings
        }
    }

    /// The check-ins of nodes that list nothing `active` (``CheckInBatcher``; a lone one is a
    /// batch of one): each is recorded as seen, takes its next poll number and learns whether
    /// anything of it is pending (queued, delivered or running). When nothing is, there is
    /// nothing to settle, claim or cancel, and this is the whole check-in: one row of `nodes`
    /// updated in place and one probe of a partial index, where the full check-in plans and runs
    /// a dozen nodes over `invocations` and `commands`. No row for a check-in whose token is not
    /// current. A node must appear once per batch (a row updated twice in one statement is
    /// updated once).
    ///
    /// PostgresNIO binds no NULL inside an array: an absent agent version has a `false` flag.
    struct IdleCheckInStatement: HotStatement {
        static let name = "fleet_idle_check_in"
        static let bindingDataTypes: [PostgresDataType] = [.textArray, .int8Array, .textArray, .boolArray]
        static let sql = """
            WITH c AS (
                SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::bool[])
                    WITH ORDINALITY AS c(node_id, token_version, agent_version, has_version, n)
            ), seen AS (
                UPDATE nodes nd SET last_seen_at = now(), poll_seq = nd.poll_seq + 1,
                    agent_version = CASE WHEN c.has_version THEN c.agent_version ELSE nd.agent_version END
                FROM c WHERE nd.node_id = c.node_id AND nd.revoked_at IS NULL AND nd.token_version = c.token_version
                RETURNING c.n, nd.node_id, nd.poll_seq
            )
            SELECT s.n::int, s.poll_seq, EXISTS (
                SELECT 1 FROM invocations WHERE node_id = s.node_id AND state IN ('queued', 'delivered', 'running'))
            FROM seen s
            """

        var nodeIds: [String]
        var tokenVersions: [Int64]
        var agentVersions: [String]
        var hasVersion: [Bool]

        init(_ checkIns: [(nodeId: String, tokenVersion: Int, agentVersion: String?)]) {
            nodeIds = checkIns.map(\.nodeId)
            tokenVersions = checkIns.map { Int64($0.tokenVersion) }
            agentVersions = checkIns.map { $0.agentVersion ?? "" }
            hasVersion = checkIns.map { $0.agentVersion != nil }
        }

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            try bindings.append(nodeIds)
            try bindings.append(tokenVersions)
            try bindings.append(agentVersions)
            try bindings.append(hasVersion)
            return bindings
        }
    }

    /// Later attempts of polls woken together (``ClaimBatcher``), one row of `polls` each: every
    /// poll whose `poll_seq` is still its node's newest claims up to `limit` of its node's work.
    /// `LATERAL` keeps the limit per node and `SKIP LOCKED` per row, so a batch claims what the
    /// same polls would have claimed one statement each.
    struct ClaimAgainStatement: HotStatement {
        static let name = "fleet_claim_again"
        static let bindingDataTypes: [PostgresDataType] = [.textArray, .int8Array, .int8, .int8]
        static let sql = """
            WITH polls AS (
                SELECT p.node_id, p.poll_seq, p.n FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY AS p(node_id, poll_seq, n)
            ), current AS (
                SELECT p.n, nd.node_id, nd.poll_seq, now() + make_interval(secs => $3) AS lease_until
                FROM polls p JOIN nodes nd ON nd.node_id = p.node_id AND nd.poll_seq = p.poll_seq
            ), claimable AS (
                SELECT cur.n, w.command_id, w.node_id
                FROM current cur CROSS JOIN LATERAL (
                    SELECT command_id, node_id FROM invocations
                    WHERE node_id = cur.node_id AND deliver_by > now() AND NOT cancel_requested
                      AND ((state = 'queued' AND NOT \(CommandQueue.isThrottled)) OR (state = 'delivered' AND lease_expires_at < now()))
                    ORDER BY created_at LIMIT $4
                    FOR UPDATE SKIP LOCKED
                ) w
            )
            \(CommandQueue.claimAndAnswer)
            """

        var nodeIds: [String]
        var pollSeqs: [Int64]
        var leaseSeconds: Int
        var limit: Int

        init(_ polls: [(nodeId: String, pollSeq: Int64)], leaseSeconds: Int, limit: Int) {
            nodeIds = polls.map(\.nodeId)
            pollSeqs = polls.map(\.pollSeq)
            self.leaseSeconds = leaseSeconds
            self.limit = limit
        }

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            try bindings.append(nodeIds)
            try bindings.append(pollSeqs)
            try bindings.append(leaseSeconds)
            try bindings.append(limit)
            return bindings
        }
    }
}

extension Database {
    /// Runs a prepared statement and collects its rows.
    func execute<Statement: HotStatement>(_ operation: String, _ statement: Statement) async throws -> [PostgresRow] {
        do {
            var rows: [PostgresRow] = []
            for try await row in try await client.execute(statement, logger: logger) { rows.append(row) }
            return rows
        } catch {
            throw DatabaseError.database(operation: operation, underlying: error)
        }
    }
}

extension PostgresConnection {
    /// Runs a prepared statement and collects its rows (inside a transaction of ``Database``).
    func rows<Statement: HotStatement>(_ statement: Statement, logger: Logger) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await self.execute(statement, logger: logger) { rows.append(row) }
        return rows
    }
}
