import FleetProtocol
import Foundation
import NIOCore
import PostgresNIO

/// Where a reader stands: the last chunk id returned per node.
///
/// Opaque to clients (`node:id,node:id`); node ids never contain `:` or `,`.
struct LogCursor: Equatable {
    var positions: [String: Int64] = [:]

    init(positions: [String: Int64] = [:]) { self.positions = positions }

    init(parsing text: String?) throws {
        guard let text, !text.isEmpty else { return }
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: ":")
            guard pieces.count == 2, FleetValidation.isValidNodeId(String(pieces[0])), let id = Int64(pieces[1]), id >= 0 else {
                throw LogError.invalidCursor
            }
            positions[String(pieces[0])] = id
        }
    }

    var text: String { positions.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",") }
}

extension LogChunkStore {
    /// Most bytes returned in one page.
    static let maxPageBytes = 4 * 1024 * 1024

    /// The readers' view of one invocation: is it finished and is every reported byte in?
    struct InvocationProgress {
        var nodeId: String
        var complete: Bool
    }

    /// Progress of the invocations being read; nil when the command does not exist.
    func progress(commandId: UUID, nodeId: String?) async throws -> [InvocationProgress]? {
        let rows = try await database.query(
            "log progress",
            """
            SELECT node_id, state, stdout_stored, stderr_stored, stdout_total, stderr_total
            FROM invocations WHERE command_id = \(commandId) AND (\(nodeId)::text IS NULL OR node_id = \(nodeId))
            ORDER BY node_id
            """)
        if rows.isEmpty {
            let exists = try await database.query("command exists", "SELECT 1 FROM commands WHERE command_id = \(commandId)")
            return exists.isEmpty ? nil : []
        }
        return try rows.map { row in
            let (node, state, stdoutStored, stderrStored, stdoutTotal, stderrTotal) =
                try row.decode((String, String, Int64, Int64, Int64?, Int64?).self)
            let terminal = InvocationState(rawValue: state)?.isTerminal ?? false
            let allIn = stdoutStored >= (stdoutTotal ?? 0) && stderrStored >= (stderrTotal ?? 0)
            return InvocationProgress(nodeId: node, complete: terminal && allIn)
        }
    }

    /// Chunks after `cursor` in production order, at most `limit` and about ``maxPageBytes``.
    ///
    /// Progress is read before the chunks: if it says complete, every chunk had committed by
    /// then, so the page that follows cannot miss one.
    func read(commandId: UUID, nodeId: String?, cursor: LogCursor, limit: Int) async throws -> LogPage? {
        guard let progress = try await progress(commandId: commandId, nodeId: nodeId) else { return nil }
        if let nodeId, progress.isEmpty {
            throw LogError.noInvocation(commandId: commandId, nodeId: nodeId)
        }
        let nodes = progress.map(\.nodeId)
        let after = nodes.map { cursor.positions[$0] ?? 0 }
        // Only the chunks that fit the page, and the one after them (it tells the page is cut),
        // leave Postgres: the running total of `octet_length` reads TOAST pointers, not the
        // bytes. Fetching `limit + 1` whole chunks and cutting here moved up to 1,000 chunks
        // from Postgres for the 16 a page of 256 KiB chunks holds.
        let rows = try await database.query(
            "read log chunks",
            """
            SELECT id, node_id, stream, byte_offset, data FROM (
                SELECT c.id, c.node_id, c.stream, c.byte_offset, c.data, row_number() OVER w AS n,
                       sum(octet_length(c.data)) OVER w - octet_length(c.data) AS before
                FROM unnest(\(nodes)::text[], \(after)::int8[]) AS k(node_id, after)
                CROSS JOIN LATERAL (
                    SELECT id, node_id, stream, byte_offset, data FROM log_chunks
                    WHERE command_id = \(commandId) AND node_id = k.node_id AND id > k.after
                    ORDER BY id LIMIT \(limit + 1)
                ) AS c
                WINDOW w AS (ORDER BY c.id)
            ) AS page
            WHERE n <= \(limit + 1) AND (n = 1 OR before <= \(Self.maxPageBytes))
            ORDER BY id
            """)
        var next = cursor
        var chunks: [LogChunk] = []
        var bytes = 0
        var truncated = rows.count > limit
        for row in rows.prefix(limit) {
            let (id, node, stream, offset, data) = try row.decode((Int64, String, Int16, Int64, ByteBuffer).self)
            if !chunks.isEmpty, bytes + data.readableBytes > Self.maxPageBytes {
                truncated = true
                break
            }
            bytes += data.readableBytes
            chunks.append(
                LogChunk(
                    offset: offset, stream: Self.stream(code: stream), bytes: data.readableBytesView,
                    nodeId: nodeId == nil ? node : nil))
            next.positions[node] = id
        }
        let complete = !truncated && progress.allSatisfy(\.complete)
        return LogPage(commandId: commandId, nodeId: nodeId, chunks: chunks, nextCursor: next.text, complete: complete)
    }
}
