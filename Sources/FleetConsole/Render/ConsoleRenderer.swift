import Foundation

/// Draws a ``ConsoleState`` as a ``Frame``: a pure function, golden-tested as text.
///
/// Rows: header, menu, title bar, content, crumbs, and a flash/status row at the bottom.
public enum ConsoleRenderer {
    /// Rows above the content (header, menu, title) and below it (crumbs, flash).
    public static let chromeRows = 5

    /// Rows of content for a screen of `size` (tables use one of them for their header).
    public static func contentRows(_ size: TerminalSize) -> Int { max(1, size.rows - chromeRows) }

    /// The frame for `state` on a screen of `size`; ages are counted to `now`.
    public static func render(_ state: ConsoleState, size: TerminalSize, now: Date) -> Frame {
        let width = max(1, size.columns)
        guard size.rows >= 8, size.columns >= 40 else {
            var lines = [StyledLine("fleet-tui: terminal too small", .error).fitted(to: width)]
            lines.append(StyledLine("need 40×8, have \(size.columns)×\(size.rows)").fitted(to: width))
            while lines.count < size.rows { lines.append(StyledLine().fitted(to: width)) }
            return Frame(size: size, lines: Array(lines.prefix(max(0, size.rows))))
        }
        let rows = contentRows(size)
        var content: [StyledLine]
        let title: String
        switch state.screen {
        case .nodes:
            (title, content) = TableRenderer.nodes(state.nodes, width: width, rows: rows, now: now)
        case .commands:
            (title, content) = TableRenderer.commands(state.commands, width: width, rows: rows, now: now)
        case .command:
            (title, content) = TableRenderer.command(state.command, width: width, rows: rows, now: now)
        case .logs:
            (title, content) = LogsRenderer.render(state.logs, width: width, rows: rows)
        case .run:
            (title, content) = FormRenderer.run(state.form, nodes: state.nodes, width: width, rows: rows, now: now)
        }
        if state.showHelp { content = FormRenderer.help(state.screen, width: width, rows: rows) }
        content = content.prefix(rows).map { $0.fitted(to: width) }
        while content.count < rows { content.append(StyledLine().fitted(to: width)) }
        if let confirm = state.confirm { content = FormRenderer.overlay(confirm, on: content, width: width) }

        var lines: [StyledLine] = []
        lines.append(header(state, width: width, now: now))
        lines.append(menu(state, width: width))
        lines.append(titleBar(state.showHelp ? "Help" : title, width: width))
        lines.append(contentsOf: content)
        lines.append(crumbs(state, width: width))
        lines.append(bottom(state, width: width, now: now))
        return Frame(size: size, lines: lines)
    }

    static func header(_ state: ConsoleState, width: Int, now: Date) -> StyledLine {
        var line = StyledLine()
        line.append(" fleet ", .header, [.bold])
        line.append("▸ \(state.serverURL) ", .dim)
        switch state.connection {
        case .connecting: line.append("◌ connecting", .warn)
        case .connected: line.append("● connected", .ok)
        case .unreachable: line.append("✗ unreachable", .error, [.bold])
        }
        if state.nodes.loaded {
            line.append("  nodes ", .dim)
            line.append("\(state.nodes.onlineCount)", .ok)
            line.append("/\(state.nodes.nodes.count) online", .dim)
        }
        if !state.nodes.selected.isEmpty {
            line.append("  marked ", .dim)
            line.append("\(state.nodes.selected.count)", .marked)
        }
        return line.fitted(to: width)
    }

    /// The menu row, generated from the key bindings of the screen.
    static func menu(_ state: ConsoleState, width: Int) -> StyledLine {
        var line = StyledLine(" ")
        let bindings: [KeyBinding] =
            state.confirm != nil
            ? [KeyBinding([.char("y")], "y", "Yes", "Yes", .send), KeyBinding([.char("n")], "n", "No", "No", .back)]
            : state.prompt != nil
                ? [KeyBinding([.enter], "enter", "Apply", "Apply", .send), KeyBinding([.escape], "esc", "Clear", "Clear", .back)]
                : state.showHelp
                    ? [KeyBinding([.escape], "any key", "Close help", "Close help", .back)] : Keymap.menu(for: state.screen, role: state.role)
        for binding in bindings {
            let entry = "<\(binding.label)> \(binding.short)  "
            if line.width + TextWidth.width(entry) > width { break }
            line.append("<\(binding.label)>", binding.dangerous ? .menuDanger : .menuKey)
            line.append(" \(binding.short)  ")
        }
        return line.fitted(to: width)
    }

    static func titleBar(_ title: String, width: Int) -> StyledLine {
        let text = " \(title) "
        let side = max(0, (width - TextWidth.width(text)) / 2)
        var line = StyledLine()
        line.append(String(repeating: "─", count: side), .title)
        line.append(text, .title, [.bold])
        line.append(String(repeating: "─", count: max(0, width - side - TextWidth.width(text))), .title)
        return line.fitted(to: width)
    }

    static func crumbs(_ state: ConsoleState, width: Int) -> StyledLine {
        var line = StyledLine()
        for screen in state.stack {
            line.append(" <\(screen.crumb)> ", .crumb)
            line.append(" ")
        }
        return line.fitted(to: width)
    }

    /// The bottom row: the prompt while typing, else a problem, else a flash, else a hint.
    static func bottom(_ state: ConsoleState, width: Int, now: Date) -> StyledLine {
        var line = StyledLine()
        if let prompt = state.prompt {
            line.append(prompt.kind == .filter ? " filter> " : " search> ", .menuKey, [.bold])
            let chars = Array(prompt.input.text)
            let position = prompt.input.position
            line.append(String(chars.prefix(position)))
            line.append(position < chars.count ? String(chars[position]) : " ", .normal, [.reverse])
            if position + 1 < chars.count { line.append(String(chars[(position + 1)...])) }
            return line.fitted(to: width)
        }
        if case .unreachable(let why, let since) = state.connection {
            line.append(" ✗ \(why) — retrying every 2s (for \(Format.age(now.timeIntervalSince(since)))) ", .flashError)
            return line.fitted(to: width)
        }
        if let flash = state.flash, flash.until > now {
            line.append(" " + flash.text + " ", flash.isError ? .flashError : .flashInfo, flash.isError ? [] : [.bold])
            return line.fitted(to: width)
        }
        line.append(" ? help · esc back · q quit", .dim)
        return line.fitted(to: width)
    }
}
