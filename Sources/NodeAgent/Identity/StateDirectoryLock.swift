import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One agent per state directory: two agents on one SQLite store would each run the same
/// invocations. An exclusive `flock` on `agent.lock`, held for the life of the process and
/// released by the kernel when it exits or execs (the descriptor is close-on-exec).
public final class StateDirectoryLock: Sendable {
    let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    static func path(in directory: String) -> String { (directory as NSString).appendingPathComponent("agent.lock") }

    /// Takes the lock, retrying for up to `wait` (an agent that just exec'd or a watchdog
    /// handing over may hold it for a moment).
    public static func acquire(in directory: String, wait: Duration = .seconds(10)) async throws(AgentError) -> StateDirectoryLock {
        let path = path(in: directory)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .stateDirectory(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        let deadline = ContinuousClock.now + wait
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                close(fd)
                throw .stateDirectory(path: path, reason: "another node-agent is running with this state directory")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return StateDirectoryLock(descriptor: fd)
    }

    /// Whether no agent holds the lock right now.
    public static func isFree(in directory: String) -> Bool {
        let fd = open(path(in: directory), O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        flock(fd, LOCK_UN)
        return true
    }
}
