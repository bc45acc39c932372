import Foundation

/// A view of the console; the stack of them is the breadcrumb trail.
public enum Screen: Hashable, Sendable {
    /// The node list (the root).
    case nodes
    /// The command history.
    case commands
    /// One command and its invocations.
    case command(UUID)
    /// A command's output, of one node or (nil) of all targets.
    case logs(UUID, node: String?)
    /// The Run form.
    case run

    /// The crumb shown in the trail.
    public var crumb: String {
        switch self {
        case .nodes: "nodes"
        case .commands: "commands"
        case .command(let id): Format.shortId(id)
        case .logs(_, let node): node.map { "logs:\($0)" } ?? "logs"
        case .run: "run"
        }
    }
}

extension Screen {
    /// Whether this is a Logs view (of any command and node).
    var isLogs: Bool {
        if case .logs = self { return true }
        return false
    }
}
