import FleetProtocol
import FleetTLS
import Foundation

/// Everything the agent needs to run, read from the environment and command-line flags.
public struct AgentConfiguration: Sendable {
    /// Base URL of agent-svc (or of the gateway in front of it), e.g. `http://127.0.0.1:8080`.
    public var serverURL: String
    /// Token required to register the first time; unused once an identity file exists.
    public var enrollmentToken: String?
    /// This node's id; nil means "the host name".
    public var nodeId: String?
    /// Operator-given attributes, merged over the collected ones.
    public var nodeAttrs: [String: String]
    /// Directory holding the identity file and the SQLite store.
    public var stateDirectory: String
    /// How many invocations may run at once.
    public var parallelism: Int
    /// Unacknowledged output bytes kept locally before the agent stops reading pipes.
    public var bufferCapBytes: Int64
    /// How long a poll may be held by the server when there is no work.
    public var pollWaitSeconds: Int
    /// Time between SIGTERM and SIGKILL when stopping a process group.
    public var killGracePeriod: Duration
    /// Longest time output may sit in memory before it is cut into a chunk.
    public var flushInterval: Duration
    /// Largest chunk cut from one stream.
    public var chunkSize: Int
    /// How long a graceful shutdown may spend delivering output and results.
    public var shutdownFlushTimeout: Duration
    /// How long a new agent binary has to reach the server after an update before it is rolled back.
    public var updateHealthTimeout: Duration = .seconds(60)
    /// How output is uploaded (`AGENT_UPLOAD_FORMAT`): binary batches, or the JSON of the seed.
    public var uploadFormat: UploadFormat = .binary
    /// Which certificates vouch for agent-svc and artifact hosts (`FLEET_CA_FILE`).
    public var trust: TrustSettings = .system
    /// `ALLOW_INSECURE_HTTP=1`: plain http to a host that is not loopback is allowed.
    public var allowInsecureHTTP = false

    public init(
        serverURL: String, enrollmentToken: String? = nil, nodeId: String? = nil, nodeAttrs: [String: String] = [:],
        stateDirectory: String, parallelism: Int = 4, bufferCapBytes: Int64 = 256 * 1024 * 1024,
        pollWaitSeconds: Int = 25, killGracePeriod: Duration = .seconds(5), flushInterval: Duration = .milliseconds(250),
        chunkSize: Int = 256 * 1024, shutdownFlushTimeout: Duration = .seconds(10)
    ) {
        self.serverURL = serverURL
        self.enrollmentToken = enrollmentToken
        self.nodeId = nodeId
        self.nodeAttrs = nodeAttrs
        self.stateDirectory = stateDirectory
        self.parallelism = parallelism
        self.bufferCapBytes = bufferCapBytes
        self.pollWaitSeconds = pollWaitSeconds
        self.killGracePeriod = killGracePeriod
        self.flushInterval = flushInterval
        self.chunkSize = chunkSize
        self.shutdownFlushTimeout = shutdownFlushTimeout
    }

    /// Refuses values the agent cannot work with, naming the setting.
    public func validate() throws(AgentError) {
        guard let url = URL(string: serverURL), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", url.host != nil
        else {
            throw .invalidConfiguration("AGENT_SVC_URL must be an http(s) URL, got '\(serverURL.prefix(200))'")
        }
        if let refusal = PlainHTTPPolicy.refusal(url: serverURL, variable: "AGENT_SVC_URL", allowInsecure: allowInsecureHTTP) {
            throw .invalidConfiguration(refusal)
        }
        if let nodeId, !FleetValidation.isValidNodeId(nodeId) {
            throw .invalidConfiguration(
                "NODE_ID '\(nodeId.prefix(200))' must be 1-\(FleetValidation.maxNodeIdLength) letters, digits, '.', '_' or '-'")
        }
        guard !stateDirectory.isEmpty else { throw .invalidConfiguration("STATE_DIR must not be empty") }
        guard (1...256).contains(parallelism) else { throw .invalidConfiguration("parallelism must be 1...256") }
        guard bufferCapBytes >= 1024 * 1024 else { throw .invalidConfiguration("buffer cap must be at least 1 MiB") }
        guard (1...30).contains(pollWaitSeconds) else { throw .invalidConfiguration("poll wait must be 1...30 s") }
        guard (1024...(1024 * 1024)).contains(chunkSize) else { throw .invalidConfiguration("chunk size must be 1 KiB...1 MiB") }
    }

    /// Parses `NODE_ATTRS` (`k=v,k=v`); keys and values are trimmed, empty entries skipped.
    public static func parseAttributes(_ text: String) throws(AgentError) -> [String: String] {
        var attrs: [String: String] = [:]
        for entry in text.split(separator: ",") {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw .invalidConfiguration("NODE_ATTRS entry '\(trimmed.prefix(100))' is not key=value")
            }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.utf8.count <= 64 else {
                throw .invalidConfiguration("NODE_ATTRS key in '\(trimmed.prefix(100))' must be 1-64 bytes")
            }
            attrs[key] = value
        }
        return attrs
    }

    /// Parses a byte size such as `268435456`, `256M`, `256MiB`, `1G`.
    public static func parseByteSize(_ text: String) throws(AgentError) -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int64)] = [
            ("GIB", 1 << 30), ("MIB", 1 << 20), ("KIB", 1 << 10), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10),
            ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1),
        ]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            if let value = Int64(number), value >= 0, value <= Int64.max / factor { return value * factor }
            break
        }
        if let value = Int64(trimmed), value >= 0 { return value }
        throw .invalidConfiguration("'\(text.prefix(50))' is not a byte size (e.g. 256M)")
    }
}

extension AgentConfiguration: CustomStringConvertible {
    /// Never prints the enrollment token: configurations end up in debug logs.
    public var description: String {
        "AgentConfiguration(server: \(serverURL), node: \(nodeId ?? "<from identity>"), state: \(stateDirectory), "
            + "enrollment token: \(enrollmentToken == nil ? "none" : "<redacted>"))"
    }
}
