import FleetProtocol
import Synchronization

/// What to run, as an argv (never re-parsed by a shell), in its own session and process group.
public struct ProcessSpec: Sendable, Hashable {
    /// The program: an absolute path, or a bare name looked up on the child's `PATH`.
    public var executable: String
    /// The arguments after the program name.
    public var arguments: [String]
    /// The child's complete environment.
    public var environment: [String: String]
    public var workingDirectory: String?
    /// Execution bound; nil runs until the process ends or is stopped.
    public var timeout: Duration?
    /// Time between SIGTERM to the group and SIGKILL.
    public var gracePeriod: Duration

    /// Runs `executable` with `arguments` as given: each element reaches the program as one argument.
    public init(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String? = nil,
        timeout: Duration? = nil, gracePeriod: Duration = .seconds(5)
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.timeout = timeout
        self.gracePeriod = gracePeriod
    }

    /// `/bin/sh -c command`: the `RunCommand` form, where the operator asked for a shell.
    public init(
        command: String, environment: [String: String], workingDirectory: String? = nil, timeout: Duration? = nil,
        gracePeriod: Duration = .seconds(5)
    ) {
        self.init(
            executable: "/bin/sh", arguments: ["-c", command], environment: environment, workingDirectory: workingDirectory,
            timeout: timeout, gracePeriod: gracePeriod)
    }
}

/// Why the agent stopped a process before it ended by itself.
public enum StopReason: String, Sendable, Hashable {
    /// `timeout_sec` elapsed.
    case timedOut
    /// The operator cancelled the invocation.
    case cancelled
    /// The agent is shutting down (SIGTERM).
    case shutdown
}

/// How a process ended.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// `exit code 100`, `signal 15`: for messages to operators.
    public var description: String {
        switch self {
        case .exited(let code): "exit code \(code)"
        case .signaled(let signal): "signal \(signal)"
        }
    }
}

/// The result of running a process.
public struct ProcessOutcome: Sendable, Hashable {
    public var termination: Termination
    /// Set when the agent stopped the process; the termination then usually shows SIGTERM/SIGKILL.
    public var stopReason: StopReason?

    public init(termination: Termination, stopReason: StopReason?) {
        self.termination = termination
        self.stopReason = stopReason
    }
}

/// Receives output as the process produces it; returning late slows the reader (back-pressure).
public typealias OutputHandler = @Sendable (LogStream, [UInt8]) async throws -> Void

/// The seam over process execution.
public protocol ProcessRunner: Sendable {
    /// Runs `spec` to its end, calling `onStart` with the process id (which is also its process
    /// group id) once spawned, `output` for every piece of stdout/stderr as it is read, and
    /// stopping the whole process group when `stop` is triggered or the timeout elapses.
    func run(
        _ spec: ProcessSpec, stop: StopSignal, onStart: @escaping @Sendable (Int32) async -> Void,
        output: @escaping OutputHandler
    ) async throws -> ProcessOutcome
}

extension ProcessRunner {
    /// Runs `spec` without caring about its process id.
    public func run(_ spec: ProcessSpec, stop: StopSignal, output: @escaping OutputHandler) async throws -> ProcessOutcome {
        try await run(spec, stop: stop, onStart: { _ in }, output: output)
    }
}

/// A one-shot request to stop one process; the first reason wins.
public final class StopSignal: Sendable {
    private struct State {
        var reason: StopReason?
        var waiters: [Int: CheckedContinuation<StopReason?, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// The reason given first, if any.
    public var reason: StopReason? { state.withLock { $0.reason } }

    /// Asks the process to stop; later requests keep the first reason.
    public func request(_ reason: StopReason) {
        let waiters = state.withLock { state -> [CheckedContinuation<StopReason?, Never>] in
            guard state.reason == nil else { return [] }
            state.reason = reason
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: reason) }
    }

    /// Waits until a stop is requested; returns nil when the waiting task is cancelled first.
    public func wait() async -> StopReason? {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<StopReason?, Never>) in
                let immediate = state.withLock { state -> StopReason?? in
                    if let reason = state.reason { return .some(reason) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}
