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
    public static func startTime(of pid: Int32) -> UInt64? { ProcessStat.read(pid: pid)?.startTime }

    /// SIGKILLs the group led by `leader` when the leader is still the process that was started.
    @discardableResult
    public static func killGroup(leader: Int32?, startTime: Int64?) -> Bool {
        guard let leader, leader > 1, let startTime, let current = Self.startTime(of: leader),
            Int64(clamping: current) == startTime
        else { return false }
        return kill(-leader, SIGKILL) == 0
    }
}
