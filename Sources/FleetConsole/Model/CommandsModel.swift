import FleetClient
import FleetProtocol
import Foundation

/// The command history, newest first.
public struct CommandsModel: Sendable {
    /// The history as last fetched, newest first.
    public private(set) var commands: [CommandSummary] = []
    /// The selected row.
    public var cursor = ListCursor()
    /// False until the first answer from the server.
    public private(set) var loaded = false

    /// An empty history, not loaded yet.
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

    /// The command under the cursor.
    public var current: CommandSummary? {
        commands.indices.contains(cursor.index) ? commands[cursor.index] : nil
    }
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
