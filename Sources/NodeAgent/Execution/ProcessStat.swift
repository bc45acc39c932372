import Foundation

/// The two fields of `/proc/<pid>/stat` the agent relies on: to tell a live process from a
/// zombie, and a process from another that was given the same pid later.
struct ProcessStat: Equatable {
    /// Field 3: `R`, `S`, `D`, `Z` (zombie), `X` (dead)…
    var state: Character
    /// Field 22: start time in clock ticks since boot.
    var startTime: UInt64

    /// Reads `/proc/<pid>/stat`; nil when the process is gone or the file is not as expected.
    static func read(pid: Int32) -> ProcessStat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return parse(text)
    }

    /// Parses the file's text; the command name in parentheses may itself hold spaces and ')'.
    static func parse(_ text: String) -> ProcessStat? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // Fields after "pid (comm)" start at field 3; the start time is field 22.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let startTime = UInt64(fields[19]) else { return nil }
        return ProcessStat(state: state, startTime: startTime)
    }

    /// A zombie or dead process no longer runs anything.
    var hasExited: Bool { state == "Z" || state == "X" }
}
