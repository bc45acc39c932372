import FleetProtocol
import Foundation
import PostgresNIO

extension CommandQueue {
    /// The history, newest first; `cursor` is the opaque `next_cursor` of the previous page.
    func list(cursor: String?, limit: Int) async throws -> CommandListResponse {
        let before: Int64
        if let cursor {
            guard let value = Int64(cursor), value > 0 else { throw QueueError.invalidCursor }
            before = value
        } else {
            before = Int64.max
        }
        let rows = try await database.query(
            "list commands",
            """
            SELECT \(unescaped: Self.summaryColumns)
            FROM commands c WHERE c.seq < \(before) ORDER BY c.seq DESC LIMIT \(limit + 1)
            """)
        var summaries: [CommandSummary] = []
        var lastSeq: Int64 = 0
        for row in rows.prefix(limit) {
            let (seq, summary) = try Self.decodeSummary(row)
            summaries.append(summary)
            lastSeq = seq
        }
        return CommandListResponse(commands: summaries, nextCursor: rows.count > limit ? String(lastSeq) : nil)
    }

    /// The columns ``decodeSummary(_:)`` reads, from `commands c`; bind-free, so spliced as text.
    static let summaryColumns = """
        c.seq, c.command_id, c.command_type, c.payload::text, c.created_by, c.created_at, c.target_count,
        COALESCE((SELECT array_agg(i.state) FROM invocations i WHERE i.command_id = c.command_id), '{}'),
        c.selector, c.max_concurrency, c.max_concurrency_spec, c.max_errors, c.max_errors_spec,
        c.deliver_within_sec, c.stopped_reason
        """

    /// Largest page of invocations one read returns.
    static let maxInvocationPage = 1000

    /// One command, its counts over every invocation, and one page of its invocations in node
    /// order after the node id `cursor`, optionally only those in `state`; nil for no such command.
    func detail(commandId: UUID, cursor: String? = nil, limit: Int = 200, state: InvocationState? = nil) async throws -> CommandDetail? {
        if let cursor, !FleetValidation.isValidNodeId(cursor) { throw QueueError.invalidCursor }
        let rows = try await database.query(
            "get command",
            """
            SELECT \(unescaped: Self.summaryColumns)
            FROM commands c WHERE c.command_id = \(commandId)
            """)
        guard let row = rows.first else { return nil }
        let summary = try Self.decodeSummary(row).1
        let invocationRows = try await database.query(
            "get invocations",
            """
            SELECT node_id, state, exit_code, signal, reason, delivery_count, cancel_requested, created_at,
                   delivered_at, started_at, finished_at, stdout_stored, stderr_stored, stdout_total, stderr_total,
                   result::text
            FROM invocations
            WHERE command_id = \(commandId) AND node_id > \(cursor ?? "")
              AND (\(state?.rawValue)::text IS NULL OR state = \(state?.rawValue))
            ORDER BY node_id LIMIT \(limit + 1)
            """)
        let invocations = try invocationRows.map { row in
            let (
                node, state, exit, signal, reason, count, cancel, created, delivered, started, finished,
                stdoutStored, stderrStored, stdoutTotal, stderrTotal, resultJSON
            ) =
                try row.decode(
                    (
                        String, String, Int?, Int?, String?, Int, Bool, Date, Date?, Date?, Date?, Int64, Int64, Int64?, Int64?,
                        String?
                    ).self)
            // A result the agent sent is shown as stored; one that no longer decodes is left out
            // rather than failing the whole command view.
            let result = resultJSON.flatMap { try? FleetJSON.makeDecoder().decode(InvocationResult.self, from: Data($0.utf8)) }
            return InvocationInfo(
                nodeId: node, state: InvocationState(rawValue: state) ?? .queued, exitCode: exit, signal: signal,
                reason: reason, deliveryCount: count, cancelRequested: cancel, createdAt: created, deliveredAt: delivered,
                startedAt: started, finishedAt: finished, stdoutBytes: stdoutStored, stderrBytes: stderrStored,
                stdoutTotal: stdoutTotal, stderrTotal: stderrTotal, result: result)
        }
        let page = Array(invocations.prefix(limit))
        return CommandDetail(command: summary, invocations: page, nextCursor: invocations.count > limit ? page.last?.nodeId : nil)
    }

    static func decodeSummary(_ row: PostgresRow) throws -> (Int64, CommandSummary) {
        let (
            seq, id, type, payload, createdBy, createdAt, targetCount, states, selector,
            concurrency, concurrencySpec, errors, errorsSpec, deliverWithin, stopped
        ) =
            try row.decode(
                (Int64, UUID, String, String, String, Date, Int, [String], String?, Int?, String?, Int?, String?, Int?, String?).self)
        guard let commandType = CommandType(rawValue: type) else {
            throw DatabaseError.unexpected(operation: "decode command", detail: "unknown stored command type \(type)")
        }
        var counts = StateCounts()
        for state in states { if let known = InvocationState(rawValue: state) { counts.add(known) } }
        // Commands from before rollouts (no stored window) show no rollout.
        let rollout = deliverWithin.map {
            RolloutSettings(
                maxConcurrency: concurrency, maxConcurrencySpec: concurrencySpec.flatMap(RolloutLimit.init(text:)),
                maxErrors: errors, maxErrorsSpec: errorsSpec.flatMap(RolloutLimit.init(text:)), deliverWithinSec: $0,
                stoppedReason: stopped)
        }
        let summary = CommandSummary(
            commandId: id, payload: try CommandPayload(type: commandType, bodyJSON: Data(payload.utf8)),
            createdBy: createdBy, createdAt: createdAt, targetCount: targetCount, counts: counts, selector: selector,
            rollout: rollout)
        return (seq, summary)
    }
}
