import FleetProtocol
import Subprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ``ProcessRunner`` over swift-subprocess: the child gets its own session (so its process
/// group holds every descendant), output is read concurrently as bytes, and stopping sends
/// SIGTERM to the group, then SIGKILL after the grace period.
public struct SubprocessRunner: ProcessRunner {
    public init() {}

    public func run(
        _ spec: ProcessSpec, stop: StopSignal, onStart: @escaping @Sendable (Int32) async -> Void,
        output: @escaping OutputHandler
    ) async throws -> ProcessOutcome {
        var options = PlatformOptions()
        options.createSession = true
        let teardown: [TeardownStep] = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: spec.gracePeriod)]
        // Used by swift-subprocess itself if our own task is cancelled or the body throws.
        options.teardownSequence = teardown
        var environment: [Environment.Key: String] = [:]
        for (key, value) in spec.environment {
            if let key = Environment.Key(rawValue: key) { environment[key] = value }
        }
        // A bare name is looked up on the PATH of the child's environment (swift-subprocess does that).
        let executable: Executable = spec.executable.hasPrefix("/") ? .path(FilePath(spec.executable)) : .name(spec.executable)
        let result = try await Subprocess.run(
            executable,
            arguments: Arguments(spec.arguments),
            environment: .custom(environment),
            workingDirectory: spec.workingDirectory.map { FilePath($0) },
            platformOptions: options,
            input: .none,
            output: .sequence,
            error: .sequence
        ) { execution in
            await onStart(execution.processIdentifier.value)
            // A reader whose handler fails must not leave the process blocked on a full pipe with
            // nobody reading it: the failure stops the process, and both pipes are drained to EOF.
            let readerFailed = StopSignal()
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await Self.drain(execution.standardOutput, as: .stdout, to: output, onFailure: readerFailed)
                }
                group.addTask {
                    try await Self.drain(execution.standardError, as: .stderr, to: output, onFailure: readerFailed)
                }
                // The watchdog: timeout or stop request → SIGTERM the group, SIGKILL after the grace period.
                let watchdog = Task {
                    let reason = await Self.waitForStop(stop, timeout: spec.timeout, orFailure: readerFailed)
                    guard reason != nil || readerFailed.reason != nil else { return }
                    if let reason { stop.request(reason) }
                    await execution.teardown(using: teardown)
                }
                defer { watchdog.cancel() }
                try await group.waitForAll()
                // Output closed, but the process may live on (`exec >/dev/null; sleep 30`): keep
                // the watchdog armed until it exits.
                await Self.waitForExit(execution.processIdentifier.value)
                watchdog.cancel()
                await watchdog.value
                if stop.reason != nil {
                    // The leader is an unreaped zombie here, so its group id cannot have been reused:
                    // make sure no descendant that ignored SIGTERM survives.
                    try? execution.send(signal: .kill, toProcessGroup: true)
                }
            }
        }
        let termination: Termination
        switch result.terminationStatus {
        case .exited(let code): termination = .exited(code)
        case .signaled(let signal): termination = .signaled(signal)
        }
        return ProcessOutcome(termination: termination, stopReason: stop.reason)
    }

    /// Hands every piece of `sequence` to `output`; after the first failure it only reads (so the
    /// writer cannot block), triggers `onFailure`, and rethrows the failure at EOF.
    static func drain(
        _ sequence: SubprocessOutputSequence, as stream: LogStream, to output: OutputHandler, onFailure: StopSignal
    ) async throws {
        var failure: (any Error)?
        for try await buffer in sequence {
            guard failure == nil else { continue }
            do {
                try await output(stream, buffer.withUnsafeBytes { Array($0) })
            } catch {
                failure = error
                onFailure.request(.shutdown)
            }
        }
        if let failure { throw failure }
    }

    /// The stop reason, from the signal or the timeout; nil when cancelled first or when
    /// `failure` was triggered (a stop that gives the invocation no reason of its own).
    static func waitForStop(_ stop: StopSignal, timeout: Duration?, orFailure failure: StopSignal = StopSignal()) async -> StopReason? {
        await withTaskGroup(of: StopReason?.self) { group in
            group.addTask { await stop.wait() }
            group.addTask {
                _ = await failure.wait()
                return nil
            }
            if let timeout {
                group.addTask {
                    do {
                        try await Task.sleep(for: timeout)
                        return .timedOut
                    } catch {
                        return nil
                    }
                }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Returns once `pid` has exited, without reaping it (swift-subprocess reaps it).
    ///
    /// The pipes usually close because the process is exiting, a few microseconds before it
    /// can be waited for: the first look again comes after 50 µs, not after a fixed step that
    /// every short command would pay on its round trip.
    static func waitForExit(_ pid: pid_t) async {
        var delay = Duration.microseconds(50)
        while true {
            var info = siginfo_t()
            let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            // rc < 0: no such child (already reaped) — nothing to wait for.
            if rc < 0 || Self.pid(of: info) != 0 { return }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(200))
        }
    }

    private static func pid(of info: siginfo_t) -> pid_t {
        #if os(Linux)
        info._sifields._sigchld.si_pid
        #else
        info.si_pid
        #endif
    }
}
