import FleetProtocol

/// Why an `UpdatePackage` invocation could not be turned into package manager runs; nothing ran.
public enum PackageError: Error, Hashable, CustomStringConvertible {
    /// The payload named a manager whose program is not on this node.
    case managerNotFound(PackageManagerKind, program: String, searched: [String])
    /// None of the managers the agent knows is on this node.
    case noManagerFound(searched: [String])
    /// A version constraint (`name>=1`) that this manager's command line cannot express.
    case unsupportedConstraint(package: String, relation: String, manager: PackageManagerKind)
    /// A pin without a version after its operator (`name=`).
    case missingVersion(package: String)

    public var description: String {
        switch self {
        case .managerNotFound(let kind, let program, let searched):
            "package manager \(kind.rawValue) was requested but \(program) is not on this node"
                + " (searched \(searched.joined(separator: ":")))"
        case .noManagerFound(let searched):
            "no supported package manager (apt-get, dnf, yum, apk, zypper) on this node"
                + " (searched \(searched.joined(separator: ":")))"
        case .unsupportedConstraint(let package, let relation, let manager):
            "'\(package)': \(manager.rawValue) cannot pin with '\(relation)'; use name=version"
        case .missingVersion(let package):
            "'\(package)': no version after the pin operator"
        }
    }
}
