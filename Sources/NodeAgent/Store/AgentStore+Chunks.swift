import FleetProtocol
import Foundation
import GRDB

extension AgentStore {
    /// Stores one cut chunk and advances its stream's byte count, in one transaction.
    ///
    /// The offset must continue the stream exactly; anything else is a bug and is refused. On a
    /// full disk it throws ``AgentStoreError/stateDirectoryFull(freeBytes:)`` without touching
    /// the reserve: the caller holds the chunk and waits for room.
    public func appendChunk(_ commandId: UUID, stream: LogStream, offset: Int64, bytes: Data) async throws {
        guard !bytes.isEmpty else { return }
        let column = stream == .stdout ? "stdout_bytes" : "stderr_bytes"
        let id = commandId.uuidString
        let reusable = try await write(usingReserve: false) { db in
            // Cached statements: these three were prepared again for every chunk, and GRDB's
            // authorizer, called per column at each prepare, was ~4 % of the agent's samples
            // while streaming.
            let stored = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT \(column) FROM invocations WHERE command_id = ?"), arguments: [id])
            guard let stored else { throw AgentStoreError.corrupt("chunk for unknown invocation \(id)") }
            guard stored == offset else {
                throw AgentStoreError.offsetMismatch(commandId: commandId, stream: stream, expected: stored, got: offset)
            }
            try db.cachedStatement(sql: "INSERT INTO chunks (command_id, stream, offset, data) VALUES (?, ?, ?, ?)")
                .execute(arguments: [id, stream.rawValue, offset, bytes])
            try db.cachedStatement(sql: "UPDATE invocations SET \(column) = ? WHERE command_id = ?")
                .execute(arguments: [offset + Int64(bytes.count), id])
            return try Self.freePageBytes(db)
        }
        reusablePages.set(reusable)
        budget.add(Int64(bytes.count))
    }

    /// Invocations that have chunks waiting, the one with the oldest chunk first.
    public func invocationsWithChunks() async throws -> [UUID] {
        try await database.read { db in
            try String.fetchAll(
                db, sql: "SELECT command_id FROM chunks GROUP BY command_id ORDER BY MIN(seq)"
            ).compactMap(UUID.init(uuidString:))
        }
    }

    /// The oldest waiting chunks of one invocation cut after `seq`, in the order they were cut,
    /// at most `maxChunks` and about `maxBytes` (always at least one chunk when any wait).
    public func pendingChunks(_ commandId: UUID, after seq: Int64 = 0, maxChunks: Int, maxBytes: Int) async throws -> [StoredChunk] {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT seq, stream, offset, data FROM chunks WHERE command_id = ? AND seq > ? ORDER BY seq LIMIT ?"),
                arguments: [commandId.uuidString, seq, maxChunks])
            var chunks: [StoredChunk] = []
            var total = 0
            for row in rows {
                let streamText: String = row["stream"]
                guard let stream = LogStream(rawValue: streamText) else { throw AgentStoreError.corrupt("bad stream \(streamText)") }
                let bytes: Data = row["data"]
                if !chunks.isEmpty, total + bytes.count > maxBytes { break }
                total += bytes.count
                chunks.append(
                    StoredChunk(seq: row["seq"], commandId: commandId, stream: stream, offset: row["offset"], bytes: bytes))
            }
            return chunks
        }
    }

    /// Deletes the chunks the server acknowledged; returns how many bytes were freed.
    @discardableResult
    public func deleteChunks(_ commandId: UUID, acknowledged: [(stream: LogStream, offset: Int64)]) async throws -> Int64 {
        guard !acknowledged.isEmpty else { return 0 }
        let id = commandId.uuidString
        let (freed, reusable) = try await write { db -> (Int64, Int64) in
            var freed: Int64 = 0
            for (stream, offset) in acknowledged {
                let length = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT LENGTH(data) FROM chunks WHERE command_id = ? AND stream = ? AND offset = ?"),
                    arguments: [id, stream.rawValue, offset])
                guard let length else { continue }
                try db.cachedStatement(sql: "DELETE FROM chunks WHERE command_id = ? AND stream = ? AND offset = ?")
                    .execute(arguments: [id, stream.rawValue, offset])
                freed += length
            }
            return (freed, try Self.freePageBytes(db))
        }
        reusablePages.set(reusable)
        // The spare file may have been spent on an earlier delete; take it back while there is room.
        reserve.replenish(margin: budget.reserve)
        budget.remove(freed)
        return freed
    }

    /// Number of chunks still waiting for one invocation.
    public func pendingChunkCount(_ commandId: UUID) async throws -> Int {
        try await database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunks WHERE command_id = ?", arguments: [commandId.uuidString]) ?? 0
        }
    }

    /// Bytes in stored chunks, all invocations (what the budget counts).
    public func pendingChunkBytes() async throws -> Int64 {
        try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM chunks") ?? 0
        }
    }
}
