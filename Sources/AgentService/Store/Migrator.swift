import Foundation
import Logging
import PostgresNIO

/// Why migrations could not be applied.
public enum MigrationError: Error, CustomStringConvertible {
    case directoryUnreadable(path: String)
    case badFileName(String)
    case failed(file: String, underlying: any Error)

    public var description: String {
        switch self {
        case .directoryUnreadable(let path): "migrations directory '\(path)' cannot be read (set MIGRATIONS_DIR)"
        case .badFileName(let name): "migration file '\(name)' must be named NNNN_description.sql"
        case .failed(let file, let underlying): "migration \(file) failed: \(String(reflecting: underlying))"
        }
    }
}

/// Applies `migrations/NNNN_name.sql` in order, once each, recorded in `schema_migrations`.
///
/// A transaction-scoped advisory lock makes replicas that start together apply each file once.
public struct Migrator: Sendable {
    static let advisoryLockKey: Int64 = 0x466C_6565_74  // "Fleet"

    let directory: String
    let logger: Logger

    public init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// The migration files, sorted by their number.
    public func files() throws(MigrationError) -> [(version: Int, name: String, url: URL)] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .directoryUnreadable(path: directory)
        }
        var result: [(version: Int, name: String, url: URL)] = []
        for name in names where name.hasSuffix(".sql") {
            guard let version = Int(name.prefix(while: \.isNumber)), name.contains("_") else { throw .badFileName(name) }
            result.append((version, name, URL(fileURLWithPath: directory).appendingPathComponent(name)))
        }
        return result.sorted { $0.version < $1.version }
    }

    /// Applies what is missing; returns the names applied now.
    @discardableResult
    public func migrate(_ client: PostgresClient) async throws -> [String] {
        let files = try files()
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.advisoryLockKey))", logger: logger)
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                var applied: Set<Int> = []
                for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
                    .decode(Int.self)
                {
                    applied.insert(version)
                }
                var done: [String] = []
                for file in files where !applied.contains(file.version) {
                    let sql = try String(contentsOf: file.url, encoding: .utf8)
                    do {
                        // PostgresNIO speaks the extended protocol: one statement per query.
                        for statement in SQLScript.statements(in: sql) {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                    } catch {
                        throw MigrationError.failed(file: file.name, underlying: error)
                    }
                    try await connection.query(
                        "INSERT INTO schema_migrations (version, name) VALUES (\(file.version), \(file.name))", logger: logger)
                    logger.info("applied migration", metadata: ["file": "\(file.name)"])
                    done.append(file.name)
                }
                return done
            }
        } catch let error as PostgresTransactionError {
            if let migration = error.closureError as? MigrationError { throw migration }
            throw error.closureError ?? error
        }
    }

    /// Whether every version in `expected` is recorded as applied (readiness).
    public func isUpToDate(_ client: PostgresClient, expected: [Int]) async throws -> Bool {
        guard !expected.isEmpty else { return true }
        let rows = try await client.query(
            "SELECT count(*)::int FROM schema_migrations WHERE version = ANY(\(expected))", logger: logger)
        for try await count in rows.decode(Int.self) { return count == expected.count }
        return false
    }
}
