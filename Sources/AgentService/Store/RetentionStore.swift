import Foundation
import PostgresNIO

/// Drops what has outlived its retention, in batches bounded so that no statement holds locks
/// or I/O long enough to stall live ingest: each call deletes at most `batch` rows.
struct RetentionStore: Sendable {
    let database: Database

    /// Deletes up to `batch` chunks of invocations that finished before `outputDays` ago, and
    /// marks invocations whose chunks are all gone. Returns the chunks deleted and the
    /// invocations marked (both zero when nothing is due).
    func dropOutput(olderThanDays outputDays: Int, batch: Int) async throws -> (chunks: Int, invocations: Int) {
        let rows = try await database.query(
            "drop old output",
            """
            WITH due AS (
                SELECT command_id, node_id FROM invocations
                WHERE finished_at IS NOT NULL AND output_dropped_at IS NULL
                  AND finished_at < now() - make_interval(days => \(outputDays)::int)
                ORDER BY finished_at LIMIT 64
            ), doomed AS (
                SELECT c.id FROM log_chunks c JOIN due USING (command_id, node_id) LIMIT \(batch)
            ), gone AS (
                DELETE FROM log_chunks c USING doomed d WHERE c.id = d.id RETURNING c.command_id, c.node_id
            ), emptied AS (
                -- An invocation is done when this batch left none of its chunks (the statement's
                -- snapshot still sees the ones it deleted, so count what remains by difference).
                UPDATE invocations i SET output_dropped_at = now()
                FROM due
                WHERE i.command_id = due.command_id AND i.node_id = due.node_id
                  AND (SELECT count(*) FROM log_chunks c WHERE c.command_id = due.command_id AND c.node_id = due.node_id)
                      = (SELECT count(*) FROM gone g WHERE g.command_id = due.command_id AND g.node_id = due.node_id)
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM gone)::int, (SELECT count(*) FROM emptied)::int
            """)
        guard let (chunks, invocations) = try rows.first?.decode((Int, Int).self) else { return (0, 0) }
        return (chunks, invocations)
    }

    /// Deletes up to `batch` commands created before `historyDays` ago whose invocations all
    /// finished, with their invocations and any output left (cascade). Returns the commands deleted.
    func dropHistory(olderThanDays historyDays: Int, batch: Int) async throws -> Int {
        let rows = try await database.query(
            "drop old history",
            """
            WITH doomed AS (
                SELECT c.command_id FROM commands c
                WHERE c.created_at < now() - make_interval(days => \(historyDays)::int)
                  AND NOT EXISTS (SELECT 1 FROM invocations i WHERE i.command_id = c.command_id AND i.finished_at IS NULL)
                ORDER BY c.created_at LIMIT \(batch)
            ), gone AS (
                DELETE FROM commands c USING doomed d WHERE c.command_id = d.command_id RETURNING 1
            )
            SELECT count(*)::int FROM gone
            """)
        return try rows.first?.decode(Int.self) ?? 0
    }
}
