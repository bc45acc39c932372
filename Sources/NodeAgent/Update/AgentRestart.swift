import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The last step of an update: start the watchdog from the previous binary, then exec the new
/// binary in place (same pid, so a supervisor such as systemd or tini sees the same process).
public enum AgentRestart {
    /// glibc's `POSIX_SPAWN_SETSID`, which Swift does not import (it sits behind `_GNU_SOURCE`).
    static let spawnSetSID: Int16 = 0x80

    /// Does not return when the exec succeeds; throws with the reason otherwise (the watchdog,
    /// already running, then sees this process end and restores the previous binary).
    public static func exec(_ plan: RestartPlan, arguments: [String], logger: Logger) throws(UpdateError) -> Never {
        // Neither the watchdog nor the new image may inherit this process's descriptors: a
        // leaked socket of the last held poll would keep that connection open, and agent-svc
        // would hand work to a poll nobody reads any more.
        closeOnExecAll()
        let watchdog =
            [
                plan.backupPath, "--update-watchdog", plan.commandId.uuidString, "--watch-pid", "\(getpid())",
                "--state-dir", plan.stateDirectory, "--health-timeout", "\(plan.healthTimeout.components.seconds)", "--",
            ] + arguments
        let spawned = spawn(watchdog)
        guard spawned > 0 else {
            throw .cannotReplace("could not start the update watchdog: \(String(cString: strerror(-spawned)))")
        }
        logger.notice(
            "restarting into the new agent binary",
            metadata: ["binary": "\(plan.binary.path)", "watchdog_pid": "\(spawned)", "command_id": "\(plan.commandId)"])
        // argv[0] stays what the operator or supervisor used; the path is the one we replaced.
        let error = execInPlace(plan.binary.path, arguments: arguments)
        throw .cannotReplace("exec \(plan.binary.path) failed: \(String(cString: strerror(error)))")
    }

    /// Starts `arguments[0]` in its own session (so signals aimed at the agent's process group
    /// do not reach it); returns the pid, or minus errno.
    static func spawn(_ arguments: [String]) -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = resetSignals()
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, spawnSetSID | Int16(POSIX_SPAWN_SETSIGDEF) | Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let status = withCStrings(arguments) { argv in
            posix_spawn(&pid, arguments[0], nil, &attributes, argv, environ)
        }
        return status == 0 ? pid : -status
    }

    /// Replaces this process with `path` and `arguments` (used by the watchdog to start the
    /// restored binary); returns only on failure.
    public static func replaceProcess(with path: String, arguments: [String]) -> Int32 {
        closeOnExecAll()
        return execInPlace(path, arguments: arguments)
    }

    /// execv with the signals a new program expects; returns errno on failure. An ignored signal
    /// stays ignored across exec: the service lifecycle ignores SIGTERM and SIGINT to watch them
    /// through dispatch, and the next program must get them as usual.
    private static func execInPlace(_ path: String, arguments: [String]) -> Int32 {
        for number in Self.signalsToReset { signal(number, SIG_DFL) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        sigprocmask(SIG_SETMASK, &unblocked, nil)
        withCStrings(arguments.isEmpty ? [path] : arguments) { argv in _ = execv(path, argv) }
        return errno
    }

    /// Marks every descriptor above stderr close-on-exec (NIO's sockets and SQLite's files are
    /// not all opened that way).
    static func closeOnExecAll() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for entry in entries {
            guard let fd = Int32(entry), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    static let signalsToReset: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE]

    /// The set of signals a new program gets with their default action.
    static func resetSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for number in signalsToReset { sigaddset(&set, number) }
        return set
    }

    static func withCStrings<R>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeMutableBufferPointer { buffer in
            // A non-empty array always has a base address.
            guard let base = buffer.baseAddress else { preconditionFailure("empty argv buffer") }
            return body(base)
        }
    }
}
