import Foundation
import Synchronization

/// What the agent restarts into after a successful swap.
public struct RestartPlan: Sendable, Hashable {
    /// The update that asked for the restart.
    public var commandId: UUID
    /// The (new) binary to exec, at the same path as before.
    public var binary: AgentBinary
    /// The previous binary, which runs the watchdog.
    public var backupPath: String
    public var stateDirectory: String
    public var healthTimeout: Duration
}

/// Carries a restart request from the executor that swapped the binary to `main`, which execs
/// once every service has stopped: polling ends, running commands stop, output and reports are
/// flushed to SQLite/the server, and only then does the process image change.
public final class RestartCoordinator: Sendable {
    private struct State {
        var plan: RestartPlan?
        var shutdown: (@Sendable () async -> Void)?
    }

    private let state = Mutex(State())

    public init() {}

    /// The restart asked for, if any.
    public var plan: RestartPlan? { state.withLock { $0.plan } }

    /// How to stop the running agent gracefully (set by the app once its service group exists).
    func onRequest(_ shutdown: @escaping @Sendable () async -> Void) {
        state.withLock { $0.shutdown = shutdown }
    }

    /// Records the plan and starts the graceful shutdown that ends in the exec.
    func request(_ plan: RestartPlan) async {
        let shutdown = state.withLock { state -> (@Sendable () async -> Void)? in
            state.plan = plan
            return state.shutdown
        }
        await shutdown?()
    }
}
