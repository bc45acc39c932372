import Foundation

/// The boxes drawn over a view: the confirmation and the help screen.
extension FormRenderer {
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
        box.append(
            StyledLine([
                Span("│", border, [.bold]), Span(TextWidth.pad(String(repeating: " ", count: pad) + choice, to: inner), .menuKey, [.bold]),
                Span("│", border, [.bold]),
            ]))
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
        func section(_ title: String, _ bindings: [KeyBinding], labelWidth minimum: Int) -> [StyledLine] {
            guard !bindings.isEmpty else { return [] }
            // Wide enough for the longest label ("shift-tab/↑"), so no key is shown cut.
            let labelWidth = min(12, max(minimum, bindings.map { TextWidth.width($0.label) }.max() ?? 0))
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
        let more =
            section("More keys", bindings.filter { !$0.inMenu }, labelWidth: 7)
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
