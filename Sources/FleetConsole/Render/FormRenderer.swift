import FleetProtocol
import Foundation

/// The Run form (all three command types); the boxes drawn over views are in `+Overlays`.
enum FormRenderer {
    /// Columns before a field's value: marker (3), label (12), one space.
    static let indent = 16

    static func run(_ form: RunForm?, nodes: NodesModel, width: Int, rows: Int, now: Date) -> (String, [StyledLine]) {
        guard let form else { return ("Run", []) }
        let fieldWidth = max(10, min(60, width - indent - 2))
        var lines = [StyledLine()]
        for field in form.fields {
            let focused = field == form.focus
            var line = label(field, focused: focused)
            switch field {
            case .type:
                line.spans += choices(CommandType.allCases.map(\.rawValue), selected: form.commandType.rawValue, focused: focused)
            case .targets: line.spans += input(form.targets, width: fieldWidth, focused: focused)
            case .command: line.spans += input(form.command, width: fieldWidth, focused: focused)
            case .action:
                line.spans += choices(PackageAction.allCases.map(\.rawValue), selected: form.action.rawValue, focused: focused)
            case .packages: line.spans += input(form.packages, width: fieldWidth, focused: focused)
            case .manager:
                let names = ["auto"] + PackageManagerKind.allCases.map(\.rawValue)
                line.spans += choices(names, selected: form.manager?.rawValue ?? "auto", focused: focused)
            case .artifact:
                lines += artifactRows(form, first: line, focused: focused, width: width, now: now)
                continue
            case .url: line.spans += input(form.url, width: fieldWidth, focused: focused)
            case .sha256: line.spans += input(form.sha256, width: max(10, min(64, width - indent - 2)), focused: focused)
            case .version: line.spans += input(form.version, width: min(24, fieldWidth), focused: focused)
            case .timeout:
                line.spans += input(form.timeout, width: 8, focused: focused)
                if form.commandType != .runCommand { line.append("  empty: no limit", .dim) }
            case .maxConcurrency:
                line = rolloutRow(form)
            case .maxErrors:
                continue  // on the row of max concurrency
            }
            lines.append(line)
            if field == .type || field == .targets { lines += targetsFooter(field, form: form, nodes: nodes, width: width) }
        }
        lines.append(StyledLine())
        if form.showProblems {
            let problems = form.problems(nodes: nodes.nodes)
            for problem in problems.prefix(4) { lines.append(StyledLine("   ✗ " + TextWidth.sanitize(problem), .error)) }
            if problems.count > 4 { lines.append(StyledLine("   ✗ … and \(problems.count - 4) more", .error)) }
            if !problems.isEmpty { lines.append(StyledLine()) }
        }
        // The hints are the first thing to give up when the form is taller than the screen.
        lines += hints(form).prefix(max(0, rows - lines.count))
        return (title(form.commandType), lines)
    }

    static func title(_ type: CommandType) -> String {
        switch type {
        case .runCommand: "Run command"
        case .updateAgent: "Update agent"
        case .updatePackage: "Update packages"
        }
    }

    /// The marker and label column of a row (`text` instead of the field's own label).
    static func label(_ field: RunForm.Field, focused: Bool, text: String? = nil) -> StyledLine {
        var line = StyledLine()
        line.append(focused ? " ▸ " : "   ", .menuKey, [.bold])
        line.append(text ?? field.label, width: 12, focused ? .title : .normal, focused ? [.bold] : [])
        line.append(" ")
        return line
    }

    /// A choice row: every option, the chosen one as `(•)` (reversed while focused).
    static func choices(_ options: [String], selected: String, focused: Bool) -> [Span] {
        var spans: [Span] = []
        for option in options {
            if !spans.isEmpty { spans.append(Span("  ")) }
            if option == selected {
                spans.append(Span("(•) " + option, .info, focused ? [.bold, .reverse] : [.bold]))
            } else {
                spans.append(Span("( ) " + option, .dim))
            }
        }
        return spans
    }

    /// What each type is about, and the keys that are not obvious.
    static func hints(_ form: RunForm) -> [StyledLine] {
        let about =
            switch form.commandType {
            case .runCommand: "Runs as /bin/sh -c on each node. Enter asks before sending."
            case .updatePackage: "Packages: names separated by spaces, pinned as name=version if needed."
            case .updateAgent: "Nodes fetch it, verify the SHA-256, swap, restart; unhealthy ones roll back."
            }
        var lines = [StyledLine("   Targets: ids (a,b,c), or a selector: region=eu-west,role in (web,db) or *", .dim)]
        lines.append(StyledLine("   " + about, .dim))
        lines.append(StyledLine("   ctrl-t: next type · ←/→ or space: change a choice · tab: next field", .dim))
        return lines
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
}
