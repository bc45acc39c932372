import FleetProtocol
import Foundation
import GRDB

extension AgentStore {
    /// Records a delivered assignment; a command id already known is reported as such and
    /// never becomes runnable again (exactly-once execution over at-least-once delivery).
    public func record(_ assignment: Assignment, now: Date = Date()) async throws -> RecordResult {
        let id = assignment.commandId.uuidString
        let type = assignment.payload.commandType.rawValue
        let body = try assignment.payload.bodyJSON()
        return try await write { db -> RecordResult in
            try db.execute(
                sql: "UPDATE invocations SET delivery_count = delivery_count + 1 WHERE command_id = ?", arguments: [id])
            if db.changesCount == 1,
                let row = try Row.fetchOne(db, sql: "SELECT * FROM invocations WHERE command_id = ?", arguments: [id])
            {
                return .known(try Self.invocation(from: row))
            }
            try db.execute(
                sql: """
                    INSERT INTO invocations (command_id, command_type, payload, phase, delivery_count, received_at)
                    VALUES (?, ?, ?, 'received', ?, ?)
                    """,
                arguments: [id, type, body, assignment.deliveryCount, now.timeIntervalSince1970])
            return .new
        }
    }

    /// One invocation, or nil when unknown.
    public func invocation(_ commandId: UUID) async throws -> LocalInvocation? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM invocations WHERE command_id = ?", arguments: [commandId.uuidString])
                .map(Self.invocation(from:))
        }
    }

    /// Invocations in `phase`, oldest first.
    public func invocations(in phase: LocalPhase) async throws -> [LocalInvocation] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM invocations WHERE phase = ? ORDER BY received_at, command_id",
                arguments: [phase.rawValue]
            ).map(Self.invocation(from:))
        }
    }

    /// Command ids the server should consider alive: not finished, or finished but not yet acknowledged.
    public func activeIds() async throws -> [UUID] {
        try await database.read { db in
            try String.fetchAll(
                db, sql: "SELECT command_id FROM invocations WHERE phase != 'finished' OR final_reported = 0 ORDER BY received_at"
            ).compactMap(UUID.init(uuidString:))
        }
    }

    /// Moves a received invocation to running; false when it is no longer `received` (cancelled, or already run).
    public func markStarted(_ commandId: UUID, now: Date = Date()) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE invocations SET phase = 'running', started_at = ? WHERE command_id = ? AND phase = 'received'",
                arguments: [now.timeIntervalSince1970, commandId.uuidString])
            return db.changesCount == 1
        }
    }

    /// Records the final state; the first outcome wins, later calls change nothing.
    @discardableResult
    public func finish(_ commandId: UUID, outcome: FinalOutcome, now: Date = Date()) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE invocations SET phase = 'finished', final_state = ?, exit_code = ?, signal = ?, reason = ?,
                        result = ?, finished_at = ?
                    WHERE command_id = ? AND phase != 'finished'
                    """,
                arguments: [
                    outcome.state.rawValue, outcome.exitCode, outcome.signal, outcome.reason.map { String($0.prefix(2000)) },
                    try outcome.result.map { try FleetJSON.makeEncoder().encode($0) }, now.timeIntervalSince1970,
                    commandId.uuidString,
                ])
            return db.changesCount == 1
        }
    }

    /// Notes that the server accepted the `running` report.
    public func markRunningReported(_ commandId: UUID) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE invocations SET running_reported = 1 WHERE command_id = ?", arguments: [commandId.uuidString])
        }
    }

    /// Notes that the server accepted (or finally refused) the final report.
    public func markFinalReported(_ commandId: UUID) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE invocations SET final_reported = 1, running_reported = 1 WHERE command_id = ?",
                arguments: [commandId.uuidString])
        }
    }

    /// A redelivery means the server missed our last report: send it again.
    public func requestRestatement(_ commandId: UUID) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE invocations SET running_reported = 0 WHERE command_id = ? AND phase = 'running'",
                arguments: [commandId.uuidString])
            try db.execute(
                sql: "UPDATE invocations SET final_reported = 0 WHERE command_id = ? AND phase = 'finished'",
                arguments: [commandId.uuidString])
        }
    }

    /// Remembers that the operator asked to cancel.
    public func markCancelRequested(_ commandId: UUID) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE invocations SET cancel_requested = 1 WHERE command_id = ?", arguments: [commandId.uuidString])
        }
    }

    /// Invocations with a report due: running but not reported, or finished with every chunk
    /// acknowledged and the final state not yet reported.
    public func pendingReports() async throws -> [LocalInvocation] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM invocations i
                    WHERE (i.phase = 'running' AND i.running_reported = 0)
                       OR (i.phase = 'finished' AND i.final_reported = 0
                           AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.command_id = i.command_id))
                    ORDER BY i.received_at
                    """
            ).map(Self.invocation(from:))
        }
    }

    /// After a restart: invocations that were running died with the old agent; they become
    /// `lost` (their stored chunks are still delivered). Returns them with their process, if known.
    /// An `UpdateAgent` that restarted the agent on purpose is not lost: its row in
    /// `agent_updates` says how it ends.
    public func markInterruptedAsLost(reason: String, now: Date = Date()) async throws -> [InterruptedInvocation] {
        try await write { db in
            let interrupted = try Row.fetchAll(
                db,
                sql: """
                    SELECT command_id, pid, pid_start_time FROM invocations
                    WHERE phase = 'running' AND command_id NOT IN (SELECT command_id FROM agent_updates)
                    """
            ).compactMap { row -> InterruptedInvocation? in
                guard let id = UUID(uuidString: row["command_id"]) else { return nil }
                return InterruptedInvocation(commandId: id, pid: row["pid"], pidStartTime: row["pid_start_time"])
            }
            try db.execute(
                sql: """
                    UPDATE invocations SET phase = 'finished', final_state = 'lost', reason = ?, finished_at = ?
                    WHERE phase = 'running' AND command_id NOT IN (SELECT command_id FROM agent_updates)
                    """,
                arguments: [reason, now.timeIntervalSince1970])
            return interrupted
        }
    }

    /// Remembers the process (group leader) of a running invocation.
    public func recordProcess(_ commandId: UUID, pid: Int32, startTime: UInt64?) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE invocations SET pid = ?, pid_start_time = ? WHERE command_id = ?",
                arguments: [pid, startTime.map { Int64(clamping: $0) }, commandId.uuidString])
        }
    }

    /// Forgets reported invocations older than `age` (their ids only guard against redelivery,
    /// which happens within minutes).
    @discardableResult
    public func prune(olderThan age: TimeInterval, now: Date = Date()) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM invocations WHERE phase = 'finished' AND final_reported = 1 AND finished_at < ?",
                arguments: [now.timeIntervalSince1970 - age])
            return db.changesCount
        }
    }

    static func invocation(from row: Row) throws -> LocalInvocation {
        let idText: String = row["command_id"]
        guard let id = UUID(uuidString: idText) else { throw AgentStoreError.corrupt("bad command id \(idText)") }
        let typeText: String = row["command_type"]
        guard let type = CommandType(rawValue: typeText) else { throw AgentStoreError.corrupt("bad command type \(typeText)") }
        let phaseText: String = row["phase"]
        guard let phase = LocalPhase(rawValue: phaseText) else { throw AgentStoreError.corrupt("bad phase \(phaseText)") }
        let payload = try CommandPayload(type: type, bodyJSON: row["payload"])
        let result = try (row["result"] as Data?).map { try FleetJSON.makeDecoder().decode(InvocationResult.self, from: $0) }
        let outcome = (row["final_state"] as String?).flatMap(InvocationState.init(rawValue:)).map {
            FinalOutcome(state: $0, exitCode: row["exit_code"], signal: row["signal"], reason: row["reason"], result: result)
        }
        return LocalInvocation(
            commandId: id, payload: payload, phase: phase, outcome: outcome,
            stdoutBytes: row["stdout_bytes"], stderrBytes: row["stderr_bytes"],
            runningReported: row["running_reported"], finalReported: row["final_reported"],
            cancelRequested: row["cancel_requested"], deliveryCount: row["delivery_count"],
            receivedAt: Date(timeIntervalSince1970: row["received_at"]),
            startedAt: (row["started_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            finishedAt: (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}

extension AgentStore {
    /// Records a final state only if the invocation never started (a cancel that beat the scheduler).
    public func finishIfNotStarted(_ commandId: UUID, outcome: FinalOutcome, now: Date = Date()) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE invocations SET phase = 'finished', final_state = ?, reason = ?, finished_at = ?
                    WHERE command_id = ? AND phase = 'received'
                    """,
                arguments: [outcome.state.rawValue, outcome.reason, now.timeIntervalSince1970, commandId.uuidString])
            return db.changesCount == 1
        }
    }
}
