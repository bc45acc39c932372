import FleetProtocol
import Foundation

/// The Run form's rows about where a command goes: what the targets pick, and the rollout bounds.
extension FormRenderer {
    /// A blank line after the type; after the targets, the nodes they pick (or the selector's
    /// problem, at its position, on up to two rows) and a blank.
    static func targetsFooter(_ field: RunForm.Field, form: RunForm, nodes: NodesModel, width: Int) -> [StyledLine] {
        guard field == .targets else { return [StyledLine()] }
        var line = StyledLine(String(repeating: " ", count: indent))
        let spec = form.targetSpec
        let ids = form.resolveTargets(in: nodes.nodes)
        switch spec {
        case .invalid(let error):
            // The parser's hint comes last ("missing ',' between requirements?"), so it is wrapped, not cut.
            line.append("✗ " + TextWidth.sanitize(error.description), .error)
            return TableRenderer.wrapped(line, width: width, indent: indent + 2, maxLines: 2) + [StyledLine()]
        case _ where ids.isEmpty:
            line.append(spec.isSelector ? "→ no node matches" : "→ no nodes", .warn)
        case .selector:
            // The same parser as agent-svc's, over the nodes listed here: what it will pick now.
            line.append("→ \(ids.count) node\(ids.count == 1 ? "" : "s") match: ", .dim)
            line.append(names(ids), .ok)
        case .ids:
            let unknown = ids.filter { id in !nodes.nodes.contains { $0.nodeId == id } }
            line.append("→ \(ids.count) node\(ids.count == 1 ? "" : "s"): ", .dim)
            line.append(names(ids), .ok)
            if !unknown.isEmpty { line.append("  (unknown: \(unknown.prefix(3).joined(separator: ", ")))", .error) }
        }
        return [line, StyledLine()]
    }

    private static func names(_ ids: [String]) -> String {
        ids.prefix(8).joined(separator: ", ") + (ids.count > 8 ? ", …" : "")
    }

    /// Max concurrency and max errors share one row: they are read together, and the tallest
    /// form (UpdateAgent by hand) has no row to spare at 24 lines.
    static func rolloutRow(_ form: RunForm) -> StyledLine {
        let focus = form.focus
        var line = label(.maxConcurrency, focused: focus == .maxConcurrency || focus == .maxErrors, text: "Rollout")
        for (field, text) in [(RunForm.Field.maxConcurrency, form.maxConcurrency), (.maxErrors, form.maxErrors)] {
            if field == .maxErrors { line.append("  ") }
            line.append(field.label.lowercased() + " ", focus == field ? .title : .dim, focus == field ? [.bold] : [])
            line.spans += input(text, width: 6, focused: focus == field)
        }
        line.append("  e.g. 3 or 10%", .dim)
        return line
    }
}

extension RunForm.Targets {
    /// Whether the field holds a selector (valid or not) rather than ids.
    var isSelector: Bool {
        if case .ids = self { return false }
        return true
    }
}
