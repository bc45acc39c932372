/// How an uploaded chunk relates to the bytes already stored for its stream: the rules that
/// make uploads idempotent and output gap-free, in one place for the server and its test fakes.
public enum ChunkPlacement: Sendable, Hashable {
    /// Starts exactly where the stream ends: new bytes, stored.
    case append
    /// Lies wholly within stored bytes: a replay, acknowledged again only if a stored chunk
    /// starts at the same offset with the same bytes.
    case replay
    /// Starts past the stored end: bytes in between are missing; refused.
    case gap(storedEnd: Int64)
    /// Starts inside the stored bytes but runs past their end; refused.
    case overlap(storedEnd: Int64)

    /// Places each chunk of one upload in order (a chunk may continue one placed before it in
    /// the same upload); returns the placements and the streams' ends after the appends.
    public static func place(
        _ chunks: some Sequence<(stream: LogStream, offset: Int64, length: Int)>, storedEnds: [LogStream: Int64]
    ) -> (placements: [ChunkPlacement], ends: [LogStream: Int64]) {
        var ends = storedEnds
        var placements: [ChunkPlacement] = []
        for chunk in chunks {
            let end = ends[chunk.stream, default: 0]
            let length = Int64(chunk.length)
            if chunk.offset == end {
                placements.append(.append)
                ends[chunk.stream] = end + length
            } else if chunk.offset + length <= end {
                placements.append(.replay)
            } else if chunk.offset > end {
                placements.append(.gap(storedEnd: end))
            } else {
                placements.append(.overlap(storedEnd: end))
            }
        }
        return (placements, ends)
    }
}
