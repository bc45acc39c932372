import FleetProtocol
import Foundation

extension CommandPayload {
    /// One line for the history and the confirmation: the command line of a RunCommand, else
    /// the type and what it does ("UpdateAgent → 0.2.0", "UpdatePackage install vim curl").
    public var summaryText: String {
        switch self {
        case .runCommand(let run): return run.cmd
        case .updateAgent(let update): return "UpdateAgent → \(update.version)"
        case .updatePackage(let update):
            let names = update.packages.isEmpty ? "(all packages)" : Self.names(update.packages, limit: 8)
            return "UpdatePackage \(update.action.rawValue) \(names)"
        }
    }

    /// The history's COMMAND cell, beside its TYPE cell: what it does without repeating the
    /// type ("→ 0.2.0", "install vim curl"), so it still reads at 80 columns.
    public var historyText: String {
        switch self {
        case .runCommand(let run): return run.cmd
        case .updateAgent(let update): return "→ \(update.version)"
        case .updatePackage(let update):
            let names = update.packages.isEmpty ? "(all packages)" : Self.names(update.packages, limit: 8)
            return "\(update.action.rawValue) \(names)"
        }
    }

    /// The Command view's second line: the command line, or the rest of the payload (where the
    /// binary comes from, which package manager).
    public var detailText: String {
        switch self {
        case .runCommand(let run):
            return "$ " + run.cmd
        case .updateAgent(let update):
            let source = update.artifactId.map { "artifact \($0.prefix(8))" } ?? update.url ?? "-"
            return "→ \(update.version) · \(source) · sha256 \(update.sha256.prefix(16))…"
        case .updatePackage(let update):
            let names = update.packages.isEmpty ? "(all packages)" : update.packages.joined(separator: " ")
            return "\(update.action.rawValue) \(names) · manager \(update.manager?.rawValue ?? "auto")"
        }
    }

    /// "a b c" up to `limit` names, then "+N more".
    static func names(_ names: [String], limit: Int) -> String {
        let shown = names.prefix(limit).joined(separator: " ")
        return names.count > limit ? "\(shown) +\(names.count - limit) more" : shown
    }
}

extension InvocationResult {
    /// What a node reported after the run, for one cell: "vim 2:9.0.1378-2 · curl 7.88.1-10",
    /// "agent 0.2.0". Nil when the result says nothing.
    public func text(for payload: CommandPayload) -> String? {
        var parts: [String] = []
        if let agentVersion {
            var text = "agent \(agentVersion)"
            // The agent runs another version than asked for: it rolled back (or never swapped).
            if case .updateAgent(let update) = payload, update.version != agentVersion { text += " (wanted \(update.version))" }
            parts.append(text)
        }
        for package in packages ?? [] {
            parts.append("\(package.name) \(package.installedVersion ?? "not installed")")
        }
        return parts.isEmpty ? nil : parts.joined(separator: " · ")
    }

    /// Whether the result contradicts the payload (an agent left on another version).
    public func isUnexpected(for payload: CommandPayload) -> Bool {
        if case .updateAgent(let update) = payload, let agentVersion { return agentVersion != update.version }
        return false
    }
}
