import FleetProtocol
import NIOCore

/// Where a chunk starts in its invocation's output.
struct ChunkPosition: Hashable, Sendable {
    var stream: LogStream
    var offset: Int64
}

/// What an upload does to its invocation's streams, decided from the stored stream ends alone,
/// so the chunk rules are tested without a database.
///
/// A chunk at the end of its stream is new; one wholly inside the stored bytes is a replay,
/// acknowledged once ``checkReplays(against:)`` finds it stored exactly so; a chunk past the end
/// (a gap) or across it (an overlap) refuses the whole upload.
struct ChunkPlan: Sendable {
    /// New chunks, in upload order.
    private(set) var fresh: [LogChunkStore.IncomingChunk] = []
    /// Chunks inside the stored prefix.
    private(set) var replays: [LogChunkStore.IncomingChunk] = []
    /// One per uploaded chunk, in upload order.
    private(set) var receipts: [ChunkReceipt] = []
    /// Stream ends once the new chunks are stored.
    private(set) var ends: [LogStream: Int64]

    init(_ chunks: [LogChunkStore.IncomingChunk], storedEnds: [LogStream: Int64]) throws(LogError) {
        // The placement rules are the protocol's (agents' test fakes apply the same ones).
        let placed = ChunkPlacement.place(
            chunks.map { (stream: $0.stream, offset: $0.offset, length: $0.bytes.readableBytes) }, storedEnds: storedEnds)
        ends = placed.ends
        for (chunk, placement) in zip(chunks, placed.placements) {
            let outcome: ChunkOutcome
            switch placement {
            case .append:
                fresh.append(chunk)
                outcome = .stored
            case .replay:
                replays.append(chunk)
                outcome = .duplicate
            case .gap(let end):
                throw .gap(stream: chunk.stream, offset: chunk.offset, stored: end)
            case .overlap(let end):
                throw .overlap(stream: chunk.stream, offset: chunk.offset, storedEnd: end)
            }
            receipts.append(ChunkReceipt(stream: chunk.stream, offset: chunk.offset, length: chunk.bytes.readableBytes, outcome: outcome))
        }
    }

    /// Bytes the new chunks add.
    var freshBytes: Int { fresh.reduce(0) { $0 + $1.bytes.readableBytes } }

    /// Refuses the upload unless every replay is a stored chunk again: same start, same bytes.
    /// A replay that starts inside a stored chunk is refused even if its bytes agree, because
    /// the agent cuts chunks once and resends them whole.
    func checkReplays(against stored: [ChunkPosition: ByteBuffer]) throws(LogError) {
        for chunk in replays {
            guard let existing = stored[chunk.position] else {
                throw .misalignedReplay(stream: chunk.stream, offset: chunk.offset)
            }
            guard existing == chunk.bytes else { throw .differentBytes(stream: chunk.stream, offset: chunk.offset) }
        }
    }
}
