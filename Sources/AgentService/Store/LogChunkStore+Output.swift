import FleetProtocol
import Foundation
import NIOCore
import PostgresNIO

extension LogChunkStore {
    /// How much of one stream of one invocation can be served as raw bytes right now.
    struct OutputExtent: Equatable {
        /// Bytes stored, a contiguous prefix of the stream: what the response carries.
        var storedBytes: Int64
        /// True when the invocation is final and every byte it reported is stored: the
        /// response has a known length and nothing more will come.
        var complete: Bool
    }

    /// Bytes asked for per page: a page holds the chunks that start in a window this wide.
    static let outputPageBytes: Int64 = 1024 * 1024
    /// Chunks per page at most, so a stream of tiny chunks is not one huge result either.
    static let outputPageChunks = 256

    /// The extent of `stream` on `nodeId`; nil when the command does not exist.
    ///
    /// A final invocation that reported more bytes than are stored still has a gap at the end
    /// (its last uploads are on their way): ``LogError/outputIncomplete`` instead of a short stream.
    func outputExtent(commandId: UUID, nodeId: String, stream: LogStream) async throws -> OutputExtent? {
        let rows = try await database.query(
            "read output extent",
            """
            SELECT state, stdout_stored, stderr_stored, stdout_total, stderr_total
            FROM invocations WHERE command_id = \(commandId) AND node_id = \(nodeId)
            """)
        guard let row = rows.first else {
            let exists = try await database.query("command exists", "SELECT 1 FROM commands WHERE command_id = \(commandId)")
            if exists.isEmpty { return nil }
            throw LogError.noInvocation(commandId: commandId, nodeId: nodeId)
        }
        let (state, stdoutStored, stderrStored, stdoutTotal, stderrTotal) = try row.decode((String, Int64, Int64, Int64?, Int64?).self)
        let stored = stream == .stdout ? stdoutStored : stderrStored
        let total = stream == .stdout ? stdoutTotal : stderrTotal
        let terminal = InvocationState(rawValue: state)?.isTerminal ?? false
        guard terminal else { return OutputExtent(storedBytes: stored, complete: false) }
        if let total, stored < total {
            throw LogError.outputIncomplete(stream: stream, stored: stored, reported: total)
        }
        // A final invocation without totals (lost, expired) will get no more bytes: what is stored is all.
        return OutputExtent(storedBytes: stored, complete: true)
    }

    /// The stored bytes of `stream` in `[from, end)`, one bounded page at a time, in offset order.
    ///
    /// `write` gets each chunk's bytes as its page arrives; the next page is read only after
    /// the last write returned, so a slow reader holds at most one page in memory and no
    /// pooled connection while it reads.
    func streamOutput(
        commandId: UUID, nodeId: String, stream: LogStream, upTo end: Int64, write: (ByteBuffer) async throws -> Void
    ) async throws {
        let code = Self.streamCode(stream)
        var position: Int64 = 0
        while position < end {
            let windowEnd = min(end, position + Self.outputPageBytes)
            let rows = try await database.query(
                "read output page",
                """
                SELECT byte_offset, data FROM log_chunks
                WHERE command_id = \(commandId) AND node_id = \(nodeId) AND stream = \(code)
                  AND byte_offset >= \(position) AND byte_offset < \(windowEnd)
                ORDER BY byte_offset LIMIT \(Self.outputPageChunks)
                """)
            guard !rows.isEmpty else { throw Self.brokenPrefix(commandId, nodeId, stream, at: position) }
            for row in rows {
                let (offset, data) = try row.decode((Int64, ByteBuffer).self)
                // Ingest keeps every stream a contiguous prefix; anything else is a bug, not a gap to skip.
                guard offset == position, data.readableBytes > 0 else { throw Self.brokenPrefix(commandId, nodeId, stream, at: position) }
                try await write(data)
                position += Int64(data.readableBytes)
            }
        }
    }

    private static func brokenPrefix(_ commandId: UUID, _ nodeId: String, _ stream: LogStream, at position: Int64) -> DatabaseError {
        .unexpected(
            operation: "stream output",
            detail: "\(stream.rawValue) of \(commandId.uuidString) on '\(nodeId)' has no chunk at offset \(position) below its stored end")
    }
}
