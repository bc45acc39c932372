/// Structured facts an agent reports with a final state, beyond the exit code.
public struct InvocationResult: Codable, Sendable, Hashable {
    /// `UpdatePackage`: what the package manager says about each named package after the run.
    public var packages: [PackageResult]?
    /// `UpdateAgent`: the agent version running after the update (or after its rollback).
    public var agentVersion: String?

    public init(packages: [PackageResult]? = nil, agentVersion: String? = nil) {
        self.packages = packages
        self.agentVersion = agentVersion
    }

    enum CodingKeys: String, CodingKey {
        case packages
        case agentVersion = "agent_version"
    }
}

/// One package after an `UpdatePackage` run.
public struct PackageResult: Codable, Sendable, Hashable {
    /// The name as given in the payload, without a version pin.
    public var name: String
    /// The installed version, or nil when the package is not installed.
    public var installedVersion: String?

    public init(name: String, installedVersion: String?) {
        self.name = name
        self.installedVersion = installedVersion
    }

    enum CodingKeys: String, CodingKey {
        case name
        case installedVersion = "installed_version"
    }
}
