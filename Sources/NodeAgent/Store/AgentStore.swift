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
    /// The spare file released when SQLite finds the disk full (see ``StoreReserve``).
    public let reserve: StoreReserve
    let reusablePages = ReusablePages()
    let directory: String
    let freeSpace: @Sendable (String) -> Int64?

    /// Default space kept free in the state directory besides the spare file: room for the WAL
    /// to grow between checkpoints and for the status writes of a full disk.
    public static let defaultSpaceReserve: Int64 = 4 << 20
    /// WAL bytes after which SQLite checkpoints (and then reuses the WAL from its start).
    static let walCheckpointBytes: Int64 = 4 << 20
    /// Default size of the spare file.
    public static let defaultReserveFile: Int64 = 2 << 20

    /// Opens (creating and migrating) `agent.sqlite` in `directory`. Output may take at most
    /// `bufferCap` unacknowledged bytes and must leave `spaceReserve` free on the disk;
    /// `freeSpace` measures a directory's free bytes (a test substitutes its own disk).
    public init(
        directory: String, bufferCap: Int64, spaceReserve: Int64 = AgentStore.defaultSpaceReserve,
        reserveFile: Int64 = AgentStore.defaultReserveFile,
        freeSpace: @escaping @Sendable (String) -> Int64? = StoreReserve.freeBytes,
        recheckInterval: Duration = .milliseconds(500), clock: any Clock<Duration> = ContinuousClock()
    ) throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var configuration = GRDB.Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "node-agent"
        // WAL + synchronous=NORMAL: a commit survives the agent being killed (-9) without an
        // fsync per chunk; only an OS crash or power cut can drop the last commits, and then the
        // server marks what the agent no longer knows `lost` instead of losing it silently.
        //
        // 16 KiB pages (for a store created by this version; an existing one keeps its size): a
        // 256 KiB chunk is 16 pages instead of 64 in the WAL and in the checkpoint. Measured with
        // SQLite alone, storing, reading and deleting 270 MB in such chunks took 0.68 s of CPU
        // instead of 1.17 s, while a one-row update went from 17 to 21 µs (64 KiB: 0.83 s, 42 µs).
        // The WAL is checkpointed every 4 MiB whatever the page size (SQLite counts pages: its
        // default of 1000 would let a 16 KiB-page WAL grow to 16 MiB, past the space reserve).
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA page_size = 16384")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(max(1, Int(AgentStore.walCheckpointBytes) / pageSize))")
        }
        let path = (directory as NSString).appendingPathComponent("agent.sqlite")
        // Output can hold secrets: the database and its WAL/SHM files (which SQLite creates with
        // the database's mode) are readable by the agent's user only.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        for suffix in ["", "-wal", "-shm"] { chmod(path + suffix, 0o600) }
        self.directory = directory
        self.freeSpace = freeSpace
        database = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
        let (used, reusable) = try database.read { db in
            (
                try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM chunks") ?? 0,
                try Self.freePageBytes(db)
            )
        }
        reusablePages.set(reusable)
        reserve = StoreReserve(directory: directory, size: reserveFile)
        budget = BufferBudget(
            cap: bufferCap, used: used, reserve: spaceReserve,
            space: { [reusablePages] in freeSpace(directory).map { $0 + reusablePages.value } },
            recheckInterval: recheckInterval, clock: clock)
        reserve.replenish(margin: spaceReserve)
    }

    /// Bytes in pages SQLite keeps for reuse (deleted chunks leave them behind).
    static func freePageBytes(_ db: Database) throws -> Int64 {
        let pages = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        let size = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
        return pages * size
    }

    /// Free bytes in the state directory right now (for messages), nil when unknown.
    public func freeBytes() -> Int64? { freeSpace(directory) }

    /// Whether `error` means the state directory has no room: SQLITE_FULL, ENOSPC, or an I/O
    /// error while the disk is nearly full (SQLite reports a WAL index it cannot grow as I/O).
    public static func isOutOfSpace(_ error: any Error, directory: String, reserve: Int64 = defaultSpaceReserve) -> Bool {
        switch error {
        case AgentStoreError.stateDirectoryFull: return true
        case let error as DatabaseError where error.resultCode == .SQLITE_FULL: return true
        case let error as DatabaseError where error.resultCode == .SQLITE_IOERR || error.resultCode == .SQLITE_CANTOPEN:
            return (StoreReserve.freeBytes(directory) ?? .max) < reserve
        case let error as CocoaError:
            return (error.underlying as? POSIXError)?.code == .ENOSPC || (StoreReserve.freeBytes(directory) ?? .max) < reserve
        case let error as POSIXError: return error.code == .ENOSPC
        default: return false
        }
    }

    /// A write transaction. On a full disk, a write that keeps the agent working (deletes, states,
    /// recording work) releases the spare file and tries once more; chunk appends do not (they
    /// wait for room instead). A write that still finds no room throws
    /// ``AgentStoreError/stateDirectoryFull(freeBytes:)``.
    func write<T: Sendable>(usingReserve: Bool = true, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.write(body)
        } catch  where Self.isOutOfSpace(error, directory: directory, reserve: budget.reserve) {
            guard usingReserve, reserve.release() else { throw AgentStoreError.stateDirectoryFull(freeBytes: freeBytes() ?? 0) }
        }
        do {
            return try await database.write(body)
        } catch  where Self.isOutOfSpace(error, directory: directory, reserve: budget.reserve) {
            throw AgentStoreError.stateDirectoryFull(freeBytes: freeBytes() ?? 0)
        }
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
