import FleetProtocol
import Foundation

/// Short human forms of ages, durations, sizes and states.
public enum Format {
    /// "12s ago", "5m ago", "3h ago", "2d ago", or "never".
    public static func ago(_ date: Date?, now: Date) -> String {
        guard let date else { return "never" }
        return age(now.timeIntervalSince(date)) + " ago"
    }

    /// "12s", "5m", "3h", "2d".
    public static func age(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        if s < 86_400 { return "\(s / 3600)h" }
        return "\(s / 86_400)d"
    }

    /// "0.4s", "12.0s", "3m04s", "2h05m".
    public static func duration(_ seconds: TimeInterval?) -> String {
        guard let seconds else { return "-" }
        if seconds < 60 { return String(format: "%.1fs", max(0, seconds)) }
        let s = Int(seconds)
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }

    /// "812 B", "1.2 KiB", "3.4 MiB", "1.0 GiB".
    public static func bytes(_ count: Int64) -> String {
        if count < 1024 { return "\(count) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f %@", value, units[unit])
    }

    /// Attributes every agent reports about itself; listed after the operator's own.
    static let builtinAttributes: Set<String> = ["agent_version", "arch", "hostname", "kernel", "os", "os_version"]

    /// "region=eu-west role=db arch=x86_64 …": the operator's attributes first, each group by key.
    public static func attrs(_ attrs: [String: String]) -> String {
        attrs.filter { $0.key != "agent_version" }
            .sorted { (builtinAttributes.contains($0.key) ? 1 : 0, $0.key) < (builtinAttributes.contains($1.key) ? 1 : 0, $1.key) }
            .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// The colour of an invocation state.
    public static func role(_ state: InvocationState) -> Role {
        switch state {
        case .succeeded: .ok
        case .failed, .timedOut, .lost, .expired: .error
        case .cancelled: .warn
        case .running: .info
        case .queued, .delivered: .dim
        }
    }

    /// Short per-state labels for the history's counts column.
    static func countLabels(_ c: StateCounts) -> [(Int, String, Role)] {
        [
            (c.running, "run", .info), (c.delivered, "dlv", .dim), (c.queued, "q", .dim), (c.succeeded, "ok", .ok),
            (c.failed, "fail", .error), (c.timedOut, "tmo", .error), (c.cancelled, "cxl", .warn),
            (c.expired, "exp", .error), (c.lost, "lost", .error),
        ]
    }

    /// Non-zero counts as coloured spans: "run:1 ok:2 fail:1".
    public static func counts(_ counts: StateCounts) -> [Span] {
        var spans: [Span] = []
        for (count, label, role) in countLabels(counts) where count > 0 {
            if !spans.isEmpty { spans.append(Span(" ")) }
            spans.append(Span("\(label):\(count)", role))
        }
        return spans.isEmpty ? [Span("-", .dim)] : spans
    }

    /// The first 8 hex digits of a command id.
    public static func shortId(_ id: UUID) -> String { String(id.uuidString.lowercased().prefix(8)) }
}
