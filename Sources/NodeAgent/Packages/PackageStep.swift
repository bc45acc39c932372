import FleetProtocol

/// One process of an `UpdatePackage` run, as an argv.
public struct PackageStep: Sendable, Hashable {
    public var executable: String
    public var arguments: [String]
    /// Variables set on top of the agent's environment.
    public var environment: [String: String]
    /// A refresh of the package lists (`apt-get update`): its failure is reported in the output
    /// but does not fail the invocation.
    public var isOptional: Bool

    public init(executable: String, arguments: [String], environment: [String: String] = [:], isOptional: Bool = false) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.isOptional = isOptional
    }
}

extension PackageManager {
    /// Keeps dpkg and its maintainer scripts from asking anything: no debconf dialogs, needrestart
    /// restarts services itself, apt-listchanges shows no pager.
    public static let aptEnvironment = [
        "DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_MODE": "a", "APT_LISTCHANGES_FRONTEND": "none",
    ]

    /// apt-get options for every change: assume yes, no progress bars, keep changed config files
    /// (take the maintainer's only where the admin never touched it), and wait up to a minute for
    /// the dpkg lock that unattended-upgrades may hold, rather than failing at once.
    static let aptOptions = [
        "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
        "-o", "DPkg::Lock::Timeout=60",
    ]

    /// The processes that carry out `action` on `packages` (validated names), in order.
    ///
    /// `--` ends the options before the names where the manager is known to honour it (apt-get,
    /// checked against apt 2.6; apk parses with getopt_long in apk-tools 2 and 3). dnf, yum and
    /// zypper get none: their parsers' handling of `--` differs between versions, and the names
    /// cannot pose as options anyway (validation demands a leading letter or digit).
    public func steps(for action: PackageAction, packages: [String]) throws(PackageError) -> [PackageStep] {
        var names: [String] = []
        for package in packages { names.append(try PackageRequest(package).argument(for: kind)) }
        switch kind {
        case .apt:
            let main: [String]
            switch action {
            case .install: main = ["install", "--"] + names
            case .remove: main = ["remove", "--"] + names
            case .upgrade: main = names.isEmpty ? ["upgrade"] : ["install", "--only-upgrade", "--"] + names
            }
            let run = PackageStep(executable: executable, arguments: Self.aptOptions + main, environment: Self.aptEnvironment)
            guard action != .remove else { return [run] }
            // apt-get, unlike dnf, zypper and apk, never refreshes its package lists by itself: with
            // week-old lists `upgrade` finds nothing and `install` asks mirrors for files they have
            // dropped. So install and upgrade refresh first. A failed refresh (no network, a mirror
            // down) is only reported: the run goes on with the cached lists, so what they or a local
            // repository already offer still installs.
            let refresh = PackageStep(
                executable: executable, arguments: ["-q", "update"], environment: Self.aptEnvironment, isOptional: true)
            return [refresh, run]
        case .dnf, .yum:
            return [PackageStep(executable: executable, arguments: ["-y", action.rawValue] + names)]
        case .apk:
            // apk never prompts without a terminal (our child has none), and `--no-interactive`
            // is unknown to the apk-tools 2 releases still in the field, which reject it.
            let verb: String
            switch action {
            case .install: verb = "add"
            case .remove: verb = "del"
            case .upgrade: verb = "upgrade"
            }
            let arguments = [verb, "--no-progress"] + (names.isEmpty ? [] : ["--"] + names)
            return [PackageStep(executable: executable, arguments: arguments)]
        case .zypper:
            let verb = action == .upgrade ? "update" : action.rawValue
            return [PackageStep(executable: executable, arguments: ["--non-interactive", verb] + names)]
        }
    }
}
