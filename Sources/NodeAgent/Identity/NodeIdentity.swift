import FleetProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who this node is to the server: persisted in `STATE_DIR/identity.json`, mode 0600.
public struct NodeIdentity: Codable, Sendable, Hashable {
    public var nodeId: String
    public var token: String
    public var expiresAt: Date
    /// When the current token was obtained; with `expiresAt` it gives the token's lifetime.
    public var issuedAt: Date
    public var serverURL: String

    public init(nodeId: String, token: String, expiresAt: Date, issuedAt: Date, serverURL: String) {
        self.nodeId = nodeId
        self.token = token
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.serverURL = serverURL
    }

    /// Whether less than a third of the token's lifetime remains at `now`.
    public func needsRefresh(now: Date) -> Bool {
        let lifetime = max(expiresAt.timeIntervalSince(issuedAt), 60)
        return expiresAt.timeIntervalSince(now) < lifetime / 3
    }

    enum CodingKeys: String, CodingKey {
        case nodeId = "node_id"
        case token
        case expiresAt = "expires_at"
        case issuedAt = "issued_at"
        case serverURL = "server_url"
    }
}

/// Reads and writes the identity file; writes are atomic (temp file, fsync, rename) and 0600.
public struct IdentityFile: Sendable {
    /// Full path of the identity file.
    public let path: String

    public init(stateDirectory: String) {
        self.path = (stateDirectory as NSString).appendingPathComponent("identity.json")
    }

    /// The stored identity, or nil when the node has never registered.
    public func load() throws(AgentError) -> NodeIdentity? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try FleetJSON.makeDecoder().decode(NodeIdentity.self, from: data)
        } catch {
            throw .stateDirectory(path: path, reason: "identity file unreadable: \(error)")
        }
    }

    /// Replaces the identity file atomically; it is never readable by other users.
    public func save(_ identity: NodeIdentity) throws(AgentError) {
        let data: Data
        do {
            data = try FleetJSON.makeEncoder().encode(identity)
        } catch {
            throw .stateDirectory(path: path, reason: "cannot encode identity: \(error)")
        }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .stateDirectory(path: temporary, reason: String(cString: strerror(errno))) }
        // The mode passed to open() is filtered by the umask; set it explicitly.
        fchmod(fd, 0o600)
        let written = data.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            var offset = 0
            while offset < raw.count {
                let count = write(fd, base + offset, raw.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return -1
                }
                offset += count
            }
            return offset
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced else {
            unlink(temporary)
            throw .stateDirectory(path: temporary, reason: "short write or fsync failure")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .stateDirectory(path: path, reason: "rename failed: \(reason)")
        }
    }
}
