import Foundation

/// A file an operator uploaded to agent-svc (an agent binary for `UpdateAgent`), addressed by
/// id and checked by its SHA-256.
public struct ArtifactInfo: Codable, Sendable, Hashable {
    public var artifactId: String
    public var name: String
    /// The version the file claims to be; for an agent binary, what `--version` must print.
    public var version: String
    /// Lower-case hex SHA-256 of the content, computed by the server while it stored it.
    public var sha256: String
    public var sizeBytes: Int64
    public var uploadedBy: String
    public var createdAt: Date

    public init(
        artifactId: String, name: String, version: String, sha256: String, sizeBytes: Int64, uploadedBy: String,
        createdAt: Date
    ) {
        self.artifactId = artifactId
        self.name = name
        self.version = version
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
        self.uploadedBy = uploadedBy
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case artifactId = "artifact_id"
        case name, version, sha256
        case sizeBytes = "size_bytes"
        case uploadedBy = "uploaded_by"
        case createdAt = "created_at"
    }
}

/// `GET /v1/artifacts`: stored artifacts, newest first.
public struct ArtifactList: Codable, Sendable, Hashable {
    public var artifacts: [ArtifactInfo]

    public init(artifacts: [ArtifactInfo]) { self.artifacts = artifacts }
}
