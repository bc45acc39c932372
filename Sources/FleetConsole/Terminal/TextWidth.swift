/// Display widths of text in terminal cells, and clipping/padding by width.
public enum TextWidth {
    /// Cells one scalar takes: 0 for combining marks and controls, 2 for wide East Asian
    /// characters and most emoji, 1 otherwise.
    public static func width(of scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        if v < 0x300 { return 1 }
        if (0x300...0x36F).contains(v) || (0x200B...0x200F).contains(v) || (0xFE00...0xFE0F).contains(v) {
            return 0
        }
        if (0x1100...0x115F).contains(v) || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v)
            || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v)
            || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v)
            || (0x1F900...0x1F9FF).contains(v) || (0x20000...0x3FFFD).contains(v)
        {
            return 2
        }
        return 1
    }

    /// Cells a string takes.
    public static func width(_ text: String) -> Int {
        var total = 0
        for scalar in text.unicodeScalars { total += width(of: scalar) }
        return total
    }

    /// The longest prefix of `text` that fits in `cells`, with `…` when something was cut.
    public static func clip(_ text: String, to cells: Int, ellipsis: Bool = true) -> String {
        guard cells > 0 else { return "" }
        if text.utf8.count <= cells, text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        if width(text) <= cells { return text }
        let budget = ellipsis ? cells - 1 : cells
        var used = 0
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let w = width(of: scalar)
            if used + w > budget { break }
            used += w
            out.append(scalar)
        }
        return String(out) + (ellipsis ? "…" : "")
    }

    /// `text` clipped and then padded with spaces to exactly `cells`.
    public static func pad(_ text: String, to cells: Int, alignRight: Bool = false) -> String {
        let clipped = clip(text, to: cells)
        let fill = max(0, cells - width(clipped))
        guard fill > 0 else { return clipped }
        let spaces = String(repeating: " ", count: fill)
        return alignRight ? spaces + clipped : clipped + spaces
    }

    /// Splits `text` into pieces of at most `cells` width each (for wrapped log lines).
    public static func wrap(_ text: String, to cells: Int) -> [String] {
        guard cells > 0 else { return [text] }
        if text.utf8.count <= cells { return [text] }
        var pieces: [String] = []
        var current = String.UnicodeScalarView()
        var used = 0
        for scalar in text.unicodeScalars {
            let w = width(of: scalar)
            if used + w > cells {
                pieces.append(String(current))
                current = String.UnicodeScalarView()
                used = 0
            }
            current.append(scalar)
            used += w
        }
        if !current.isEmpty || pieces.isEmpty { pieces.append(String(current)) }
        return pieces
    }

    /// Makes untrusted text safe to draw: drops ANSI escape sequences and carriage returns,
    /// expands tabs, and shows other control characters as `·`.
    public static func sanitize(_ text: String) -> String {
        var needsWork = false
        for byte in text.utf8 where byte < 0x20 || byte == 0x7F {
            needsWork = true
            break
        }
        if !needsWork, !text.unicodeScalars.contains(where: { (0x80..<0xA0).contains($0.value) }) { return text }
        var out = String.UnicodeScalarView()
        var column = 0
        var inEscape = false
        var inCSI = false
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if inCSI {
                if (0x40...0x7E).contains(v) { inCSI = false }
                continue
            }
            if inEscape {
                inEscape = false
                if scalar == "[" { inCSI = true }
                continue
            }
            switch v {
            case 0x1B: inEscape = true
            case 0x0D: continue
            case 0x09:
                let spaces = 8 - column % 8
                for _ in 0..<spaces { out.append(" ") }
                column += spaces
            case 0..<0x20, 0x7F, 0x80..<0xA0:
                out.append("·")
                column += 1
            default:
                out.append(scalar)
                column += width(of: scalar)
            }
        }
        return String(out)
    }
}
