import FleetProtocol
import Foundation
import Logging
import ServiceLifecycle

/// Reports invocation states to agent-svc from SQLite: `running` as soon as a process starts,
/// the final state (with byte totals per stream) only once every chunk is acknowledged.
/// Unsent reports survive restarts because they are derived from the store.
public final class StatusReporter: Service {
    let api: AgentAPI
    let identity: IdentityManager
    let store: AgentStore
    let wakeup: Wakeup
    let logger: Logger
    let flushTimeout: Duration
    /// Called when the server says an invocation should stop.
    let onCancelRequested: @Sendable (UUID) async -> Void

    public init(
        api: AgentAPI, identity: IdentityManager, store: AgentStore, wakeup: Wakeup, flushTimeout: Duration,
        logger: Logger, onCancelRequested: @escaping @Sendable (UUID) async -> Void
    ) {
        self.api = api
        self.identity = identity
        self.store = store
        self.wakeup = wakeup
        self.flushTimeout = flushTimeout
        self.logger = logger
        self.onCancelRequested = onCancelRequested
    }

    public func run() async throws {
        var backoff = Backoff()
        var log = ConnectionLog(logger: logger, what: "status")
        var lastPrune = Date.distantPast
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var delay = Duration.seconds(5)
            do {
                try await reportPending()
                log.succeeded()
                backoff.reset()
            } catch let error as AgentError {
                throw error
            } catch {
                delay = backoff.next()
                log.failed(error, retryIn: delay)
            }
            if Date().timeIntervalSince(lastPrune) > 3600 {
                lastPrune = Date()
                _ = try? await store.prune(olderThan: 7 * 24 * 3600)
            }
            await withGracefulShutdownHandler {
                await wakeup.wait(timeout: delay)
            } onGracefulShutdown: {
                self.wakeup.ring()
            }
        }
        await drain()
    }

    /// Final reports after the other services stopped: as many as the flush timeout allows.
    private func drain() async {
        let deadline = ContinuousClock.now + flushTimeout
        while ContinuousClock.now < deadline, !Task.isCancelled {
            guard let pending = try? await store.pendingReports(), !pending.isEmpty else { return }
            do {
                try await reportPending()
            } catch {
                logger.warning("could not deliver every status before exiting", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    /// Sends every due report once; throws on the first transient failure or a rejected identity.
    func reportPending() async throws {
        for invocation in try await store.pendingReports() {
            try await report(invocation)
        }
    }

    private func report(_ invocation: LocalInvocation) async throws {
        let id = invocation.commandId
        let isFinal = invocation.phase == .finished
        let body: StatusReport
        if isFinal, let outcome = invocation.outcome {
            body = StatusReport(
                commandId: id, state: outcome.state, exitCode: outcome.exitCode, signal: outcome.signal,
                reason: outcome.reason, stdoutBytes: invocation.stdoutBytes, stderrBytes: invocation.stderrBytes,
                result: outcome.result)
        } else {
            body = StatusReport(commandId: id, state: .running)
        }
        let token = try await identity.token()
        let answer: StatusResponse
        do {
            answer = try await api.report(body, token: token)
        } catch .unauthorized(let message) {
            throw AgentError.identityRejected(message)
        } catch let error where error.isTransient {
            throw error
        } catch {
            // 403/404/409/4xx: the server will never take this report; stop sending it.
            logger.warning(
                "status report refused; giving up on it",
                metadata: ["command_id": "\(id)", "state": "\(body.state.rawValue)", "error": "\(error)"])
            if isFinal {
                try await store.markFinalReported(id)
            } else {
                try await store.markRunningReported(id)
                // The server considers it over (e.g. cancelled while delivered): do not keep it running.
                await onCancelRequested(id)
            }
            return
        }
        if isFinal {
            try await store.markFinalReported(id)
            logger.info("final state reported", metadata: ["command_id": "\(id)", "state": "\(body.state.rawValue)"])
        } else {
            try await store.markRunningReported(id)
            if answer.cancelRequested || answer.state.isTerminal { await onCancelRequested(id) }
        }
    }
}
