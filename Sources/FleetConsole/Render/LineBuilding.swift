/// Helpers that build rows of exact width out of spans.
extension StyledLine {
    /// Appends a span clipped/padded to exactly `width` cells.
    public mutating func append(
        _ text: String, width: Int, _ role: Role = .normal, _ attributes: TextAttributes = [],
        alignRight: Bool = false
    ) {
        guard width > 0 else { return }
        spans.append(Span(TextWidth.pad(text, to: width, alignRight: alignRight), role, attributes))
    }

    /// Appends a span as is.
    public mutating func append(_ text: String, _ role: Role = .normal, _ attributes: TextAttributes = []) {
        spans.append(Span(text, role, attributes))
    }

    /// The row clipped to `width` cells and padded with spaces to exactly that width.
    public func fitted(to width: Int, fillRole: Role = .normal, fillAttributes: TextAttributes = []) -> StyledLine {
        var out = StyledLine()
        var used = 0
        for span in spans where used < width {
            let text = TextWidth.clip(span.text, to: width - used, ellipsis: false)
            let w = TextWidth.width(text)
            if w > 0 { out.spans.append(Span(text, span.role, span.attributes)) }
            used += w
        }
        if used < width {
            out.spans.append(Span(String(repeating: " ", count: width - used), fillRole, fillAttributes))
        }
        return out
    }

    /// The same row drawn as the cursor row: one uniform highlight, so colours don't clash.
    public func highlighted() -> StyledLine {
        StyledLine(spans.map { Span($0.text, .cursor, $0.attributes.subtracting(.reverse)) })
    }

    /// The cells `[from, from+width)` of the row.
    public func slice(from start: Int, width: Int) -> StyledLine {
        var out = StyledLine()
        var position = 0
        for span in spans {
            for scalar in span.text.unicodeScalars {
                let w = TextWidth.width(of: scalar)
                defer { position += w }
                guard position >= start, position + w <= start + width else { continue }
                if let last = out.spans.last, last.role == span.role, last.attributes == span.attributes {
                    out.spans[out.spans.count - 1].text.unicodeScalars.append(scalar)
                } else {
                    out.spans.append(Span(String(scalar), span.role, span.attributes))
                }
            }
        }
        return out
    }

    /// `overlay` drawn over this row starting at cell `x`.
    public func overlaid(_ overlay: StyledLine, at x: Int, totalWidth: Int) -> StyledLine {
        let base = fitted(to: totalWidth)
        let width = overlay.width
        var out = base.slice(from: 0, width: x)
        out.spans.append(contentsOf: overlay.spans)
        out.spans.append(contentsOf: base.slice(from: x + width, width: max(0, totalWidth - x - width)).spans)
        return out
    }
}
