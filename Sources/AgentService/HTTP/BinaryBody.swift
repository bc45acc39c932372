import FleetProtocol
import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// Whether the body is declared as raw bytes (`application/octet-stream`, parameters ignored).
    var hasOctetStreamBody: Bool {
        guard let type = headers[.contentType] else { return false }
        let media = type.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return media.lowercased() == BinaryChunkBatch.contentType
    }

    /// The whole raw body, at most `limit` bytes: a declared `Content-Length` over the limit is
    /// refused (413) before a byte is read, so a client cannot make the server buffer it first;
    /// a chunked body is cut off at the limit.
    func collectBinary(limit: Int) async throws -> ByteBuffer {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw HTTPAPIError.tooLarge("request body of \(declared) bytes exceeds \(limit) bytes")
        }
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw HTTPAPIError.tooLarge("request body exceeds \(limit) bytes")
        }
    }

    /// The body as a ``BinaryChunkBatch`` (at most `limit` bytes): the raw bytes and the parsed
    /// frames, which point into them. Broken framing is a 400 `invalid_body`, as malformed JSON is.
    func decodeChunkBatch(limit: Int) async throws -> (body: ByteBuffer, commandId: UUID, frames: [BinaryChunkBatch.Frame]) {
        let body = try await collectBinary(limit: limit)
        do {
            let (commandId, frames) = try body.withUnsafeReadableBytes { try BinaryChunkBatch.decode($0) }
            return (body, commandId, frames)
        } catch {
            throw HTTPAPIError.badRequest("\(error)", code: "invalid_body")
        }
    }
}
