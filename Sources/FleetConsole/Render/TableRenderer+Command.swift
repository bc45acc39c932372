import FleetClient
import FleetProtocol
import Foundation

/// One command: its payload, then every target's invocation.
extension TableRenderer {
    /// Lines the cursor row's full result may take below the table of an update command.
    static let resultLines = 3

    /// Table rows the Command view has in `rows` of content: RunCommand uses three for its
    /// info, command line and header, plus the targeting lines; the update types a blank and
    /// the cursor row's result too.
    static func commandDataRows(_ model: CommandModel?, rows: Int) -> Int {
        let detail = model?.detail
        let fixed = detail?.command.commandType == .runCommand || detail == nil ? 3 : 4 + resultLines
        return max(0, rows - fixed - (model.map(targetingLines)?.count ?? 0))
    }

    /// The selector the targets came from, the rollout's progress and the nodes waiting for a
    /// slot; nothing for a command sent to ids without bounds.
    static func targetingLines(_ model: CommandModel) -> [StyledLine] {
        guard let summary = model.detail?.command else { return [] }
        func line(_ label: String, _ text: String, _ role: Role) -> StyledLine {
            var line = StyledLine(" ")
            line.append(label, width: 10, .dim)
            line.append(TextWidth.sanitize(text), role)
            return line
        }
        var lines: [StyledLine] = []
        if let selector = summary.selector {
            var row = line("selector", selector, .info)
            row.append("  → \(summary.targetCount) node\(summary.targetCount == 1 ? "" : "s")", .dim)
            lines.append(row)
        }
        guard let rollout = summary.boundedRollout else { return lines }
        lines.append(line("rollout", rollout.progress(summary.counts), rollout.stoppedReason == nil ? .normal : .warn))
        let queued = summary.counts.queued
        if queued > 0 {
            let names = model.waitingNodes.prefix(min(queued, RefreshPoller.waitingShown))
            let text =
                names.isEmpty
                ? "\(queued) node\(queued == 1 ? "" : "s")"
                : names.joined(separator: ", ") + (queued > names.count ? ", … (\(queued) in all)" : "")
            lines.append(line("waiting", text, .dim))
        }
        return lines
    }

    static func command(_ model: CommandModel?, width: Int, rows: Int, now: Date) -> (String, [StyledLine]) {
        guard let model else { return ("Command", []) }
        let title = "Command \(Format.shortId(model.commandId))"
        guard let detail = model.detail else { return (title, [StyledLine("  loading…", .dim)]) }
        let summary = detail.command
        let isRun = summary.commandType == .runCommand
        var lines: [StyledLine] = []
        var info = StyledLine(" ")
        info.append(summary.commandType.rawValue, .info, [.bold])
        info.append("  by \(summary.createdBy)  \(Format.ago(summary.createdAt, now: now))  ", .dim)
        info.append("timeout \(summary.payload.timeoutSec.map { "\($0)s" } ?? "-")  ", .dim)
        info.spans.append(contentsOf: Format.counts(summary.counts))
        lines.append(info)
        if case .runCommand(let run) = summary.payload {
            var cmd = StyledLine(" $ ", .dim)
            cmd.append(TextWidth.sanitize(run.cmd), .normal, [.bold])
            lines.append(cmd)
        } else {
            lines.append(StyledLine(" " + TextWidth.sanitize(summary.payload.detailText), .normal, [.bold]))
        }
        lines += targetingLines(model)
        let dataRows = commandDataRows(model, rows: rows)
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
        // The update types report what they left behind: that matters more than a reason.
        columns.append(Column(title: isRun ? "REASON" : "RESULT", width: max(0, width - used)))
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
            line.spans += outcome(invocation, payload: summary.payload)
            lines.append(row == model.cursor.index ? line.fitted(to: width).highlighted() : line)
        }
        if !isRun, let current = model.current, shown.contains(model.cursor.index) {
            // The result cell is cut at the screen edge; the cursor row's is spelled out here.
            var full = StyledLine(" ▸ \(TextWidth.sanitize(current.nodeId)): ", .dim)
            let spans = outcome(current, payload: summary.payload)
            full.spans += spans.isEmpty ? [Span("no result reported yet", .dim)] : spans
            lines.append(StyledLine())
            lines += wrapped(full, width: width, indent: 3, maxLines: resultLines)
        }
        return (title, lines)
    }

    /// `line` cut into rows of `width` cells, continuation rows indented, at most `maxLines`.
    static func wrapped(_ line: StyledLine, width: Int, indent: Int, maxLines: Int) -> [StyledLine] {
        guard width > indent else { return [line] }
        var rows = [line.slice(from: 0, width: width)]
        var start = width
        while start < line.width, rows.count < maxLines {
            var row = StyledLine(String(repeating: " ", count: indent))
            var piece = line.slice(from: start, width: width - indent).spans
            if piece.first?.text.hasPrefix(" ") == true { piece[0].text.removeFirst() }  // the cut fell on a space
            row.spans += piece
            rows.append(row)
            start += width - indent
        }
        return rows
    }

    /// The last cell: for the update types the reported result, then the reason if any.
    static func outcome(_ invocation: InvocationInfo, payload: CommandPayload) -> [Span] {
        var spans: [Span] = []
        if payload.commandType != .runCommand, let result = invocation.result, let text = result.text(for: payload) {
            spans.append(Span(TextWidth.sanitize(text), result.isUnexpected(for: payload) ? .warn : .ok))
        }
        if let reason = invocation.reason, !reason.isEmpty {
            spans.append(Span((spans.isEmpty ? "" : " · ") + TextWidth.sanitize(reason), .dim))
        }
        return spans
    }
}
