import FleetProtocol
import Foundation
import NIOCore
import PostgresNIO

/// An `Idempotency-Key` and the digest of the request it came with.
struct IdempotencyKey: Sendable {
    var text: String
    /// SHA-256 of the request as re-encoded with sorted keys.
    var digest: Data

    /// 1–255 visible ASCII characters (the IETF httpapi draft leaves the form to the server).
    static func isValid(_ text: String) -> Bool {
        (1...255).contains(text.utf8.count) && text.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}

extension CommandQueue {
    /// How long a key keeps answering with its first command.
    static let idempotencyWindowHours = 24
    /// The first key of the advisory locks that serialise submits with one key.
    static let idempotencyLockSpace: Int32 = 0x466C_7402

    /// The command first submitted with `key` by `actor` within the window: its answer again
    /// when the body is the same, a refusal when it is not. A key past the window is freed.
    func earlierSubmit(_ key: IdempotencyKey, actor: String, on connection: PostgresConnection) async throws -> SubmitCommandResponse? {
        let rows = try await connection.rows(
            """
            SELECT c.command_id, c.command_type, c.created_at, c.request_sha256,
                   c.created_at > now() - make_interval(hours => \(Self.idempotencyWindowHours)::int),
                   ARRAY(SELECT i.node_id FROM invocations i WHERE i.command_id = c.command_id ORDER BY i.node_id)
            FROM commands c WHERE c.created_by = \(actor) AND c.idempotency_key = \(key.text)
            """, logger: database.logger)
        guard let row = rows.first else { return nil }
        let (id, type, createdAt, digest, fresh, targets) = try row.decode((UUID, String, Date, ByteBuffer?, Bool, [String]).self)
        guard fresh else {
            try await connection.query("UPDATE commands SET idempotency_key = NULL WHERE command_id = \(id)", logger: database.logger)
            return nil
        }
        guard digest.map({ Data($0.readableBytesView) }) == key.digest else { throw QueueError.idempotencyKeyReused }
        guard let commandType = CommandType(rawValue: type) else {
            throw DatabaseError.unexpected(operation: "submit command", detail: "unknown stored command type \(type)")
        }
        return SubmitCommandResponse(commandId: id, commandType: commandType, targets: targets, createdAt: createdAt)
    }
}
