import Crypto
import FleetProtocol
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Uploaded artifacts (agent binaries) in Postgres, cut into blocks so uploads and downloads
/// stream through bounded memory and every replica can serve them.
struct ArtifactStore: Sendable {
    /// Size of one stored block; a download holds one block at a time.
    static let blockBytes = 1024 * 1024

    let database: Database
    let maxBytes: Int64

    /// What an upload claims about itself; the digest and size are measured, not trusted.
    struct UploadHeader: Sendable {
        var name: String
        var version: String
        /// When given, the upload is refused unless the bytes hash to it.
        var expectedSHA256: String?
    }

    /// Stores `body` as a new artifact in one transaction: a refused or broken upload leaves nothing.
    func create<Body: AsyncSequence & Sendable>(
        _ header: UploadHeader, body: Body, actor: String
    ) async throws -> ArtifactInfo where Body.Element == ByteBuffer {
        let artifactId = UUID().uuidString.lowercased()
        let maxBytes = maxBytes
        return try await database.transaction("store artifact") { connection in
            var hasher = SHA256()
            var size: Int64 = 0
            var seq = 0
            var block = ByteBuffer()
            block.reserveCapacity(Self.blockBytes)
            func flush() async throws {
                guard block.readableBytes > 0 else { return }
                try await connection.query(
                    "INSERT INTO artifact_blocks (artifact_id, seq, data) VALUES (\(artifactId), \(seq), \(block))",
                    logger: database.logger)
                seq += 1
                block.clear()
            }
            for try await piece in body {
                size += Int64(piece.readableBytes)
                guard size <= maxBytes else { throw ArtifactError.tooLarge(limit: maxBytes) }
                piece.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                var piece = piece
                while piece.readableBytes > 0 {
                    let take = min(piece.readableBytes, Self.blockBytes - block.readableBytes)
                    if let slice = piece.readSlice(length: take) { block.writeImmutableBuffer(slice) }
                    if block.readableBytes == Self.blockBytes { try await flush() }
                }
            }
            try await flush()
            guard size > 0 else { throw ArtifactError.empty }
            let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            if let expected = header.expectedSHA256, expected != digest {
                throw ArtifactError.digestMismatch(actual: digest, expected: expected)
            }
            let rows = try await connection.rows(
                """
                INSERT INTO artifacts (artifact_id, name, version, sha256, size_bytes, uploaded_by)
                VALUES (\(artifactId), \(header.name), \(header.version), \(digest), \(size), \(actor))
                RETURNING created_at
                """, logger: database.logger)
            guard let createdAt = try rows.first?.decode(Date.self) else {
                throw DatabaseError.unexpected(operation: "store artifact", detail: "insert returned no row")
            }
            let detail = String(
                decoding: try FleetJSON.makeEncoder().encode(["name": header.name, "version": header.version, "sha256": digest]),
                as: UTF8.self)
            try await AuditLog.record(
                on: connection, logger: database.logger, actor: actor, action: "upload_artifact", subject: artifactId,
                detailJSON: detail)
            return ArtifactInfo(
                artifactId: artifactId, name: header.name, version: header.version, sha256: digest, sizeBytes: size,
                uploadedBy: actor, createdAt: createdAt)
        }
    }

    /// Artifacts, newest first.
    func list(limit: Int) async throws -> [ArtifactInfo] {
        try await database.query(
            "list artifacts",
            """
            SELECT artifact_id, name, version, sha256, size_bytes, uploaded_by, created_at
            FROM artifacts ORDER BY created_at DESC, artifact_id LIMIT \(limit)
            """
        ).map(Self.info(from:))
    }

    /// One artifact's metadata, or nil.
    func info(artifactId: String) async throws -> ArtifactInfo? {
        try await database.query(
            "get artifact",
            """
            SELECT artifact_id, name, version, sha256, size_bytes, uploaded_by, created_at
            FROM artifacts WHERE artifact_id = \(artifactId)
            """
        ).first.map(Self.info(from:))
    }

    /// Whether the node has an UpdateAgent invocation in flight that names this artifact: a
    /// node downloads only what it was asked to install.
    func nodeMayDownload(nodeId: String, artifactId: String) async throws -> Bool {
        try await !database.query(
            "check artifact access",
            """
            SELECT 1 FROM invocations i JOIN commands c ON c.command_id = i.command_id
            WHERE i.node_id = \(nodeId) AND i.state IN ('delivered', 'running')
              AND c.command_type = 'UpdateAgent' AND c.payload->>'artifact_id' = \(artifactId)
            LIMIT 1
            """
        ).isEmpty
    }

    /// Block `seq` of an artifact.
    func block(artifactId: String, seq: Int) async throws -> ByteBuffer? {
        try await database.query(
            "read artifact block", "SELECT data FROM artifact_blocks WHERE artifact_id = \(artifactId) AND seq = \(seq)"
        ).first?.decode(ByteBuffer.self)
    }

    static func info(from row: PostgresRow) throws -> ArtifactInfo {
        let (id, name, version, sha256, size, by, created) =
            try row.decode((String, String, String, String, Int64, String, Date).self)
        return ArtifactInfo(
            artifactId: id, name: name, version: version, sha256: sha256, sizeBytes: size, uploadedBy: by, createdAt: created)
    }
}
