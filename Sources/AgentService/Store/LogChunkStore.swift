import FleetProtocol
import Prometheus
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The log store: offset-addressed chunks per (command, node, stream).
///
/// Each stream is kept as a contiguous prefix: a chunk is stored only at the current end of its
/// stream, a replay of a stored chunk is acknowledged as a duplicate, and anything else (a gap,
/// an overlap, different bytes at a stored offset) is a conflict. Uploads of one invocation are
/// serialised on its row lock, so chunk ids follow the agent's production order.
struct LogChunkStore: Sendable {
    let database: Database
    let metrics: ServiceMetrics
    let maxChunkBytes: Int

    /// A chunk decoded and checked before the transaction starts.
    struct IncomingChunk {
        var stream: LogStream
        var offset: Int64
        var bytes: ByteBuffer
    }

    /// Validates every chunk of the request (all or nothing).
    func decode(_ request: UploadLogsRequest) throws -> [IncomingChunk] {
        guard !request.chunks.isEmpty else { throw APIError.badRequest("chunks must not be empty", code: "invalid_chunk") }
        guard request.chunks.count <= 1024 else { throw APIError.badRequest("at most 1024 chunks per upload", code: "invalid_chunk") }
        return try request.chunks.enumerated().map { index, chunk in
            guard chunk.offset >= 0 else {
                throw APIError.badRequest("chunks[\(index)].offset must not be negative", code: "invalid_chunk")
            }
            guard let bytes = chunk.decodedBytes() else {
                throw APIError.badRequest("chunks[\(index)].data is not valid \(chunk.encoding.rawValue)", code: "invalid_chunk")
            }
            guard !bytes.isEmpty else { throw APIError.badRequest("chunks[\(index)].data is empty", code: "invalid_chunk") }
            guard bytes.count <= maxChunkBytes else {
                throw APIError.tooLarge("chunks[\(index)] holds \(bytes.count) bytes; the limit is \(maxChunkBytes)")
            }
            guard chunk.offset <= Int64.max - Int64(bytes.count) else {
                throw APIError.badRequest("chunks[\(index)].offset is out of range", code: "invalid_chunk")
            }
            return IncomingChunk(stream: chunk.stream, offset: chunk.offset, bytes: ByteBuffer(bytes: bytes))
        }
    }

    /// Stores the node's chunks idempotently and says what is now stored.
    func ingest(nodeId: String, _ request: UploadLogsRequest) async throws -> UploadLogsResponse {
        let chunks = try decode(request)
        let commandId = request.commandId
        let logger = database.logger
        let (response, newChunks, newBytes) = try await database.transaction("store log chunks") { connection in
            let rows = try await connection.rows(
                """
                SELECT state, stdout_stored, stderr_stored FROM invocations
                WHERE command_id = \(commandId) AND node_id = \(nodeId) FOR UPDATE
                """, logger: logger)
            guard let row = rows.first else {
                throw try await CommandQueue.notYours(commandId: commandId, connection: connection, logger: logger)
            }
            let (state, stdoutStored, stderrStored) = try row.decode((String, Int64, Int64).self)
            guard state != InvocationState.queued.rawValue else {
                throw APIError.conflict("invocation has not been delivered to this node yet", code: "not_delivered")
            }
            var ends: [LogStream: Int64] = [.stdout: stdoutStored, .stderr: stderrStored]
            var receipts: [ChunkReceipt] = []
            var fresh: [IncomingChunk] = []
            var replays: [(index: Int, chunk: IncomingChunk)] = []
            for chunk in chunks {
                let end = ends[chunk.stream, default: 0]
                let length = Int64(chunk.bytes.readableBytes)
                if chunk.offset == end {
                    fresh.append(chunk)
                    ends[chunk.stream] = end + length
                    receipts.append(.init(stream: chunk.stream, offset: chunk.offset, length: Int(length), outcome: .stored))
                } else if chunk.offset + length <= end {
                    replays.append((receipts.count, chunk))
                    receipts.append(.init(stream: chunk.stream, offset: chunk.offset, length: Int(length), outcome: .duplicate))
                } else if chunk.offset > end {
                    throw APIError.conflict(
                        "\(chunk.stream.rawValue) chunk at offset \(chunk.offset) leaves a gap: \(end) bytes are stored",
                        code: "offset_gap")
                } else {
                    throw APIError.conflict(
                        "\(chunk.stream.rawValue) chunk at offset \(chunk.offset) overlaps stored bytes ending at \(end)",
                        code: "chunk_conflict")
                }
            }
            try await verifyReplays(replays.map(\.chunk), commandId: commandId, nodeId: nodeId, connection: connection)
            if !fresh.isEmpty {
                let streams = fresh.map { Self.streamCode($0.stream) }
                let offsets = fresh.map(\.offset)
                let payloads = fresh.map(\.bytes)
                try await connection.query(
                    """
                    INSERT INTO log_chunks (command_id, node_id, stream, byte_offset, data)
                    SELECT \(commandId), \(nodeId), s, o, d
                    FROM unnest(\(streams)::int2[], \(offsets)::int8[], \(payloads)::bytea[]) WITH ORDINALITY AS u(s, o, d, n)
                    ORDER BY n
                    """, logger: logger)
                try await connection.query(
                    """
                    UPDATE invocations SET stdout_stored = \(ends[.stdout] ?? 0), stderr_stored = \(ends[.stderr] ?? 0)
                    WHERE command_id = \(commandId) AND node_id = \(nodeId)
                    """, logger: logger)
                try await connection.query(
                    "SELECT pg_notify(\(CommandQueue.logsChannel), \(commandId.uuidString))", logger: logger)
            }
            let response = UploadLogsResponse(
                commandId: commandId, receipts: receipts, stdoutBytes: ends[.stdout] ?? 0, stderrBytes: ends[.stderr] ?? 0)
            return (response, fresh.count, fresh.reduce(0) { $0 + $1.bytes.readableBytes })
        }
        metrics.chunksIngested.increment(by: Int64(newChunks))
        metrics.bytesIngested.increment(by: Int64(newBytes))
        return response
    }

    /// A replay must match a stored chunk exactly: same offset, same bytes.
    private func verifyReplays(
        _ replays: [IncomingChunk], commandId: UUID, nodeId: String, connection: PostgresConnection
    ) async throws {
        guard !replays.isEmpty else { return }
        let streams = replays.map { Self.streamCode($0.stream) }
        let offsets = replays.map(\.offset)
        let rows = try await connection.rows(
            """
            SELECT c.stream, c.byte_offset, c.data FROM log_chunks c
            JOIN unnest(\(streams)::int2[], \(offsets)::int8[]) AS k(s, o) ON c.stream = k.s AND c.byte_offset = k.o
            WHERE c.command_id = \(commandId) AND c.node_id = \(nodeId)
            """, logger: database.logger)
        var stored: [String: ByteBuffer] = [:]
        for row in rows {
            let (stream, offset, data) = try row.decode((Int16, Int64, ByteBuffer).self)
            stored["\(stream):\(offset)"] = data
        }
        for chunk in replays {
            guard let existing = stored["\(Self.streamCode(chunk.stream)):\(chunk.offset)"] else {
                throw APIError.conflict(
                    "\(chunk.stream.rawValue) chunk at offset \(chunk.offset) does not match the stored chunk boundaries",
                    code: "chunk_conflict")
            }
            guard existing == chunk.bytes else {
                throw APIError.conflict(
                    "\(chunk.stream.rawValue) chunk at offset \(chunk.offset) differs from the bytes already stored there",
                    code: "chunk_conflict")
            }
        }
    }

    static func streamCode(_ stream: LogStream) -> Int16 {
        switch stream {
        case .stdout: 1
        case .stderr: 2
        }
    }

    static func stream(code: Int16) -> LogStream { code == 2 ? .stderr : .stdout }
}
