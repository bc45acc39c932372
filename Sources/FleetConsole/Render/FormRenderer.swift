import FleetProtocol
import Foundation

/// The Run form, the confirmation box and the help screen.
enum FormRenderer {
    static func run(_ form: RunForm?, nodes: NodesModel, width: Int, rows: Int) -> (String, [StyledLine]) {
        guard let form else { return ("Run", []) }
        var lines = [StyledLine()]
        let fieldWidth = max(10, min(60, width - 18))
        for field in RunForm.Field.allCases {
            var line = StyledLine()
            let focused = field == form.focus
            line.append(focused ? " ▸ " : "   ", .menuKey, [.bold])
            line.append(field.label, width: 12, focused ? .title : .normal, focused ? [.bold] : [])
            line.append(" ")
            switch field {
            case .type:
                line.append(form.commandType.rawValue, .info, [.bold])
            case .targets: line.spans.append(contentsOf: input(form.targets, width: fieldWidth, focused: focused))
            case .command: line.spans.append(contentsOf: input(form.command, width: fieldWidth, focused: focused))
            case .timeout: line.spans.append(contentsOf: input(form.timeout, width: 8, focused: focused))
            }
            lines.append(line)
            if field == .targets {
                let ids = form.resolveTargets(in: nodes.nodes)
                var resolved = StyledLine(String(repeating: " ", count: 16))
                if ids.isEmpty {
                    resolved.append("→ no nodes", .warn)
                } else {
                    let unknown = ids.filter { id in !nodes.nodes.contains { $0.nodeId == id } }
                    resolved.append("→ \(ids.count) node\(ids.count == 1 ? "" : "s"): ", .dim)
                    resolved.append(ids.prefix(8).joined(separator: ", ") + (ids.count > 8 ? ", …" : ""), .ok)
                    if !unknown.isEmpty { resolved.append("  (unknown: \(unknown.prefix(3).joined(separator: ", ")))", .error) }
                }
                lines.append(resolved)
            }
            lines.append(StyledLine())
        }
        lines.append(StyledLine("   Targets: ids (a,b,c), attribute selectors (region=eu-west role=db), or all.", .dim))
        lines.append(StyledLine("   Runs as /bin/sh -c on each node. Enter asks before sending.", .dim))
        return ("Run command", lines)
    }

    /// A text field: its text in brackets with the cursor shown as a reversed cell.
    static func input(_ input: TextInput, width: Int, focused: Bool) -> [Span] {
        let chars = Array(input.text)
        // Scroll so the cursor stays inside the field.
        let start = max(0, input.position - width + 1)
        let visible = Array(chars[min(start, chars.count)..<min(chars.count, start + width)])
        let cursor = input.position - start
        var spans = [Span("[", .dim)]
        if focused {
            spans.append(Span(String(visible.prefix(cursor)), .normal, [.underline]))
            spans.append(Span(cursor < visible.count ? String(visible[cursor]) : " ", .normal, [.reverse]))
            if cursor + 1 < visible.count { spans.append(Span(String(visible[(cursor + 1)...]), .normal, [.underline])) }
            let used = TextWidth.width(String(visible)) + (cursor >= visible.count ? 1 : 0)
            spans.append(Span(String(repeating: " ", count: max(0, width - used)), .normal, [.underline]))
        } else {
            spans.append(Span(TextWidth.pad(String(visible), to: width)))
        }
        spans.append(Span("]", .dim))
        return spans
    }

    /// The confirmation box drawn over the middle of the content.
    static func overlay(_ confirm: Confirmation, on content: [StyledLine], width: Int) -> [StyledLine] {
        let inner = min(width - 4, max(36, confirm.lines.map { TextWidth.width($0) }.max() ?? 0) + 2)
        let border: Role = confirm.dangerous ? .error : .title
        var box: [StyledLine] = []
        let heading = "─ \(confirm.title) "
        box.append(StyledLine([Span("┌" + heading + String(repeating: "─", count: max(0, inner - TextWidth.width(heading))) + "┐", border, [.bold])]))
        for text in [""] + confirm.lines + [""] {
            box.append(StyledLine([Span("│", border, [.bold]), Span(TextWidth.pad(" " + text, to: inner)), Span("│", border, [.bold])]))
        }
        let choice = confirm.dangerous ? "[y] yes, do it    [n] no" : "[y] send    [n] not now"
        let pad = max(0, (inner - TextWidth.width(choice)) / 2)
        box.append(StyledLine([Span("│", border, [.bold]), Span(TextWidth.pad(String(repeating: " ", count: pad) + choice, to: inner), .menuKey, [.bold]), Span("│", border, [.bold])]))
        box.append(StyledLine([Span("└" + String(repeating: "─", count: inner) + "┘", border, [.bold])]))
        var out = content
        let top = max(0, (content.count - box.count) / 2)
        let left = max(0, (width - inner - 2) / 2)
        for (offset, line) in box.enumerated() where top + offset < out.count {
            out[top + offset] = out[top + offset].overlaid(line, at: left, totalWidth: width)
        }
        return out
    }

    /// Every key of the screen and the global ones, generated from the bindings: the screen's
    /// main keys on the left, movement and global keys on the right (below when narrow).
    static func help(_ screen: Screen, width: Int, rows: Int) -> [StyledLine] {
        func section(_ title: String, _ bindings: [KeyBinding], labelWidth: Int) -> [StyledLine] {
            guard !bindings.isEmpty else { return [] }
            var lines = [StyledLine("  " + title, .title, [.bold])]
            for binding in bindings {
                var line = StyledLine("    ")
                line.append(binding.label, width: labelWidth, binding.dangerous ? .menuDanger : .menuKey, [.bold])
                line.append(" " + binding.help + (binding.dangerous ? " (asks)" : ""))
                lines.append(line)
            }
            return lines + [StyledLine()]
        }
        let bindings = Keymap.bindings(for: screen)
        let main = section("\(screen.crumb.capitalized) view", bindings.filter(\.inMenu), labelWidth: 6)
        let more = section("More keys", bindings.filter { !$0.inMenu }, labelWidth: 7)
            + (screen == .run ? [] : section("Everywhere", Keymap.global, labelWidth: 7))
        let left = [StyledLine()] + main
        let right = [StyledLine()] + more
        guard left.count + right.count > rows, width >= 80 else { return left + Array(right.dropFirst()) }
        let leftWidth = max(width / 2, width - (right.map(\.width).max() ?? 0) - 1)
        return (0..<max(left.count, right.count)).map { index in
            var line = (index < left.count ? left[index] : StyledLine()).fitted(to: leftWidth)
            if index < right.count { line.spans.append(contentsOf: right[index].spans) }
            return line
        }
    }
}
