/// The three kinds of work a node can be asked to do.
public enum CommandType: String, Codable, Sendable, CaseIterable, Hashable {
    case runCommand = "RunCommand"
    case updateAgent = "UpdateAgent"
    case updatePackage = "UpdatePackage"
}

/// `RunCommand`: `/bin/sh -c cmd` with a time bound.
public struct RunCommandPayload: Codable, Sendable, Hashable {
    public var cmd: String
    public var timeoutSec: Int?
    public var env: [String: String]?
    public var cwd: String?

    public init(cmd: String, timeoutSec: Int? = nil, env: [String: String]? = nil, cwd: String? = nil) {
        self.cmd = cmd
        self.timeoutSec = timeoutSec
        self.env = env
        self.cwd = cwd
    }

    enum CodingKeys: String, CodingKey {
        case cmd
        case timeoutSec = "timeout_sec"
        case env, cwd
    }
}

/// `UpdateAgent`: replace the agent binary with a verified one.
public struct UpdateAgentPayload: Codable, Sendable, Hashable {
    public var version: String
    public var sha256: String
    public var url: String?
    public var artifactId: String?
    public var timeoutSec: Int?

    public init(version: String, sha256: String, url: String? = nil, artifactId: String? = nil, timeoutSec: Int? = nil) {
        self.version = version
        self.sha256 = sha256
        self.url = url
        self.artifactId = artifactId
        self.timeoutSec = timeoutSec
    }

    enum CodingKeys: String, CodingKey {
        case version, sha256, url
        case artifactId = "artifact_id"
        case timeoutSec = "timeout_sec"
    }
}

/// What `UpdatePackage` does with its packages.
public enum PackageAction: String, Codable, Sendable, CaseIterable, Hashable {
    case install, remove, upgrade
}

/// The package managers the agent knows how to drive.
public enum PackageManagerKind: String, Codable, Sendable, CaseIterable, Hashable {
    case apt, dnf, yum, apk, zypper
}

/// `UpdatePackage`: install, remove or upgrade packages non-interactively.
public struct UpdatePackagePayload: Codable, Sendable, Hashable {
    public var action: PackageAction
    public var packages: [String]
    public var manager: PackageManagerKind?
    public var timeoutSec: Int?

    public init(action: PackageAction, packages: [String], manager: PackageManagerKind? = nil, timeoutSec: Int? = nil) {
        self.action = action
        self.packages = packages
        self.manager = manager
        self.timeoutSec = timeoutSec
    }

    enum CodingKeys: String, CodingKey {
        case action, packages, manager
        case timeoutSec = "timeout_sec"
    }
}

/// A typed payload; its case decides the `command_type` on the wire.
public enum CommandPayload: Sendable, Hashable {
    case runCommand(RunCommandPayload)
    case updateAgent(UpdateAgentPayload)
    case updatePackage(UpdatePackagePayload)

    /// The command type this payload belongs to.
    public var commandType: CommandType {
        switch self {
        case .runCommand: .runCommand
        case .updateAgent: .updateAgent
        case .updatePackage: .updatePackage
        }
    }

    /// The execution bound the payload asks for, if any.
    public var timeoutSec: Int? {
        switch self {
        case .runCommand(let payload): payload.timeoutSec
        case .updateAgent(let payload): payload.timeoutSec
        case .updatePackage(let payload): payload.timeoutSec
        }
    }

    /// Decodes the payload found under `key` as the given command type.
    public init<K: CodingKey>(type: CommandType, from container: KeyedDecodingContainer<K>, forKey key: K) throws {
        switch type {
        case .runCommand: self = .runCommand(try container.decode(RunCommandPayload.self, forKey: key))
        case .updateAgent: self = .updateAgent(try container.decode(UpdateAgentPayload.self, forKey: key))
        case .updatePackage: self = .updatePackage(try container.decode(UpdatePackagePayload.self, forKey: key))
        }
    }

    /// Encodes the payload's body (without its type) under `key`.
    public func encode<K: CodingKey>(to container: inout KeyedEncodingContainer<K>, forKey key: K) throws {
        switch self {
        case .runCommand(let payload): try container.encode(payload, forKey: key)
        case .updateAgent(let payload): try container.encode(payload, forKey: key)
        case .updatePackage(let payload): try container.encode(payload, forKey: key)
        }
    }
}
