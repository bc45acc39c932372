import Foundation

/// Plain aligned columns: a header row and one row per item, two spaces apart, the last column unpadded.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) { self.header = header }

    mutating func add(_ cells: String...) { rows.append(cells) }

    var text: String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

/// How long ago, in the largest unit that fits: `4s`, `12m`, `3h`, `2d`.
func ago(_ date: Date?, now: Date) -> String {
    guard let date else { return "never" }
    let seconds = max(0, Int(now.timeIntervalSince(date)))
    switch seconds {
    case ..<60: return "\(seconds)s ago"
    case ..<3600: return "\(seconds / 60)m ago"
    case ..<86_400: return "\(seconds / 3600)h ago"
    default: return "\(seconds / 86_400)d ago"
    }
}

/// A duration between two instants: `850ms`, `12.3s`, `4m05s`.
func duration(from start: Date?, to end: Date?) -> String {
    guard let start, let end else { return "-" }
    let seconds = max(0, end.timeIntervalSince(start))
    if seconds < 1 { return "\(Int(seconds * 1000))ms" }
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
}

/// Byte counts for people: `512B`, `1.5KiB`, `20.0MiB`.
func bytes(_ count: Int64) -> String {
    if count < 1024 { return "\(count)B" }
    let units = ["KiB", "MiB", "GiB", "TiB"]
    var value = Double(count) / 1024
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return String(format: "%.1f", value) + units[unit]
}
