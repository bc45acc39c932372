import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds and kills process groups that a crashed agent left running.
///
/// Each command runs in its own session, so it survives an agent killed with SIGKILL. The pid
/// and its start time are stored when it starts; after a restart the group is killed only if
/// that pid still belongs to the same process (a reused pid has another start time).
public enum LeftoverProcesses {
    /// Start time of `pid` in clock ticks since boot (`/proc/<pid>/stat` field 22), nil if gone.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "pid (comm)" start at field 3; the start time is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// SIGKILLs the group led by `leader` when the leader is still the process that was started.
    @discardableResult
    public static func killGroup(leader: Int32?, startTime: Int64?) -> Bool {
        guard let leader, leader > 1, let startTime, let current = Self.startTime(of: leader),
            Int64(clamping: current) == startTime
        else { return false }
        return kill(-leader, SIGKILL) == 0
    }
}
