import FleetProtocol
import Foundation

/// The whole console as a value: models of every view plus the modal bits. Keys and server
/// events change it (see the `+Keys` and `+Events` files); the renderer draws it.
public struct ConsoleState: Sendable {
    /// The open screens, the root first: the breadcrumb trail.
    public var stack: [Screen] = [.nodes]
    /// The node list.
    public var nodes = NodesModel()
    /// The command history.
    public var commands = CommandsModel()
    /// The command opened last, while its screen is on the stack.
    public var command: CommandModel?
    /// The Logs view's tail, while it is open.
    public var logs: LogTailModel?
    /// The Run form, while it is open.
    public var form: RunForm?
    /// The filter or search input, while it is open.
    public var prompt: Prompt?
    /// The question that must be answered before anything else.
    public var confirm: Confirmation?
    /// Whether the help screen covers the view (any key closes it).
    public var showHelp = false
    /// The message on the bottom row.
    public var flash: Flash?
    /// Whether the last poll got through.
    public var connection = Connection.connecting
    /// The agent-svc URL shown in the header.
    public var serverURL: String
    /// Set when the operator quit; the loop ends.
    public var quitRequested = false
    /// Incremented for every tail started, so pages of an old tail are ignored.
    public private(set) var logGeneration = 0
    /// Rows the content area has (set from the layout before keys are handled).
    public var viewportRows = 18
    /// Lines of scrollback the Logs view keeps.
    public var logCapacity = 50_000
    /// The token's role once `GET /v1/me` answered; nil (unknown) hides nothing and leaves
    /// refusals to the server, which enforces roles either way.
    public var role: OperatorRole?

    /// The console as it starts: the node list, nothing loaded.
    public init(serverURL: String) {
        self.serverURL = serverURL
    }

    /// The screen on top of the stack.
    public var screen: Screen { stack.last ?? .nodes }

    /// What the poller should keep fresh for this screen.
    public var focus: Focus {
        switch screen {
        case .nodes, .run: .nodes
        case .commands: .commands
        case .command(let id): .command(id, page: command?.commandId == id ? command?.cursorPage : nil)
        case .logs(let id, _): .command(id, page: nil)
        }
    }

    mutating func say(_ text: String, error: Bool = false, now: Date, seconds: TimeInterval = 4) {
        flash = Flash(text: text, isError: error, until: now.addingTimeInterval(seconds))
    }

    /// Pushes a screen; opening Logs also starts its tail.
    mutating func push(_ screen: Screen) -> [Effect] {
        var effects: [Effect] = []
        if case .logs(let id, let node) = screen {
            logGeneration += 1
            var model = LogTailModel(commandId: id, nodeId: node, capacity: logCapacity)
            let detail = command?.commandId == id ? command?.detail : nil
            model.targetCount = detail?.command.targetCount ?? commands.commands.first { $0.commandId == id }?.targetCount ?? 1
            logs = model
            effects.append(.startTail(generation: logGeneration, commandId: id, nodeId: node))
        }
        if case .command(let id) = screen, command?.commandId != id {
            command = CommandModel(commandId: id, summary: commands.commands.first { $0.commandId == id })
        }
        stack.append(screen)
        return effects + [.refresh]
    }

    /// Leaves the screen on top; returns to the root's sibling instead of emptying the stack.
    mutating func pop() -> [Effect] {
        guard stack.count > 1 else {
            quitRequested = true
            return []
        }
        let left = stack.removeLast()
        var effects: [Effect] = []
        if case .logs = left {
            logs = nil
            effects.append(.stopTail)
        }
        if left == .run { form = nil }
        return effects + [.refresh]
    }

    /// Replaces the whole stack by a top-level screen.
    mutating func switchTo(_ root: Screen) -> [Effect] {
        var effects: [Effect] = []
        if logs != nil { effects.append(.stopTail) }
        logs = nil
        form = nil
        stack = [root]
        return effects + [.refresh]
    }
}
