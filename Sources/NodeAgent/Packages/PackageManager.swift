import FleetProtocol

/// A package manager found on this node: its kind and the absolute path of its front end.
public struct PackageManager: Sendable, Hashable {
    public var kind: PackageManagerKind
    /// The program that installs and removes (`/usr/bin/apt-get`, `/sbin/apk`, …).
    public var executable: String

    public init(kind: PackageManagerKind, executable: String) {
        self.kind = kind
        self.executable = executable
    }

    /// Auto-detection order. dnf before yum: on current Red Hat systems both exist and yum is dnf's alias.
    public static let detectionOrder: [PackageManagerKind] = [.apt, .dnf, .yum, .apk, .zypper]

    /// The front end's program name for `kind`.
    public static func programName(of kind: PackageManagerKind) -> String {
        kind == .apt ? "apt-get" : kind.rawValue
    }

    /// The manager the payload names, else the first of ``detectionOrder`` that `locator` finds.
    /// A named manager that is missing is an error, never a silent switch to another one.
    public static func detect(
        _ requested: PackageManagerKind?, locator: ExecutableLocator
    ) throws(PackageError) -> PackageManager {
        if let requested {
            let program = programName(of: requested)
            guard let path = locator.find(program) else {
                throw .managerNotFound(requested, program: program, searched: locator.directories)
            }
            return PackageManager(kind: requested, executable: path)
        }
        for kind in detectionOrder {
            if let path = locator.find(programName(of: kind)) { return PackageManager(kind: kind, executable: path) }
        }
        throw .noManagerFound(searched: locator.directories)
    }
}

/// One package named in a payload, split into name and optional version constraint.
public struct PackageRequest: Sendable, Hashable {
    /// The name without its pin (`vim` of `vim=2:9.0`).
    public var name: String
    /// `=`, `<`, `>`, `<=`, `>=` or `~`; nil without a pin.
    public var relation: String?
    public var version: String?

    /// Splits at the first relation character; the payload validation guarantees a non-empty name before it.
    public init(_ raw: String) {
        guard let index = raw.firstIndex(where: { "=<>~".contains($0) }) else {
            name = raw
            return
        }
        name = String(raw[..<index])
        let rest = raw[index...]
        let relation = ["<=", ">="].first { rest.hasPrefix($0) } ?? String(rest.prefix(1))
        self.relation = relation
        version = String(rest.dropFirst(relation.count))
    }

    /// The argument for `kind`: pins translated to its syntax, or an error when it has none for them.
    public func argument(for kind: PackageManagerKind) throws(PackageError) -> String {
        guard let relation, let version else { return name }
        guard !version.isEmpty else { throw .missingVersion(package: name) }
        let supported: Set<String>
        switch kind {
        case .apt: supported = ["="]  // apt-get: exact versions only (name=version)
        case .dnf, .yum:
            // rpm front ends read an exact pin as name-version (or name-version-release).
            guard relation == "=" else { throw .unsupportedConstraint(package: name, relation: relation, manager: kind) }
            return name + "-" + version
        case .apk: supported = ["=", "<", ">", "<=", ">=", "~"]
        case .zypper: supported = ["=", "<", ">", "<=", ">="]
        }
        guard supported.contains(relation) else { throw .unsupportedConstraint(package: name, relation: relation, manager: kind) }
        return name + relation + version
    }

    /// The name to ask the package database about (apk's `name@tag` repository pin is not part of the name).
    public func queryName(for kind: PackageManagerKind) -> String {
        guard kind == .apk, let at = name.firstIndex(of: "@") else { return name }
        return String(name[..<at])
    }
}
