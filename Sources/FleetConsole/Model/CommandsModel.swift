import FleetProtocol
import Foundation

/// The command history, newest first.
public struct CommandsModel: Sendable {
    public private(set) var commands: [CommandSummary] = []
    public var cursor = ListCursor()
    public private(set) var loaded = false

    public init() {}

    /// Replaces the list; the cursor stays on the same command (new ones arrive on top).
    public mutating func replace(_ newCommands: [CommandSummary]) {
        let currentId = current?.commandId
        commands = newCommands
        loaded = true
        cursor.setCount(newCommands.count)
        if let currentId, let row = newCommands.firstIndex(where: { $0.commandId == currentId }) {
            cursor.moveTo(row)
        }
    }

    public var current: CommandSummary? {
        commands.indices.contains(cursor.index) ? commands[cursor.index] : nil
    }
}

/// One command and the invocation of every target.
public struct CommandModel: Sendable {
    public let commandId: UUID
    public private(set) var detail: CommandDetail?
    public var cursor = ListCursor()

    public init(commandId: UUID, summary: CommandSummary? = nil) {
        self.commandId = commandId
        if let summary { detail = CommandDetail(command: summary, invocations: []) }
    }

    public mutating func replace(_ newDetail: CommandDetail) {
        let currentNode = current?.nodeId
        detail = newDetail
        cursor.setCount(newDetail.invocations.count)
        if let currentNode, let row = newDetail.invocations.firstIndex(where: { $0.nodeId == currentNode }) {
            cursor.moveTo(row)
        }
    }

    public var current: InvocationInfo? {
        guard let invocations = detail?.invocations, invocations.indices.contains(cursor.index) else { return nil }
        return invocations[cursor.index]
    }

    /// Whether anything is still queued or running (cancel makes sense).
    public var isPending: Bool { detail.map { $0.command.counts.pending > 0 } ?? true }
}

extension CommandSummary {
    /// A one-line description of what the command does.
    public var summaryText: String { payload.summaryText }
    /// The history's COMMAND cell (the TYPE cell is beside it).
    public var historyText: String { payload.historyText }
}

extension InvocationInfo {
    /// Wall time from start to finish, or to `now` while running.
    public func duration(now: Date) -> TimeInterval? {
        guard let start = startedAt ?? deliveredAt else { return nil }
        return (finishedAt ?? (state.isTerminal ? start : now)).timeIntervalSince(start)
    }
}
