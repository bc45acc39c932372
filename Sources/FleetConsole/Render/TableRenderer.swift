import FleetProtocol
import Foundation

/// The three tables: nodes, command history, and one command's invocations.
enum TableRenderer {
    /// A column: header text, width, alignment.
    struct Column {
        var title: String
        var width: Int
        var right = false
    }

    static func headerLine(_ columns: [Column]) -> StyledLine {
        var line = StyledLine()
        for column in columns {
            line.append(column.title, width: column.width, .tableHeader, [.bold], alignRight: column.right)
            line.append(" ")
        }
        return line
    }

    /// The first row to show so that `cursor` is visible.
    static func firstRow(_ cursor: ListCursor, rows: Int) -> Int {
        var top = cursor.top
        if cursor.index < top || cursor.index >= top + rows { top = max(0, cursor.index - rows + 1) }
        return max(0, min(top, max(0, cursor.count - rows)))
    }

    static func nodes(_ model: NodesModel, width: Int, rows: Int, now: Date) -> (String, [StyledLine]) {
        let filter = model.filter.isEmpty ? "all" : model.filter
        let title = "Nodes(\(filter))[\(model.visible.count)] by \(model.sort.rawValue)"
        guard model.loaded else { return (title, [StyledLine("  loading nodes…", .dim)]) }
        let dataRows = max(0, rows - 1)
        let top = firstRow(model.cursor, rows: dataRows)
        let shown = top..<min(model.visible.count, top + dataRows)
        let idWidth = min(28, max(4, shown.map { TextWidth.width(model.node(atRow: $0).nodeId) }.max() ?? 4))
        var columns = [
            Column(title: "", width: 1), Column(title: "NODE", width: idWidth), Column(title: "STATUS", width: 7),
            Column(title: "VERSION", width: 9), Column(title: "LAST SEEN", width: 10),
        ]
        let used = columns.reduce(0) { $0 + $1.width + 1 }
        columns.append(Column(title: "ATTRS", width: max(0, width - used)))
        var lines = [headerLine(columns)]
        if model.visible.isEmpty {
            lines.append(StyledLine(model.nodes.isEmpty ? "  no nodes registered yet" : "  no node matches the filter", .dim))
        }
        for row in shown {
            let node = model.node(atRow: row)
            let marked = model.selected.contains(node.nodeId)
            let state = NodeState(node)
            var line = StyledLine()
            line.append(marked ? "✓" : " ", width: 1, .marked, [.bold])
            line.append(" ")
            line.append(node.nodeId, width: idWidth, marked ? .marked : .normal)
            line.append(" ")
            line.append(state.word, width: 7, state == .online ? .ok : state == .offline ? .warn : .error)
            line.append(" ")
            line.append(node.agentVersion ?? "-", width: 9, .dim)
            line.append(" ")
            line.append(Format.ago(node.lastSeenAt, now: now), width: 10)
            line.append(" ")
            line.append(Format.attrs(node.attrs), .info)
            lines.append(row == model.cursor.index ? line.fitted(to: width).highlighted() : line)
        }
        return (title, lines)
    }

    static func commands(_ model: CommandsModel, width: Int, rows: Int, now: Date) -> (String, [StyledLine]) {
        let title = "Commands[\(model.commands.count)] newest first"
        guard model.loaded else { return (title, [StyledLine("  loading commands…", .dim)]) }
        let dataRows = max(0, rows - 1)
        let top = firstRow(model.cursor, rows: dataRows)
        let typeWidth = width >= 100 ? 13 : 10
        let statesWidth = width >= 100 ? 22 : 16
        var columns = [
            Column(title: "ID", width: 8), Column(title: "TYPE", width: typeWidth), Column(title: "TGTS", width: 4, right: true),
            Column(title: "STATES", width: statesWidth), Column(title: "BY", width: 8), Column(title: "AGE", width: 5, right: true),
        ]
        let used = columns.reduce(0) { $0 + $1.width + 1 }
        columns.append(Column(title: "COMMAND", width: max(0, width - used)))
        var lines = [headerLine(columns)]
        if model.commands.isEmpty { lines.append(StyledLine("  no commands yet: press r on the Nodes view", .dim)) }
        for row in top..<min(model.commands.count, top + dataRows) {
            let command = model.commands[row]
            var line = StyledLine()
            line.append(Format.shortId(command.commandId), width: 8, .info)
            line.append(" ")
            line.append(command.commandType.rawValue, width: typeWidth)
            line.append(" ")
            line.append("\(command.targetCount)", width: 4, alignRight: true)
            line.append(" ")
            var states = StyledLine(Format.counts(command.counts)).fitted(to: statesWidth)
            states.spans.append(Span(" "))
            line.spans.append(contentsOf: states.spans)
            line.append(command.createdBy, width: 8, .dim)
            line.append(" ")
            line.append(Format.age(now.timeIntervalSince(command.createdAt)), width: 5, .dim, alignRight: true)
            line.append(" ")
            line.append(TextWidth.sanitize(command.summaryText))
            lines.append(row == model.cursor.index ? line.fitted(to: width).highlighted() : line)
        }
        return (title, lines)
    }

    static func command(_ model: CommandModel?, width: Int, rows: Int, now: Date) -> (String, [StyledLine]) {
        guard let model else { return ("Command", []) }
        let title = "Command \(Format.shortId(model.commandId))"
        guard let detail = model.detail else { return (title, [StyledLine("  loading…", .dim)]) }
        let summary = detail.command
        var lines: [StyledLine] = []
        var info = StyledLine(" ")
        info.append(summary.commandType.rawValue, .info, [.bold])
        info.append("  by \(summary.createdBy)  \(Format.ago(summary.createdAt, now: now))  ", .dim)
        info.append("timeout \(summary.payload.timeoutSec.map { "\($0)s" } ?? "-")  ", .dim)
        info.spans.append(contentsOf: Format.counts(summary.counts))
        lines.append(info)
        var cmd = StyledLine(" $ ", .dim)
        cmd.append(TextWidth.sanitize(summary.summaryText), .normal, [.bold])
        lines.append(cmd)
        let dataRows = max(0, rows - 3)
        let top = firstRow(model.cursor, rows: dataRows)
        let invocations = detail.invocations
        let shown = top..<min(invocations.count, top + dataRows)
        let idWidth = min(28, max(4, shown.map { TextWidth.width(invocations[$0].nodeId) }.max() ?? 4))
        var columns = [
            Column(title: "NODE", width: idWidth), Column(title: "STATE", width: 9), Column(title: "EXIT", width: 4, right: true),
            Column(title: "DURATION", width: 8, right: true), Column(title: "STDOUT", width: 9, right: true),
            Column(title: "STDERR", width: 9, right: true), Column(title: "TRY", width: 3, right: true),
        ]
        let used = columns.reduce(0) { $0 + $1.width + 1 }
        columns.append(Column(title: "REASON", width: max(0, width - used)))
        lines.append(headerLine(columns))
        if invocations.isEmpty { lines.append(StyledLine("  loading invocations…", .dim)) }
        for row in shown {
            let invocation = invocations[row]
            var line = StyledLine()
            line.append(invocation.nodeId, width: idWidth)
            line.append(" ")
            let state = invocation.cancelRequested && !invocation.state.isTerminal ? "stopping" : invocation.state.rawValue
            line.append(state, width: 9, Format.role(invocation.state))
            line.append(" ")
            let exit = invocation.exitCode.map(String.init) ?? invocation.signal.map { "s\($0)" } ?? "-"
            line.append(exit, width: 4, invocation.exitCode.map { $0 == 0 ? .ok : .error } ?? .dim, alignRight: true)
            line.append(" ")
            line.append(Format.duration(invocation.duration(now: now)), width: 8, alignRight: true)
            line.append(" ")
            line.append(Format.bytes(invocation.stdoutBytes), width: 9, alignRight: true)
            line.append(" ")
            line.append(Format.bytes(invocation.stderrBytes), width: 9, invocation.stderrBytes > 0 ? .stderr : .normal, alignRight: true)
            line.append(" ")
            line.append("\(invocation.deliveryCount)", width: 3, .dim, alignRight: true)
            line.append(" ")
            line.append(TextWidth.sanitize(invocation.reason ?? ""), .dim)
            lines.append(row == model.cursor.index ? line.fitted(to: width).highlighted() : line)
        }
        return (title, lines)
    }
}
