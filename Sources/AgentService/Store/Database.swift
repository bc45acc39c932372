import Logging
import PostgresNIO

/// A failure talking to Postgres, with the context needed to decide what the client sees.
public enum DatabaseError: Error, CustomStringConvertible {
    /// The database could not be reached or the query failed for a server-side reason.
    case database(operation: String, underlying: any Error)
    /// A row broke an invariant the schema is meant to keep (a bug, not a client mistake).
    case unexpected(operation: String, detail: String)

    public var description: String {
        switch self {
        case .database(let operation, let underlying): "\(operation) failed: \(String(reflecting: underlying))"
        case .unexpected(let operation, let detail): "\(operation): \(detail)"
        }
    }
}

/// The service's handle on Postgres: a pool plus helpers that wrap every failure in ``DatabaseError``.
public struct Database: Sendable {
    public let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Runs `body` in one transaction; a ``StoreRefusal`` thrown inside rolls back and passes through unchanged.
    func transaction<T: Sendable>(
        _ operation: String, _ body: (PostgresConnection) async throws -> sending T
    ) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await body(connection)
            }
        } catch let error as PostgresTransactionError {
            if let refusal = error.closureError as? any StoreRefusal { throw refusal }
            throw DatabaseError.database(operation: operation, underlying: error.closureError ?? error)
        } catch let refusal as any StoreRefusal {
            throw refusal
        } catch {
            throw DatabaseError.database(operation: operation, underlying: error)
        }
    }

    /// Runs one statement outside a transaction and collects its rows.
    func query(_ operation: String, _ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            var rows: [PostgresRow] = []
            for try await row in try await client.query(query, logger: logger) { rows.append(row) }
            return rows
        } catch {
            throw DatabaseError.database(operation: operation, underlying: error)
        }
    }
}

extension PostgresConnection {
    /// Runs one statement and collects its rows (inside a transaction of ``Database``).
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await self.query(query, logger: logger) { rows.append(row) }
        return rows
    }
}
