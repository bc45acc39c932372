import FleetProtocol
import Foundation

/// What a package database says about one package after a run.
public enum InstalledState: Sendable, Hashable {
    case installed(version: String)
    /// Absent, or only its configuration files remain; `detail` names an unusual dpkg state.
    case notInstalled(detail: String?)
    /// The query failed; the package is then left out of the result rather than reported absent.
    case unknown(reason: String)

    /// The line appended to the invocation's stdout.
    public func summary(for name: String) -> String {
        switch self {
        case .installed(let version): "fleet: \(name) \(version) installed\n"
        case .notInstalled(nil): "fleet: \(name) not installed\n"
        case .notInstalled(let detail?): "fleet: \(name) not installed (\(detail))\n"
        case .unknown(let reason): "fleet: \(name): installed version unknown (\(reason))\n"
        }
    }

    /// The structured result for `name`, nil when unknown.
    public func result(for name: String) -> PackageResult? {
        switch self {
        case .installed(let version): PackageResult(name: name, installedVersion: version)
        case .notInstalled: PackageResult(name: name, installedVersion: nil)
        case .unknown: nil
        }
    }
}

extension PackageManager {
    /// The program (a name, found like the manager itself) and arguments that print the installed
    /// version of `name`; run with `LC_ALL=C`, as the parsing reads English messages.
    public func installedVersionQuery(for name: String) -> (program: String, arguments: [String]) {
        switch kind {
        case .apt:
            // The status word first: a removed package keeps its version while its config files remain.
            ("dpkg-query", ["--show", "--showformat=${db:Status-Status}\t${Version}\n", "--", name])
        case .dnf, .yum, .zypper:
            ("rpm", ["-q", "--queryformat", "%{VERSION}-%{RELEASE}\n", name])
        case .apk:
            ("apk", ["list", "--installed", "--", name])
        }
    }

    /// Reads the query's exit status and stdout.
    public func parseInstalledVersion(of name: String, termination: Termination, output: String) -> InstalledState {
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        switch (kind, termination) {
        case (.apt, .exited(0)):
            // One line per installed architecture of a multi-arch package.
            var versions: [String] = []
            var states: [String] = []
            for line in lines {
                let fields = line.split(separator: "\t", maxSplits: 1).map(String.init)
                let status = fields.first ?? ""
                states.append(status)
                // triggers-* are installed packages with a pending trigger run.
                if ["installed", "triggers-awaited", "triggers-pending"].contains(status), fields.count == 2 {
                    versions.append(fields[1])
                }
            }
            if !versions.isEmpty { return .installed(version: Self.joined(versions)) }
            let unusual = states.filter { $0 != "not-installed" && $0 != "config-files" }
            return .notInstalled(detail: unusual.first.map { "dpkg state \($0)" })
        case (.apt, .exited(1)):
            return .notInstalled(detail: nil)  // dpkg-query: no packages found matching
        case (.dnf, .exited(0)), (.yum, .exited(0)), (.zypper, .exited(0)):
            return lines.isEmpty ? .unknown(reason: "rpm printed nothing") : .installed(version: Self.joined(lines))
        case (.dnf, _), (.yum, _), (.zypper, _):
            // rpm exits with the number of packages it did not find.
            if output.contains("is not installed") { return .notInstalled(detail: nil) }
        case (.apk, .exited(0)):
            // `name-1.2.3-r0 x86_64 {origin} (license) [installed]`: apk versions start with a digit.
            let prefix = name + "-"
            for line in lines {
                let package = line.prefix { $0 != " " }
                if package.hasPrefix(prefix), let first = package.dropFirst(prefix.count).first, first.isNumber {
                    return .installed(version: String(package.dropFirst(prefix.count)))
                }
            }
            return .notInstalled(detail: nil)
        default:
            break
        }
        return .unknown(reason: "\(installedVersionQuery(for: name).program) ended with \(termination)")
    }

    /// Several installed versions (multi-arch, parallel kernels) in one field, each once.
    private static func joined(_ versions: [String]) -> String {
        var seen: [String] = []
        for version in versions where !seen.contains(version) { seen.append(version) }
        return seen.joined(separator: ", ")
    }
}
