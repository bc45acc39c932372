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
        try await appendChunks(commandId, [(stream, offset, bytes)])
    }

    /// Stores chunks cut in this order, all or none, in one transaction (the rules of
    /// ``appendChunk(_:stream:offset:bytes:)`` for each). One commit for what a fast writer cut
    /// while the previous commit ran, instead of one each.
    public func appendChunks(_ commandId: UUID, _ chunks: [(stream: LogStream, offset: Int64, bytes: Data)]) async throws {
        let chunks = chunks.filter { !$0.bytes.isEmpty }
        guard !chunks.isEmpty else { return }
        let id = commandId.uuidString
        // Counted before the commit, not after: the uploader may read, send and delete the
        // chunks before this call returns, and a count added after their removal would stay
        // in the budget for good (the cap would then hold readers back with nothing stored).
        let bytes = chunks.reduce(0) { $0 + Int64($1.bytes.count) }
        budget.add(bytes)
        let reusable: Int64
        do {
            reusable = try await write(usingReserve: false) { db in
                // Cached statements: these were prepared again for every chunk, and GRDB's
                // authorizer, called per column at each prepare, was ~4 % of the agent's samples
                // while streaming.
                let stored = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT stdout_bytes, stderr_bytes FROM invocations WHERE command_id = ?"), arguments: [id])
                guard let stored else { throw AgentStoreError.corrupt("chunk for unknown invocation \(id)") }
                var next: [LogStream: Int64] = [.stdout: stored[0], .stderr: stored[1]]
                let insert = try db.cachedStatement(sql: "INSERT INTO chunks (command_id, stream, offset, data) VALUES (?, ?, ?, ?)")
                for chunk in chunks {
                    let expected = next[chunk.stream] ?? 0
                    guard expected == chunk.offset else {
                        throw AgentStoreError.offsetMismatch(commandId: commandId, stream: chunk.stream, expected: expected, got: chunk.offset)
                    }
                    try insert.execute(arguments: [id, chunk.stream.rawValue, chunk.offset, chunk.bytes])
                    next[chunk.stream] = chunk.offset + Int64(chunk.bytes.count)
                }
                try db.cachedStatement(sql: "UPDATE invocations SET stdout_bytes = ?, stderr_bytes = ? WHERE command_id = ?")
                    .execute(arguments: [next[.stdout], next[.stderr], id])
                return try Self.freePageBytes(db)
            }
        } catch {
            budget.remove(bytes)
            throw error
        }
        reusablePages.set(reusable)
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
            var chunks: [StoredChunk] = []
            try Self.forEachPending(db, commandId, after: seq, maxChunks: maxChunks, maxBytes: maxBytes) { ref, bytes in
                // `bytes` points into SQLite's page: copied out here.
                let owned = bytes.withUnsafeBytes { Data($0) }
                chunks.append(StoredChunk(seq: ref.seq, commandId: commandId, stream: ref.stream, offset: ref.offset, bytes: owned))
            }
            return chunks
        }
    }

    /// The same chunks as ``pendingChunks(_:after:maxChunks:maxBytes:)``, already in a binary
    /// upload body (``BinaryChunkBatch``): each chunk's bytes are copied once, from SQLite's
    /// page straight into the body.
    public func pendingBatch(_ commandId: UUID, after seq: Int64 = 0, maxChunks: Int, maxBytes: Int) async throws -> PendingBatch {
        try await database.read { db in
            var builder = BinaryChunkBatch.Builder(commandId: commandId, capacity: BinaryChunkBatch.headerSize + min(maxBytes, 8 << 20))
            var chunks: [ChunkRef] = []
            try Self.forEachPending(db, commandId, after: seq, maxChunks: maxChunks, maxBytes: maxBytes) { ref, bytes in
                builder.append(stream: ref.stream, offset: ref.offset, bytes: bytes)
                chunks.append(ref)
            }
            return PendingBatch(chunks: chunks, body: builder.finish())
        }
    }

    /// Walks the waiting chunks both readers above return; `body` gets each chunk's bytes
    /// without a copy, valid only during the call.
    private static func forEachPending(
        _ db: Database, _ commandId: UUID, after seq: Int64, maxChunks: Int, maxBytes: Int, _ body: (ChunkRef, Data) -> Void
    ) throws {
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT seq, stream, offset, data FROM chunks WHERE command_id = ? AND seq > ? ORDER BY seq LIMIT ?"),
            arguments: [commandId.uuidString, seq, maxChunks])
        var taken = 0
        var total = 0
        while let row = try rows.next() {
            let streamText: String = row[1]
            guard let stream = LogStream(rawValue: streamText) else { throw AgentStoreError.corrupt("bad stream \(streamText)") }
            let included = try row.withUnsafeData(atIndex: 3) { data -> Bool in
                let bytes = data ?? Data()
                if taken > 0, total + bytes.count > maxBytes { return false }
                body(ChunkRef(seq: row[0], stream: stream, offset: row[2], length: bytes.count), bytes)
                taken += 1
                total += bytes.count
                return true
            }
            guard included else { break }
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
