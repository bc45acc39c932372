import FleetProtocol
import Foundation

/// The Logs view: the tail's lines with node prefixes, stderr colour, wrap and search marks.
enum LogsRenderer {
    static func render(_ model: LogTailModel?, width: Int, rows: Int) -> (String, [StyledLine]) {
        guard let model else { return ("Logs", []) }
        var title = "Logs \(Format.shortId(model.commandId)) · \(model.nodeId ?? "all targets")"
        title += model.follow ? " · following" : " · paused"
        title += model.wrap ? " · wrap" : ""
        title += " · \(model.droppedLines + model.count) lines"
        title += model.complete ? " · complete" : " · live"
        if let search = model.search { title += " · /\(search)" }

        let nodeWidth = model.showsNodes ? min(16, max(4, nodeNameWidth(model))) : 0
        let textWidth = max(1, width - (nodeWidth > 0 ? nodeWidth + 3 : 0))
        let bodyRows = max(1, rows - (model.error == nil ? 0 : 1))
        var out: [StyledLine] = []
        let partials = model.complete ? [] : model.partialLines
        let total = model.count + partials.count
        func line(_ index: Int) -> LogLine { index < model.count ? model[index] : partials[index - model.count] }

        if total == 0 {
            out.append(StyledLine(model.complete ? "  (no output)" : "  waiting for output…", .dim))
        } else if model.follow {
            var index = total - 1
            var reversed: [StyledLine] = []
            while index >= 0, reversed.count < bodyRows {
                let rendered = visualLines(line(index), model: model, nodeWidth: nodeWidth, textWidth: textWidth)
                reversed.append(contentsOf: rendered.reversed())
                index -= 1
            }
            out = Array(reversed.prefix(bodyRows).reversed())
        } else {
            var index = model.firstShown
            while index < total, out.count < bodyRows {
                out.append(contentsOf: visualLines(line(index), model: model, nodeWidth: nodeWidth, textWidth: textWidth))
                index += 1
            }
            out = Array(out.prefix(bodyRows))
        }
        if let error = model.error {
            while out.count < bodyRows { out.append(StyledLine()) }
            out.append(StyledLine(" ✗ \(error) — retrying from the same cursor", .error))
        }
        return (title, out)
    }

    private static func nodeNameWidth(_ model: LogTailModel) -> Int {
        var widest = 0
        let start = max(0, model.count - 200)
        for index in start..<model.count { widest = max(widest, TextWidth.width(model[index].node ?? "")) }
        return widest
    }

    /// One log line as screen rows (one, or several when wrapping).
    static func visualLines(_ line: LogLine, model: LogTailModel, nodeWidth: Int, textWidth: Int) -> [StyledLine] {
        let role: Role = line.isNotice ? .dim : line.stream == .stderr ? .stderr : .normal
        let pieces = model.wrap ? TextWidth.wrap(line.text, to: textWidth) : [TextWidth.clip(line.text, to: textWidth, ellipsis: false)]
        return pieces.enumerated().map { number, piece in
            var row = StyledLine()
            if nodeWidth > 0 {
                row.append(number == 0 ? (line.node ?? "") : "", width: nodeWidth, .info)
                row.append(" │ ", .dim)
            }
            row.spans.append(contentsOf: highlight(piece, search: model.search, role: role))
            return row
        }
    }

    /// Splits `text` into spans with every case-insensitive match of `search` marked.
    static func highlight(_ text: String, search: String?, role: Role) -> [Span] {
        guard let search, !search.isEmpty else { return [Span(text, role)] }
        var spans: [Span] = []
        var rest = text[...]
        while let range = rest.range(of: search, options: .caseInsensitive) {
            if range.lowerBound > rest.startIndex { spans.append(Span(String(rest[..<range.lowerBound]), role)) }
            spans.append(Span(String(rest[range]), .match))
            rest = rest[range.upperBound...]
        }
        if !rest.isEmpty { spans.append(Span(String(rest), role)) }
        return spans
    }
}
