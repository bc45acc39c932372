import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The agent's durable state in SQLite (WAL): every received invocation, recorded before it is
/// acknowledged, and every chunk of output until the server has acknowledged it.
public final class AgentStore: Sendable {
    let database: DatabasePool
    /// Unacknowledged chunk bytes, shared with the output readers for back-pressure.
    public let budget: BufferBudget

    /// Opens (creating and migrating) `agent.sqlite` in `directory`.
    public init(directory: String, bufferCap: Int64) throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var configuration = GRDB.Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "node-agent"
        // WAL + synchronous=NORMAL: a commit survives the agent being killed (-9) without an
        // fsync per chunk; only an OS crash or power cut can drop the last commits, and then the
        // server marks what the agent no longer knows `lost` instead of losing it silently.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let path = (directory as NSString).appendingPathComponent("agent.sqlite")
        // Output can hold secrets: the database and its WAL/SHM files (which SQLite creates with
        // the database's mode) are readable by the agent's user only.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        for suffix in ["", "-wal", "-shm"] { chmod(path + suffix, 0o600) }
        database = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
        let used = try database.read { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM chunks") ?? 0
        }
        budget = BufferBudget(cap: bufferCap, used: used)
    }

    /// Migrations must stay additive: after a rolled-back UpdateAgent the previous agent opens a
    /// store that the newer one may have migrated (GRDB skips migrations it does not know).
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1-invocations-and-chunks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE invocations (
                        command_id TEXT PRIMARY KEY NOT NULL,
                        command_type TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        phase TEXT NOT NULL CHECK (phase IN ('received', 'running', 'finished')),
                        final_state TEXT,
                        exit_code INTEGER,
                        signal INTEGER,
                        reason TEXT,
                        stdout_bytes INTEGER NOT NULL DEFAULT 0,
                        stderr_bytes INTEGER NOT NULL DEFAULT 0,
                        running_reported INTEGER NOT NULL DEFAULT 0,
                        final_reported INTEGER NOT NULL DEFAULT 0,
                        cancel_requested INTEGER NOT NULL DEFAULT 0,
                        delivery_count INTEGER NOT NULL DEFAULT 1,
                        received_at REAL NOT NULL,
                        started_at REAL,
                        pid INTEGER,
                        pid_start_time INTEGER,
                        finished_at REAL
                    );
                    CREATE INDEX invocations_by_phase ON invocations(phase, final_reported);
                    CREATE TABLE chunks (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        command_id TEXT NOT NULL REFERENCES invocations(command_id) ON DELETE CASCADE,
                        stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr')),
                        offset INTEGER NOT NULL CHECK (offset >= 0),
                        data BLOB NOT NULL,
                        UNIQUE (command_id, stream, offset)
                    );
                    CREATE INDEX chunks_by_command ON chunks(command_id, seq);
                    """)
        }
        migrator.registerMigration("2-results-and-agent-updates") { db in
            // `result`: structured facts sent with the final state. `agent_updates`: an UpdateAgent
            // that swapped the binary and restarted; the next agent (new, or the restored old one)
            // reads it to finish the invocation instead of calling it lost.
            try db.execute(
                sql: """
                    ALTER TABLE invocations ADD COLUMN result BLOB;
                    CREATE TABLE agent_updates (
                        command_id TEXT PRIMARY KEY NOT NULL REFERENCES invocations(command_id) ON DELETE CASCADE,
                        from_version TEXT NOT NULL,
                        to_version TEXT NOT NULL,
                        binary_path TEXT NOT NULL,
                        backup_path TEXT NOT NULL,
                        phase TEXT NOT NULL CHECK (phase IN ('swapped', 'started', 'healthy', 'rolled_back')),
                        agent_pid INTEGER,
                        deadline REAL NOT NULL,
                        reason TEXT,
                        created_at REAL NOT NULL
                    );
                    """)
        }
        return migrator
    }
}
