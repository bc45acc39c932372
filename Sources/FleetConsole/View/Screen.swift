import FleetProtocol
import Foundation

/// A view of the console; the stack of them is the breadcrumb trail.
public enum Screen: Hashable, Sendable {
    case nodes
    case commands
    case command(UUID)
    case logs(UUID, node: String?)
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

/// Everything the console does besides changing its own state: run by ``ConsoleApp``.
public enum Effect: Hashable, Sendable {
    case submit(SubmitCommandRequest)
    case cancel(UUID)
    case revoke([String])
    /// Start tailing; events carry `generation` so a stale tail's pages are dropped.
    case startTail(generation: Int, commandId: UUID, nodeId: String?)
    case stopTail
    /// Poll now instead of at the next tick.
    case refresh
    /// Fetch the uploaded artifacts for the Run form's UpdateAgent picker.
    case loadArtifacts
}

/// What the background tasks report back to the console loop.
public enum ConsoleEvent: Sendable {
    case nodes([NodeInfo])
    case commands([CommandSummary])
    case command(CommandDetail)
    case log(generation: Int, LogTailEvent)
    case submitted(SubmitCommandResponse)
    case cancelled(CancelResponse)
    case revoked(done: [String], failed: [String: String])
    /// The artifact list for the Run form, or why it could not be fetched.
    case artifacts(Result<[ArtifactInfo], APIError>)
    /// An operator action failed (the text says which).
    case actionFailed(String, APIError)
    /// A poll succeeded / failed to reach the server.
    case reachable
    case unreachable(APIError)
}

/// A modal yes/no question guarding a dangerous or outgoing action.
public struct Confirmation: Hashable, Sendable {
    public var title: String
    public var lines: [String]
    public var effect: Effect
    public var dangerous: Bool
}

/// A one-line input at the bottom: the node filter or the log search.
public struct Prompt: Hashable, Sendable {
    public enum Kind: Hashable, Sendable { case filter, search }
    public var kind: Kind
    public var input: TextInput
}

/// A short message on the bottom row.
public struct Flash: Hashable, Sendable {
    public var text: String
    public var isError: Bool
    public var until: Date
}

/// Whether the last poll got through.
public enum Connection: Hashable, Sendable {
    case connecting
    case connected
    case unreachable(String, since: Date)
}

/// What the poller should fetch for the screen on top.
public enum Focus: Hashable, Sendable {
    case nodes, commands, command(UUID)
}
