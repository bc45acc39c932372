import Foundation

/// The binary form of an upload (`POST /v1/commands/logs` with `Content-Type:
/// application/octet-stream`): the same chunks as ``UploadLogsRequest`` without JSON or base64,
/// so output of any kind costs one copy per hop instead of an encode, an escape scan and a decode.
///
/// All integers are big-endian:
/// ```
/// "FLB1"  command id (16 bytes, RFC 4122 order)  chunk count (u32)
/// per chunk: stream (u8: 1 stdout, 2 stderr)  offset (u64)  length (u32)  bytes[length]
/// ```
/// The body ends with the last chunk's bytes; anything after it is refused. The answer is the
/// JSON ``UploadLogsResponse`` of the JSON upload.
public enum BinaryChunkBatch {
    public static let contentType = "application/octet-stream"
    static let magic: [UInt8] = Array("FLB1".utf8)
    /// Bytes before the first chunk.
    public static let headerSize = 4 + 16 + 4
    /// Bytes before each chunk's data.
    public static let frameHeaderSize = 1 + 8 + 4

    /// One chunk of a decoded body: its bytes are `range` of the body (not copied).
    public struct Frame: Sendable, Hashable {
        public var stream: LogStream
        public var offset: Int64
        public var range: Range<Int>
    }

    /// Why a body is not a well-formed batch; the message names the chunk.
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case notABatch
        case truncated(index: Int)
        case unknownStream(index: Int, code: UInt8)
        case offsetOutOfRange(index: Int)
        case trailingBytes(Int)

        public var description: String {
            switch self {
            case .notABatch: "body is not a binary chunk batch (it must start with \"FLB1\", a command id and a chunk count)"
            case .truncated(let index): "chunks[\(index)] is cut short: the body ends inside it"
            case .unknownStream(let index, let code): "chunks[\(index)] names stream \(code); 1 is stdout, 2 is stderr"
            case .offsetOutOfRange(let index): "chunks[\(index)].offset is out of range"
            case .trailingBytes(let count): "\(count) bytes follow the last chunk"
            }
        }
    }

    /// Bytes the encoded batch of `chunkBytes` data bytes in `chunks` chunks takes.
    public static func encodedSize(chunks: Int, chunkBytes: Int) -> Int { headerSize + chunks * frameHeaderSize + chunkBytes }

    /// Encodes chunks (stream, offset, bytes) of one invocation, in upload order.
    public static func encode<Bytes: Collection<UInt8>>(
        commandId: UUID, _ chunks: some Collection<(stream: LogStream, offset: Int64, bytes: Bytes)>
    ) -> [UInt8] {
        var builder = Builder(
            commandId: commandId, capacity: encodedSize(chunks: chunks.count, chunkBytes: chunks.reduce(0) { $0 + $1.bytes.count }))
        for chunk in chunks { builder.append(stream: chunk.stream, offset: chunk.offset, bytes: Data(chunk.bytes)) }
        return Array(builder.finish())
    }

    /// Builds a body chunk by chunk, so a sender can copy each chunk's bytes from where they
    /// are kept straight into the body (one copy, no intermediate arrays).
    public struct Builder: Sendable {
        private var body: Data
        private var count: UInt32 = 0

        /// A batch of `commandId`; `capacity` is the expected size of the whole body.
        public init(commandId: UUID, capacity: Int = 0) {
            body = Data(capacity: max(capacity, headerSize))
            body.append(contentsOf: magic)
            withUnsafeBytes(of: commandId.uuid) { body.append(contentsOf: $0) }
            Self.append(UInt32(0), to: &body)  // the count, set by finish()
        }

        public mutating func append(stream: LogStream, offset: Int64, bytes: Data) {
            body.append(code(stream))
            Self.append(UInt64(bitPattern: offset), to: &body)
            Self.append(UInt32(bytes.count), to: &body)
            body.append(bytes)
            count += 1
        }

        /// The finished body.
        public consuming func finish() -> Data {
            withUnsafeBytes(of: count.bigEndian) { count in
                body.replaceSubrange(20..<headerSize, with: count)
            }
            return body
        }

        private static func append<I: FixedWidthInteger>(_ value: I, to out: inout Data) {
            withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
        }
    }

    /// Parses a body into its command id and chunk frames, checking the framing only (chunk
    /// sizes and placement are the store's rules, the same for both upload forms).
    public static func decode(_ body: UnsafeRawBufferPointer) throws(DecodeError) -> (commandId: UUID, frames: [Frame]) {
        guard body.count >= headerSize, body.starts(with: magic) else { throw .notABatch }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: body[4..<20])) }
        let count = Int(read(UInt32.self, body, at: 20))
        var frames: [Frame] = []
        frames.reserveCapacity(min(count, body.count / (frameHeaderSize + 1)))
        var at = headerSize
        for index in 0..<count {
            guard body.count - at >= frameHeaderSize else { throw .truncated(index: index) }
            let streamCode = body[at]
            guard let stream = stream(code: streamCode) else { throw .unknownStream(index: index, code: streamCode) }
            let offset = read(UInt64.self, body, at: at + 1)
            let length = Int(read(UInt32.self, body, at: at + 9))
            guard offset <= UInt64(Int64.max) else { throw .offsetOutOfRange(index: index) }
            at += frameHeaderSize
            guard body.count - at >= length else { throw .truncated(index: index) }
            frames.append(Frame(stream: stream, offset: Int64(offset), range: at..<(at + length)))
            at += length
        }
        guard at == body.count else { throw .trailingBytes(body.count - at) }
        return (UUID(uuid: uuid), frames)
    }

    public static func code(_ stream: LogStream) -> UInt8 { stream == .stdout ? 1 : 2 }

    static func stream(code: UInt8) -> LogStream? {
        switch code {
        case 1: .stdout
        case 2: .stderr
        default: nil
        }
    }

    private static func read<I: FixedWidthInteger>(_ type: I.Type, _ body: UnsafeRawBufferPointer, at offset: Int) -> I {
        I(bigEndian: body.loadUnaligned(fromByteOffset: offset, as: I.self))
    }
}
