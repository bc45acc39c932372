import FleetProtocol
import Foundation
import PostgresNIO

extension CommandQueue {
    /// What the `integer` columns can hold; a process exits with 0…255 on Linux, but other
    /// systems report wider codes.
    static let exitCodes = Int(Int32.min)...Int(Int32.max)
    /// Signal numbers, real-time ones included.
    static let signals = 1...128

    /// Largest `result` an agent may report, as JSON.
    static let maxResultBytes = 64 * 1024

    /// Applies an agent's report to its own invocation, enforcing the lifecycle. `tokenVersion`
    /// is the generation the node's token carries: a revoked node or an older token is refused
    /// (``QueueError/staleCredentials``) by the same statement that applies the report.
    func report(nodeId: String, tokenVersion: Int, _ report: StatusReport) async throws -> StatusResponse {
        guard InvocationState.reportableByAgent.contains(report.state) else { throw QueueError.unreportableState(report.state) }
        if let bytes = report.stdoutBytes, bytes < 0 { throw QueueError.negativeByteCount(field: "stdout_bytes") }
        if let bytes = report.stderrBytes, bytes < 0 { throw QueueError.negativeByteCount(field: "stderr_bytes") }
        if let code = report.exitCode, !Self.exitCodes.contains(code) { throw QueueError.outOfRange(field: "exit_code", range: Self.exitCodes) }
        if let signal = report.signal, !Self.signals.contains(signal) { throw QueueError.outOfRange(field: "signal", range: Self.signals) }
        let reason = report.reason.map { String($0.prefix(2000)) }
        let resultJSON = try report.result.map { String(decoding: try FleetJSON.makeEncoder().encode($0), as: UTF8.self) }
        if let resultJSON, resultJSON.utf8.count > Self.maxResultBytes { throw QueueError.resultTooLarge(limitBytes: Self.maxResultBytes) }
        let change = ReportedChange(report: report, reason: reason, resultJSON: resultJSON)
        if let answer = try await reportInOneStatement(nodeId: nodeId, tokenVersion: tokenVersion, change) { return answer }
        return try await reportLocked(nodeId: nodeId, tokenVersion: tokenVersion, change)
    }

    /// One validated report, ready to be written.
    struct ReportedChange: Sendable {
        var report: StatusReport
        var reason: String?
        var resultJSON: String?
        /// The states this report may follow (the lifecycle's edges into `report.state`).
        var allowedFrom: [String] {
            InvocationState.allCases.filter { $0 != report.state && $0.canTransition(to: report.state) }.map(\.rawValue)
        }
    }

    /// The common case without a transaction: written with the reports that arrive with it
    /// (``StatusBatcher``), else in one statement alone, the transition checked by the `UPDATE`'s
    /// own `WHERE` (so a concurrent change re-checks under the row lock) and the NOTIFY in its
    /// `RETURNING`. Returns nil when the answer needs the locked path: the end of a
    /// rollout-controlled invocation (slots and the error budget are counted under the rollout
    /// lock), or a report the statement did not apply for any reason but a repeat.
    private func reportInOneStatement(nodeId: String, tokenVersion: Int, _ change: ReportedChange) async throws -> StatusResponse? {
        let commandId = change.report.commandId
        switch await reports.apply(nodeId: nodeId, tokenVersion: tokenVersion, change) {
        case .applied(let cancelRequested):
            return StatusResponse(commandId: commandId, state: change.report.state, cancelRequested: cancelRequested)
        case .staleCredentials:
            throw QueueError.staleCredentials
        case .notFound:
            throw try await notYours(commandId: commandId)
        case .retryAlone:
            break
        }
        let rows = try await database.execute(
            "report status", ReportStatement([(nodeId, tokenVersion, change)], deferRolloutEnds: true))
        guard let row = rows.first else {
            throw DatabaseError.unexpected(operation: "report status", detail: "the statement answered no row")
        }
        let answer = try ReportStatement.Answer(row)
        guard answer.credentialCurrent else { throw QueueError.staleCredentials }
        guard let stateBefore = answer.stateBefore, let cancelRequested = answer.cancelRequestedBefore else {
            throw try await notYours(commandId: commandId)
        }
        if let applied = answer.appliedCancelRequested {
            return StatusResponse(commandId: commandId, state: change.report.state, cancelRequested: applied)
        }
        if stateBefore == change.report.state.rawValue {
            return StatusResponse(commandId: commandId, state: change.report.state, cancelRequested: cancelRequested)
        }
        return nil
    }

    /// The report under the invocation's row lock, in a transaction with the rollout effects.
    private func reportLocked(nodeId: String, tokenVersion: Int, _ change: ReportedChange) async throws -> StatusResponse {
        let report = change.report
        let commandId = report.commandId
        return try await database.transaction("report status") { connection in
            let rows = try await connection.rows(
                """
                SELECT i.state, i.cancel_requested, c.max_concurrency IS NOT NULL OR c.max_errors IS NOT NULL
                FROM invocations i JOIN commands c ON c.command_id = i.command_id
                WHERE i.command_id = \(commandId) AND i.node_id = \(nodeId) FOR UPDATE OF i
                """, logger: database.logger)
            guard let row = rows.first else {
                throw try await Self.notYours(commandId: commandId, connection: connection, logger: database.logger)
            }
            let (stateText, cancelRequested, controlled) = try row.decode((String, Bool, Bool).self)
            let current = InvocationState(rawValue: stateText) ?? .queued
            if current == report.state {
                return StatusResponse(commandId: commandId, state: current, cancelRequested: cancelRequested)
            }
            guard current.canTransition(to: report.state) else {
                throw QueueError.illegalTransition(from: current, to: report.state)
            }
            let applied = try await connection.rows(
                ReportStatement([(nodeId, tokenVersion, change)], deferRolloutEnds: false), logger: database.logger)
            // Revoked between the two statements: the row lock does not cover the node's row.
            guard let row = applied.first, try ReportStatement.Answer(row).credentialCurrent else {
                throw QueueError.staleCredentials
            }
            if controlled, report.state.isTerminal {
                // The end of a rollout-controlled run frees a slot and may be the error too many.
                try await Self.lockRollouts([commandId], on: connection, logger: database.logger)
                try await Self.applyRolloutEffects([commandId], on: connection, logger: database.logger)
            }
            return StatusResponse(commandId: commandId, state: report.state, cancelRequested: cancelRequested)
        }
    }

    /// Why the node found no invocation of `commandId` of its own (outside a transaction).
    func notYours(commandId: UUID) async throws -> QueueError {
        let exists = try await database.query("report status", "SELECT 1 FROM commands WHERE command_id = \(commandId)")
        return exists.isEmpty ? .unknownCommand(commandId) : .notOnThisNode(commandId: commandId)
    }

    /// Why the node found no invocation of `commandId` of its own: the command is unknown, or another node's.
    static func notYours(commandId: UUID, connection: PostgresConnection, logger: Logger) async throws -> QueueError {
        let exists = try await connection.rows("SELECT 1 FROM commands WHERE command_id = \(commandId)", logger: logger)
        return exists.isEmpty ? .unknownCommand(commandId) : .notOnThisNode(commandId: commandId)
    }

    /// Cancels every pending invocation of a command: queued ones at once, delivered or running
    /// ones through their agent, which stops the process and reports `cancelled`.
    func cancel(commandId: UUID, actor: String) async throws -> CancelResponse? {
        try await database.transaction("cancel command") { connection in
            let exists = try await connection.rows(
                "SELECT 1 FROM commands WHERE command_id = \(commandId) FOR UPDATE", logger: database.logger)
            guard !exists.isEmpty else { return nil }
            let cancelled = try await connection.rows(
                """
                UPDATE invocations SET state = 'cancelled', finished_at = now(), cancel_requested = true,
                    reason = 'cancelled before delivery'
                WHERE command_id = \(commandId) AND state = 'queued' RETURNING node_id
                """, logger: database.logger)
            let signalled = try await connection.rows(
                """
                UPDATE invocations SET cancel_requested = true
                WHERE command_id = \(commandId) AND state IN ('delivered', 'running') RETURNING node_id
                """, logger: database.logger)
            let nodes = try signalled.map { try $0.decode(String.self) }
            try await connection.query(
                "SELECT pg_notify(\(Self.workChannel), n) FROM unnest(\(nodes)::text[]) AS n", logger: database.logger)
            try await connection.query("SELECT pg_notify(\(Self.logsChannel), \(commandId.uuidString))", logger: database.logger)
            try await AuditLog.record(
                on: connection, logger: database.logger, actor: actor, action: "cancel", subject: commandId.uuidString,
                detailJSON: "{\"cancelled\": \(cancelled.count), \"cancelling\": \(nodes.count)}")
            return CancelResponse(commandId: commandId, cancelled: cancelled.count, cancelling: nodes.count)
        }
    }

    /// Expires invocations past their delivery deadline and marks runs on vanished nodes lost.
    @discardableResult
    func reap(lostAfterSeconds: Int) async throws -> Int {
        let rows = try await database.query(
            "reap invocations",
            """
            WITH expired AS (
                UPDATE invocations SET state = 'expired', finished_at = now(),
                    reason = 'not picked up before its delivery deadline'
                WHERE (state = 'queued' AND deliver_by <= now())
                   OR (state = 'delivered' AND deliver_by <= now() AND lease_expires_at < now())
                RETURNING command_id
            ), lost AS (
                UPDATE invocations i SET state = 'lost', finished_at = now(),
                    reason = 'node not seen for too long while running'
                FROM nodes n
                WHERE i.node_id = n.node_id AND i.state = 'running'
                  AND (n.last_seen_at IS NULL OR n.last_seen_at < now() - make_interval(secs => \(lostAfterSeconds)))
                RETURNING i.command_id
            ), changed AS (SELECT command_id FROM expired UNION ALL SELECT command_id FROM lost)
            SELECT count(*)::int,
                   -- only rollout-controlled commands have slots to hand on or errors to count
                   COALESCE(array_agg(DISTINCT c.command_id) FILTER (
                       WHERE c.max_concurrency IS NOT NULL OR c.max_errors IS NOT NULL), '{}')
            FROM (SELECT command_id, pg_notify(\(Self.logsChannel), command_id::text) FROM changed) AS notified
            JOIN commands c ON c.command_id = notified.command_id
            """)
        guard let (count, commandIds) = try rows.first?.decode((Int, [UUID]).self) else { return 0 }
        // Expired and lost invocations free rollout slots, and lost ones count as errors.
        try await applyRolloutEffects(commandIds)
        return count
    }

    /// Invocations waiting for delivery, for the queue-depth gauge.
    func queueDepth() async throws -> Int {
        let rows = try await database.query("queue depth", "SELECT count(*)::int FROM invocations WHERE state = 'queued'")
        return try rows.first?.decode(Int.self) ?? 0
    }
}
