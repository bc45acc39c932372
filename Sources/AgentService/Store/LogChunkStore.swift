import FleetProtocol
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Prometheus

/// The log store: offset-addressed chunks per (command, node, stream).
///
/// Each stream is kept as a contiguous prefix (the rules are in ``ChunkPlan``). Uploads of one
/// invocation are serialised on its row lock, so chunk ids follow the agent's production order.
struct LogChunkStore: Sendable {
    static let maxChunksPerUpload = 1024

    let database: Database
    let metrics: ServiceMetrics
    let maxChunkBytes: Int

    /// A chunk decoded and checked before the transaction starts.
    struct IncomingChunk: Sendable {
        var stream: LogStream
        var offset: Int64
        var bytes: ByteBuffer

        var position: ChunkPosition { ChunkPosition(stream: stream, offset: offset) }
    }

    /// Validates every chunk of the request (all or nothing).
    func decode(_ request: UploadLogsRequest) throws(LogError) -> [IncomingChunk] {
        guard !request.chunks.isEmpty else { throw .noChunks }
        guard request.chunks.count <= Self.maxChunksPerUpload else { throw .tooManyChunks(limit: Self.maxChunksPerUpload) }
        var chunks: [IncomingChunk] = []
        for (index, chunk) in request.chunks.enumerated() {
            guard chunk.offset >= 0 else { throw .negativeOffset(index: index) }
            guard let bytes = chunk.decodedBytes() else { throw .undecodable(index: index, encoding: chunk.encoding.rawValue) }
            let incoming = IncomingChunk(stream: chunk.stream, offset: chunk.offset, bytes: ByteBuffer(bytes: bytes))
            try check(incoming, index: index)
            chunks.append(incoming)
        }
        return chunks
    }

    /// Validates the chunks of a binary batch (framing parsed by ``BinaryChunkBatch``); they are
    /// slices of `body`, not copies.
    func decode(binary body: ByteBuffer, _ frames: [BinaryChunkBatch.Frame]) throws(LogError) -> [IncomingChunk] {
        guard !frames.isEmpty else { throw .noChunks }
        guard frames.count <= Self.maxChunksPerUpload else { throw .tooManyChunks(limit: Self.maxChunksPerUpload) }
        var chunks: [IncomingChunk] = []
        chunks.reserveCapacity(frames.count)
        for (index, frame) in frames.enumerated() {
            let bytes = body.getSlice(at: body.readerIndex + frame.range.lowerBound, length: frame.range.count) ?? ByteBuffer()
            let incoming = IncomingChunk(stream: frame.stream, offset: frame.offset, bytes: bytes)
            try check(incoming, index: index)
            chunks.append(incoming)
        }
        return chunks
    }

    /// The per-chunk rules both upload forms share.
    private func check(_ chunk: IncomingChunk, index: Int) throws(LogError) {
        let count = chunk.bytes.readableBytes
        guard count > 0 else { throw .emptyChunk(index: index) }
        guard count <= maxChunkBytes else { throw .chunkTooLarge(index: index, bytes: count, limit: maxChunkBytes) }
        guard chunk.offset <= Int64.max - Int64(count) else { throw .offsetOutOfRange(index: index) }
    }

    /// Stores the node's chunks idempotently and says what is now stored.
    func ingest(nodeId: String, _ request: UploadLogsRequest) async throws -> UploadLogsResponse {
        let response = try await ingest(nodeId: nodeId, commandId: request.commandId, try decode(request))
        metrics.jsonUploads.increment()
        return response
    }

    /// Stores a binary batch of the node's chunks; the same rules as the JSON upload.
    func ingest(nodeId: String, commandId: UUID, binary body: ByteBuffer, _ frames: [BinaryChunkBatch.Frame]) async throws -> UploadLogsResponse {
        let response = try await ingest(nodeId: nodeId, commandId: commandId, try decode(binary: body, frames))
        metrics.binaryUploads.increment()
        return response
    }

    /// One upload in one transaction: all of its chunks are stored, or none.
    private func ingest(nodeId: String, commandId: UUID, _ chunks: [IncomingChunk]) async throws -> UploadLogsResponse {
        let plan = try await database.transaction("store log chunks") { connection in
            let ends = try await lockStreamEnds(commandId: commandId, nodeId: nodeId, connection: connection)
            let plan = try ChunkPlan(chunks, storedEnds: ends)
            let stored = try await storedChunks(at: plan.replays.map(\.position), commandId: commandId, nodeId: nodeId, connection: connection)
            try plan.checkReplays(against: stored)
            try await write(plan, commandId: commandId, nodeId: nodeId, connection: connection)
            return plan
        }
        metrics.chunksIngested.increment(by: Int64(plan.fresh.count))
        metrics.bytesIngested.increment(by: Int64(plan.freshBytes))
        return UploadLogsResponse(
            commandId: commandId, receipts: plan.receipts, stdoutBytes: plan.ends[.stdout] ?? 0, stderrBytes: plan.ends[.stderr] ?? 0)
    }

    /// Locks the node's invocation (serialising its uploads) and reads how much of each stream is stored.
    private func lockStreamEnds(commandId: UUID, nodeId: String, connection: PostgresConnection) async throws -> [LogStream: Int64] {
        let rows = try await connection.rows(
            """
            SELECT state, stdout_stored, stderr_stored FROM invocations
            WHERE command_id = \(commandId) AND node_id = \(nodeId) FOR UPDATE
            """, logger: database.logger)
        guard let row = rows.first else {
            throw try await CommandQueue.notYours(commandId: commandId, connection: connection, logger: database.logger)
        }
        let (state, stdoutStored, stderrStored) = try row.decode((String, Int64, Int64).self)
        guard state != InvocationState.queued.rawValue else { throw LogError.notDelivered(commandId: commandId) }
        return [.stdout: stdoutStored, .stderr: stderrStored]
    }

    /// The stored chunks that start at `positions`.
    private func storedChunks(
        at positions: [ChunkPosition], commandId: UUID, nodeId: String, connection: PostgresConnection
    ) async throws -> [ChunkPosition: ByteBuffer] {
        guard !positions.isEmpty else { return [:] }
        let streams = positions.map { Self.streamCode($0.stream) }
        let offsets = positions.map(\.offset)
        let rows = try await connection.rows(
            """
            SELECT c.stream, c.byte_offset, c.data FROM log_chunks c
            JOIN unnest(\(streams)::int2[], \(offsets)::int8[]) AS k(s, o) ON c.stream = k.s AND c.byte_offset = k.o
            WHERE c.command_id = \(commandId) AND c.node_id = \(nodeId)
            """, logger: database.logger)
        var stored: [ChunkPosition: ByteBuffer] = [:]
        for row in rows {
            let (stream, offset, data) = try row.decode((Int16, Int64, ByteBuffer).self)
            stored[ChunkPosition(stream: Self.stream(code: stream), offset: offset)] = data
        }
        return stored
    }

    /// Appends the plan's new chunks, moves the stream ends and wakes the readers.
    private func write(_ plan: ChunkPlan, commandId: UUID, nodeId: String, connection: PostgresConnection) async throws {
        guard !plan.fresh.isEmpty else { return }
        try await connection.query(Self.insertStatement(plan, commandId: commandId, nodeId: nodeId), logger: database.logger)
    }

    /// One statement: the rows, the stream ends and the readers' wake-up (one NOTIFY per batch).
    ///
    /// The rows are a VALUES list with one bytea bind per chunk, not `unnest` of a bytea[]:
    /// Postgres copied the array on receipt (`array_recv`, 8 % of its samples while ingesting)
    /// and materialised the unnested rows in a tuplestore that spilled to a temporary file once
    /// a batch passed `work_mem` (4 MiB batches do). A VALUES scan yields its rows in the order
    /// listed, so `id` (the order readers follow) still counts the chunks in upload order.
    static func insertStatement(_ plan: ChunkPlan, commandId: UUID, nodeId: String) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 6 + 3 * plan.fresh.count)
        binds.append(commandId)
        binds.append(nodeId)
        binds.append(plan.ends[.stdout] ?? 0)
        binds.append(plan.ends[.stderr] ?? 0)
        binds.append(CommandQueue.logsChannel)
        binds.append(commandId.uuidString)
        var rows: [String] = []
        rows.reserveCapacity(plan.fresh.count)
        for chunk in plan.fresh {
            let at = binds.count
            binds.append(streamCode(chunk.stream))
            binds.append(chunk.offset)
            binds.append(chunk.bytes)
            rows.append("($1, $2, $\(at + 1)::int2, $\(at + 2)::int8, $\(at + 3)::bytea)")
        }
        return PostgresQuery(
            unsafeSQL: """
                WITH added AS (
                    INSERT INTO log_chunks (command_id, node_id, stream, byte_offset, data)
                    VALUES \(rows.joined(separator: ", "))
                )
                UPDATE invocations SET stdout_stored = $3, stderr_stored = $4
                WHERE command_id = $1 AND node_id = $2
                RETURNING pg_notify($5, $6)
                """,
            binds: binds)
    }

    static func streamCode(_ stream: LogStream) -> Int16 {
        switch stream {
        case .stdout: 1
        case .stderr: 2
        }
    }

    static func stream(code: Int16) -> LogStream { code == 2 ? .stderr : .stdout }
}
