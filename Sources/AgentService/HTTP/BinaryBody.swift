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

    /// The body as a ``BinaryChunkBatch`` (at most `limit` bytes): the raw bytes and the parsed
    /// frames, which point into them. Broken framing is a 400 `invalid_body`, as malformed JSON is.
    func decodeChunkBatch(limit: Int) async throws -> (body: ByteBuffer, commandId: UUID, frames: [BinaryChunkBatch.Frame]) {
        let body = try await readBody(limit: limit)
        do {
            let (commandId, frames) = try body.withUnsafeReadableBytes { try BinaryChunkBatch.decode($0) }
            return (body, commandId, frames)
        } catch {
            throw HTTPAPIError.badRequest("\(error)", code: "invalid_body")
        }
    }
}
