import FleetProtocol
import Foundation
import GRDB

/// Where a self-update stands, as the agents on both sides of the restart see it.
public enum AgentUpdatePhase: String, Sendable, Hashable {
    /// The new binary is in place; the old agent is restarting into it.
    case swapped
    /// The new binary is running and has not reached the server yet.
    case started
    /// The new binary reached the server: the update stands.
    case healthy
    /// The watchdog restored the old binary.
    case rolledBack = "rolled_back"
}

/// An `UpdateAgent` that replaced the binary, recorded before the swap.
public struct AgentUpdateRecord: Sendable, Hashable {
    public var commandId: UUID
    public var fromVersion: String
    public var toVersion: String
    public var binaryPath: String
    public var backupPath: String
    public var phase: AgentUpdatePhase
    /// The new binary must reach the server before this, or it is rolled back.
    public var deadline: Date
    public var reason: String?
}

extension AgentStore {
    /// Records an update about to swap binaries (before the rename, so a crash in between is seen).
    public func recordAgentUpdate(_ record: AgentUpdateRecord, now: Date = Date()) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO agent_updates
                        (command_id, from_version, to_version, binary_path, backup_path, phase, deadline, reason, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.commandId.uuidString, record.fromVersion, record.toVersion, record.binaryPath, record.backupPath,
                    record.phase.rawValue, record.deadline.timeIntervalSince1970, record.reason, now.timeIntervalSince1970,
                ])
        }
    }

    /// The update of `commandId`, if one was recorded.
    public func agentUpdate(_ commandId: UUID) async throws -> AgentUpdateRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM agent_updates WHERE command_id = ?", arguments: [commandId.uuidString])
                .map(Self.agentUpdate(from:))
        }
    }

    /// Updates whose invocation has not been finished yet (at most one in practice).
    public func unfinishedAgentUpdates() async throws -> [AgentUpdateRecord] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT u.* FROM agent_updates u JOIN invocations i ON i.command_id = u.command_id
                    WHERE i.phase != 'finished' ORDER BY u.created_at
                    """
            ).map(Self.agentUpdate(from:))
        }
    }

    /// Moves an update to `phase` unless it already reached a final one (healthy or rolled back),
    /// so the watchdog and the new agent cannot both decide; returns whether it moved.
    @discardableResult
    public func setAgentUpdatePhase(_ commandId: UUID, to phase: AgentUpdatePhase, reason: String? = nil) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE agent_updates SET phase = ?, reason = COALESCE(?, reason)
                    WHERE command_id = ? AND phase NOT IN ('healthy', 'rolled_back')
                    """,
                arguments: [phase.rawValue, reason, commandId.uuidString])
            return db.changesCount == 1
        }
    }

    /// Appends a line to an invocation's output (progress the agent itself reports).
    public func appendOutputLine(_ commandId: UUID, _ line: String, stream: LogStream = .stdout) async throws {
        let column = stream == .stdout ? "stdout_bytes" : "stderr_bytes"
        let offset = try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT \(column) FROM invocations WHERE command_id = ?", arguments: [commandId.uuidString])
        }
        guard let offset else { throw AgentStoreError.corrupt("output for unknown invocation \(commandId)") }
        try await appendChunk(commandId, stream: stream, offset: offset, bytes: Data((line + "\n").utf8))
    }

    static func agentUpdate(from row: Row) throws -> AgentUpdateRecord {
        let idText: String = row["command_id"]
        let phaseText: String = row["phase"]
        guard let id = UUID(uuidString: idText), let phase = AgentUpdatePhase(rawValue: phaseText) else {
            throw AgentStoreError.corrupt("bad agent update row \(idText) \(phaseText)")
        }
        return AgentUpdateRecord(
            commandId: id, fromVersion: row["from_version"], toVersion: row["to_version"], binaryPath: row["binary_path"],
            backupPath: row["backup_path"], phase: phase, deadline: Date(timeIntervalSince1970: row["deadline"]),
            reason: row["reason"])
    }
}
