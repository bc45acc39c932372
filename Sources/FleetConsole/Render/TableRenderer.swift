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
        // A selector is shown instead of the count: it says which nodes better than a number does.
        // Sized over the whole page fetched, so the column does not jump while scrolling.
        let selectors = model.commands.compactMap(\.selector)
        let targetsWidth = selectors.isEmpty ? 4 : min(width >= 100 ? 24 : 14, max(7, selectors.map(TextWidth.width).max() ?? 0))
        var columns = [
            Column(title: "ID", width: 8), Column(title: "TYPE", width: typeWidth),
            Column(title: selectors.isEmpty ? "TGTS" : "TARGETS", width: targetsWidth, right: selectors.isEmpty),
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
            if let selector = command.selector {
                line.append(TextWidth.clip(TextWidth.sanitize(selector), to: targetsWidth), width: targetsWidth, .info)
            } else {
                line.append("\(command.targetCount)", width: targetsWidth, alignRight: true)
            }
            line.append(" ")
            var states = StyledLine(Format.counts(command.counts)).fitted(to: statesWidth)
            states.spans.append(Span(" "))
            line.spans.append(contentsOf: states.spans)
            line.append(command.createdBy, width: 8, .dim)
            line.append(" ")
            line.append(Format.age(now.timeIntervalSince(command.createdAt)), width: 5, .dim, alignRight: true)
            line.append(" ")
            line.append(TextWidth.sanitize(command.historyText))
            lines.append(row == model.cursor.index ? line.fitted(to: width).highlighted() : line)
        }
        return (title, lines)
    }
}
