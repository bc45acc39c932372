import FleetProtocol
import Foundation
import PostgresNIO

/// Writes status reports that arrive together in one statement (``GroupCommit``), with one
/// NOTIFY per command per batch.
///
/// A batch is one ``CommandQueue/ReportStatement``, the statement a lone report runs too; what it
/// cannot decide for a row (a repeat, an illegal transition, the end of a rollout-controlled
/// run, the same invocation twice in one batch) is answered ``Outcome/retryAlone`` and the
/// caller takes the single-report path. So does every row of a batch whose statement failed:
/// one bad row must not fail its neighbours, and a deadlock with a bulk update (cancel, the
/// reaper) is resolved by the single path's smaller footprint.
struct StatusBatcher: Sendable {
    /// What the batch did with one report.
    enum Outcome: Sendable {
        /// Applied; the invocation's `cancel_requested` after the update.
        case applied(cancelRequested: Bool)
        /// The token is not of the node's current generation, or the node was revoked.
        case staleCredentials
        /// The node has no invocation of this command.
        case notFound
        /// Not applied here: the single-report path decides.
        case retryAlone
    }

    typealias Report = (nodeId: String, tokenVersion: Int, change: CommandQueue.ReportedChange)

    static let maxBatch = 512

    private let queue: GroupCommit<Report, Outcome>

    init(database: Database) {
        queue = GroupCommit(maxBatch: Self.maxBatch) { batch in await Self.write(batch, to: database) }
    }

    func apply(nodeId: String, tokenVersion: Int, _ change: CommandQueue.ReportedChange) async -> Outcome {
        await queue.submit((nodeId: nodeId, tokenVersion: tokenVersion, change: change))
    }

    private static func write(_ batch: [Report], to database: Database) async -> [Outcome] {
        let statement = CommandQueue.ReportStatement(batch, deferRolloutEnds: true)
        var outcomes = [Outcome](repeating: .retryAlone, count: batch.count)
        guard let rows = try? await database.execute("report statuses", statement) else { return outcomes }
        for row in rows {
            guard let answer = try? CommandQueue.ReportStatement.Answer(row), (1...batch.count).contains(answer.position) else {
                continue
            }
            outcomes[answer.position - 1] = outcome(of: answer)
        }
        return outcomes
    }

    private static func outcome(of answer: CommandQueue.ReportStatement.Answer) -> Outcome {
        if !answer.credentialCurrent { return .staleCredentials }
        if answer.stateBefore == nil { return .notFound }
        if let applied = answer.appliedCancelRequested { return .applied(cancelRequested: applied) }
        return .retryAlone
    }
}

extension CommandQueue {
    /// Applies status reports (one or many: arrays, one element per report, joined by position)
    /// where the node's token is of its current generation (and the node not revoked) and the
    /// invocation's state may move to the reported one, with one NOTIFY per command changed:
    /// the credential check, the transition and the NOTIFY in one round trip. With
    /// `deferRolloutEnds`, the end of a rollout-controlled invocation is left for the locked path.
    ///
    /// PostgresNIO binds no NULL inside an array, so an absent number is ``absent`` (outside
    /// every range a report may carry) and an absent text has a `false` flag.
    struct ReportStatement: HotStatement {
        static let name = "fleet_report_statuses"
        static let bindingDataTypes: [PostgresDataType] = [
            .uuidArray, .textArray, .textArray, .int8Array, .int8Array, .textArray, .boolArray, .int8Array, .int8Array,
            .textArray, .boolArray, .textArray, .boolArray, .int8Array,
        ]
        static let absent = Int64.min
        static let sql = """
            WITH r AS (
                SELECT u.command_id, u.node_id, u.next,
                       NULLIF(u.exit_code, -9223372036854775808) AS exit_code, NULLIF(u.signal, -9223372036854775808) AS signal,
                       CASE WHEN u.has_reason THEN u.reason END AS reason,
                       NULLIF(u.stdout_total, -9223372036854775808) AS stdout_total,
                       NULLIF(u.stderr_total, -9223372036854775808) AS stderr_total,
                       CASE WHEN u.has_result THEN u.result END AS result, u.allowed, u.ends_run, u.token_version, u.n
                FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::bool[], $8::int8[],
                            $9::int8[], $10::text[], $11::bool[], $12::text[], $13::bool[], $14::int8[])
                    WITH ORDINALITY AS u(command_id, node_id, next, exit_code, signal, reason, has_reason, stdout_total,
                                         stderr_total, result, has_result, allowed, ends_run, token_version, n)
            ), credential AS (
                SELECT r.n FROM r JOIN nodes nd
                    ON nd.node_id = r.node_id AND nd.revoked_at IS NULL AND nd.token_version = r.token_version
            ), target AS (
                SELECT r.n, i.state, i.cancel_requested, c.max_concurrency IS NOT NULL OR c.max_errors IS NOT NULL AS controlled
                FROM r JOIN credential USING (n)
                JOIN invocations i ON i.command_id = r.command_id AND i.node_id = r.node_id
                JOIN commands c ON c.command_id = i.command_id
            ), updated AS (
                UPDATE invocations i SET
                    state = r.next,
                    started_at = CASE WHEN r.next = 'running' THEN COALESCE(i.started_at, now()) ELSE i.started_at END,
                    finished_at = CASE WHEN r.next = 'running' THEN NULL ELSE now() END,
                    lease_expires_at = NULL,
                    exit_code = COALESCE(r.exit_code, i.exit_code),
                    signal = COALESCE(r.signal, i.signal),
                    reason = COALESCE(r.reason, i.reason),
                    stdout_total = COALESCE(r.stdout_total, i.stdout_total),
                    stderr_total = COALESCE(r.stderr_total, i.stderr_total),
                    result = COALESCE(r.result::jsonb, i.result)
                FROM r JOIN target t USING (n)
                WHERE i.command_id = r.command_id AND i.node_id = r.node_id
                  AND i.state = ANY(string_to_array(r.allowed, ',')) AND NOT (r.ends_run AND t.controlled)
                RETURNING r.n, i.cancel_requested, i.command_id
            ), notified AS (
                SELECT count(pg_notify('\(CommandQueue.logsChannel)', command_id::text)) AS sent
                FROM (SELECT DISTINCT command_id FROM updated) AS changed
            )
            SELECT r.n::int, c.n IS NOT NULL, t.state, t.cancel_requested, u.cancel_requested
            FROM r LEFT JOIN credential c USING (n) LEFT JOIN target t USING (n) LEFT JOIN updated u USING (n)
            WHERE (SELECT sent FROM notified) >= 0
            """

        var commandIds: [UUID]
        var nodeIds: [String]
        var states: [String]
        var exitCodes: [Int64]
        var signals: [Int64]
        var reasons: [String]
        var hasReason: [Bool]
        var stdoutTotals: [Int64]
        var stderrTotals: [Int64]
        var results: [String]
        var hasResult: [Bool]
        var allowedFrom: [String]
        var endsRun: [Bool]
        var tokenVersions: [Int64]

        init(_ reports: [(nodeId: String, tokenVersion: Int, change: ReportedChange)], deferRolloutEnds: Bool) {
            commandIds = reports.map(\.change.report.commandId)
            nodeIds = reports.map(\.nodeId)
            states = reports.map(\.change.report.state.rawValue)
            exitCodes = reports.map { $0.change.report.exitCode.map(Int64.init) ?? Self.absent }
            signals = reports.map { $0.change.report.signal.map(Int64.init) ?? Self.absent }
            reasons = reports.map { $0.change.reason ?? "" }
            hasReason = reports.map { $0.change.reason != nil }
            stdoutTotals = reports.map { $0.change.report.stdoutBytes ?? Self.absent }
            stderrTotals = reports.map { $0.change.report.stderrBytes ?? Self.absent }
            results = reports.map { $0.change.resultJSON ?? "" }
            hasResult = reports.map { $0.change.resultJSON != nil }
            allowedFrom = reports.map { $0.change.allowedFrom.joined(separator: ",") }
            endsRun = reports.map { deferRolloutEnds && $0.change.report.state.isTerminal }
            tokenVersions = reports.map { Int64($0.tokenVersion) }
        }

        /// One answer row: for the report at `position` (from 1), whether the token is current,
        /// the invocation's state and `cancel_requested` before (nil: the node has no such
        /// invocation), and `cancel_requested` after when the report was applied.
        struct Answer {
            var position: Int
            var credentialCurrent: Bool
            var stateBefore: String?
            var cancelRequestedBefore: Bool?
            var appliedCancelRequested: Bool?

            init(_ row: PostgresRow) throws {
                (position, credentialCurrent, stateBefore, cancelRequestedBefore, appliedCancelRequested) =
                    try row.decode((Int, Bool, String?, Bool?, Bool?).self)
            }
        }

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 14)
            try bindings.append(commandIds)
            try bindings.append(nodeIds)
            try bindings.append(states)
            try bindings.append(exitCodes)
            try bindings.append(signals)
            try bindings.append(reasons)
            try bindings.append(hasReason)
            try bindings.append(stdoutTotals)
            try bindings.append(stderrTotals)
            try bindings.append(results)
            try bindings.append(hasResult)
            try bindings.append(allowedFrom)
            try bindings.append(endsRun)
            try bindings.append(tokenVersions)
            return bindings
        }
    }
}
