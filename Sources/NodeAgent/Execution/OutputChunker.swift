import FleetProtocol

/// Cuts the two output streams of one process into chunks of at most `maxChunkSize` bytes,
/// each addressed by its byte offset in its stream.
///
/// Bytes are never altered or dropped. Where it costs nothing, a cut is moved back (by at most
/// three bytes) so it does not split a multi-byte UTF-8 character: the chunk then travels as
/// text instead of base64. Time-based flushing is the caller's job (``flush(final:)``).
public struct OutputChunker: Sendable {
    /// One cut piece of output.
    public struct Chunk: Sendable, Hashable {
        public var stream: LogStream
        public var offset: Int64
        public var bytes: [UInt8]
    }

    public let maxChunkSize: Int
    private var stdout: [UInt8] = []
    private var stderr: [UInt8] = []
    private var stdoutOffset: Int64
    private var stderrOffset: Int64

    /// A chunker whose streams continue at the given offsets.
    public init(maxChunkSize: Int = 64 * 1024, stdoutOffset: Int64 = 0, stderrOffset: Int64 = 0) {
        precondition(maxChunkSize >= 4, "chunks must hold at least one UTF-8 character")
        self.maxChunkSize = maxChunkSize
        self.stdoutOffset = stdoutOffset
        self.stderrOffset = stderrOffset
    }

    /// Whether any bytes wait to be cut.
    public var hasPending: Bool { !stdout.isEmpty || !stderr.isEmpty }

    /// Bytes handed out in chunks so far, per stream.
    public func cutBytes(_ stream: LogStream) -> Int64 { stream == .stdout ? stdoutOffset : stderrOffset }

    /// Adds output and returns the full chunks it completes.
    public mutating func append(_ bytes: some Collection<UInt8>, to stream: LogStream) -> [Chunk] {
        switch stream {
        case .stdout: stdout.append(contentsOf: bytes)
        case .stderr: stderr.append(contentsOf: bytes)
        }
        var chunks: [Chunk] = []
        while pendingCount(stream) >= maxChunkSize {
            let cut = Self.textSafeCut(pending(stream), limit: maxChunkSize)
            chunks.append(take(cut > 0 ? cut : maxChunkSize, from: stream))
        }
        return chunks
    }

    /// Cuts everything pending into chunks, stdout first. Unless `final`, an incomplete UTF-8
    /// character at the end of a stream stays back until its next bytes arrive.
    public mutating func flush(final: Bool) -> [Chunk] {
        var chunks: [Chunk] = []
        for stream in [LogStream.stdout, .stderr] {
            let count = pendingCount(stream)
            guard count > 0 else { continue }
            let cut = final ? count : Self.textSafeCut(pending(stream), limit: count)
            if cut > 0 { chunks.append(take(cut, from: stream)) }
        }
        return chunks
    }

    /// The largest cut ≤ `limit` that does not end inside a UTF-8 sequence (0 when the bytes
    /// before `limit` are one incomplete character); `limit` itself when the bytes are not UTF-8.
    static func textSafeCut(_ bytes: [UInt8], limit: Int) -> Int {
        guard limit > 0, limit <= bytes.count else { return min(limit, bytes.count) }
        var start = limit - 1
        var continuation = 0
        while start >= 0, bytes[start] & 0b1100_0000 == 0b1000_0000, continuation < 3 {
            start -= 1
            continuation += 1
        }
        guard start >= 0 else { return limit }
        let lead = bytes[start]
        let length: Int
        if lead & 0b1000_0000 == 0 {
            length = 1
        } else if lead & 0b1110_0000 == 0b1100_0000 {
            length = 2
        } else if lead & 0b1111_0000 == 0b1110_0000 {
            length = 3
        } else if lead & 0b1111_1000 == 0b1111_0000 {
            length = 4
        } else {
            return limit  // not UTF-8 here: cut anywhere
        }
        if start + length <= limit { return limit }  // the last character is complete
        return start
    }

    private func pending(_ stream: LogStream) -> [UInt8] { stream == .stdout ? stdout : stderr }

    private func pendingCount(_ stream: LogStream) -> Int { stream == .stdout ? stdout.count : stderr.count }

    private mutating func take(_ count: Int, from stream: LogStream) -> Chunk {
        switch stream {
        case .stdout:
            let chunk = Chunk(stream: .stdout, offset: stdoutOffset, bytes: Array(stdout[..<count]))
            stdout.removeFirst(count)
            stdoutOffset += Int64(count)
            return chunk
        case .stderr:
            let chunk = Chunk(stream: .stderr, offset: stderrOffset, bytes: Array(stderr[..<count]))
            stderr.removeFirst(count)
            stderrOffset += Int64(count)
            return chunk
        }
    }
}
