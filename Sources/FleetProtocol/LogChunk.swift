import Foundation

/// The two output streams of a process.
public enum LogStream: String, Codable, Sendable, CaseIterable, Hashable {
    case stdout, stderr
}

/// How `data` carries the chunk's bytes.
public enum ChunkEncoding: String, Codable, Sendable, CaseIterable, Hashable {
    /// `data` is the bytes as UTF-8 text (only valid when they are valid UTF-8).
    case utf8
    /// `data` is the bytes in standard base64; survives any output byte-exact.
    case base64
}

/// A piece of one stream of one invocation, addressed by its byte offset in that stream.
public struct LogChunk: Codable, Sendable, Hashable {
    public var offset: Int64
    public var stream: LogStream
    public var data: String
    public var encoding: ChunkEncoding
    /// Set on chunks read back for several nodes at once.
    public var nodeId: String?

    public init(offset: Int64, stream: LogStream, data: String, encoding: ChunkEncoding = .utf8, nodeId: String? = nil) {
        self.offset = offset
        self.stream = stream
        self.data = data
        self.encoding = encoding
        self.nodeId = nodeId
    }

    /// Wraps raw bytes, as text when they are valid UTF-8 and base64 otherwise.
    public init(offset: Int64, stream: LogStream, bytes: some Collection<UInt8>, nodeId: String? = nil) {
        if let text = String(validating: bytes, as: UTF8.self) {
            self.init(offset: offset, stream: stream, data: text, encoding: .utf8, nodeId: nodeId)
        } else {
            self.init(
                offset: offset, stream: stream, data: Data(bytes).base64EncodedString(), encoding: .base64,
                nodeId: nodeId)
        }
    }

    /// The chunk's bytes, or nil when `data` is not valid for its encoding.
    public func decodedBytes() -> [UInt8]? {
        switch encoding {
        case .utf8: Array(data.utf8)
        case .base64: Data(base64Encoded: data).map { Array($0) }
        }
    }

    enum CodingKeys: String, CodingKey {
        case offset, stream, data, encoding
        case nodeId = "node_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.offset = try container.decode(Int64.self, forKey: .offset)
        self.stream = try container.decode(LogStream.self, forKey: .stream)
        self.data = try container.decode(String.self, forKey: .data)
        self.encoding = try container.decodeIfPresent(ChunkEncoding.self, forKey: .encoding) ?? .utf8
        self.nodeId = try container.decodeIfPresent(String.self, forKey: .nodeId)
    }
}

/// `POST /v1/commands/logs`: a node uploads chunks of one of its invocations.
public struct UploadLogsRequest: Codable, Sendable, Hashable {
    public var commandId: UUID
    public var chunks: [LogChunk]

    public init(commandId: UUID, chunks: [LogChunk]) {
        self.commandId = commandId
        self.chunks = chunks
    }

    enum CodingKeys: String, CodingKey {
        case commandId = "command_id"
        case chunks
    }
}

/// What happened to one uploaded chunk.
public enum ChunkOutcome: String, Codable, Sendable, Hashable {
    /// Newly stored.
    case stored
    /// The same bytes were already stored at that offset.
    case duplicate
}

/// The server's receipt for one chunk: once the agent sees it, the chunk may be deleted locally.
public struct ChunkReceipt: Codable, Sendable, Hashable {
    public var stream: LogStream
    public var offset: Int64
    public var length: Int
    public var outcome: ChunkOutcome

    public init(stream: LogStream, offset: Int64, length: Int, outcome: ChunkOutcome) {
        self.stream = stream
        self.offset = offset
        self.length = length
        self.outcome = outcome
    }
}

/// Answer to an upload: a receipt per chunk and the contiguous bytes now stored per stream.
public struct UploadLogsResponse: Codable, Sendable, Hashable {
    public var commandId: UUID
    public var receipts: [ChunkReceipt]
    public var stdoutBytes: Int64
    public var stderrBytes: Int64

    public init(commandId: UUID, receipts: [ChunkReceipt], stdoutBytes: Int64, stderrBytes: Int64) {
        self.commandId = commandId
        self.receipts = receipts
        self.stdoutBytes = stdoutBytes
        self.stderrBytes = stderrBytes
    }

    enum CodingKeys: String, CodingKey {
        case commandId = "command_id"
        case receipts
        case stdoutBytes = "stdout_bytes"
        case stderrBytes = "stderr_bytes"
    }
}

/// `GET /v1/commands/{id}/logs`: output after a cursor, in the order it was produced.
public struct LogPage: Codable, Sendable, Hashable {
    public var commandId: UUID
    public var nodeId: String?
    public var chunks: [LogChunk]
    /// Pass back as `cursor` to continue exactly after the last chunk returned.
    public var nextCursor: String
    /// True once every invocation read is terminal and every reported byte is stored.
    public var complete: Bool

    public init(commandId: UUID, nodeId: String?, chunks: [LogChunk], nextCursor: String, complete: Bool) {
        self.commandId = commandId
        self.nodeId = nodeId
        self.chunks = chunks
        self.nextCursor = nextCursor
        self.complete = complete
    }

    enum CodingKeys: String, CodingKey {
        case commandId = "command_id"
        case nodeId = "node_id"
        case chunks
        case nextCursor = "next_cursor"
        case complete
    }
}
