import FleetProtocol
import FleetSupport
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
    let logger: Logger
    let flushTimeout: Duration
    /// Called when the server says an invocation should stop.
    let onCancelRequested: @Sendable (UUID) async -> Void
    private let loop: RetryLoop

    public init(
        api: AgentAPI, identity: IdentityManager, store: AgentStore, wakeup: Wakeup, flushTimeout: Duration,
        logger: Logger, clock: any Clock<Duration> = ContinuousClock(),
        onCancelRequested: @escaping @Sendable (UUID) async -> Void
    ) {
        self.api = api
        self.identity = identity
        self.store = store
        self.flushTimeout = flushTimeout
        self.logger = logger
        self.onCancelRequested = onCancelRequested
        self.loop = RetryLoop("status", peer: "agent-svc", logger: logger, wakeup: wakeup, clock: clock)
    }

    public func run() async throws {
        try await loop.run {
            try await reportPending()
            return .idle
        }
        // Final reports after the other services stopped: as many as the flush timeout allows.
        let failure = await loop.drain(within: flushTimeout) {
            guard try await !store.pendingReports().isEmpty else { return false }
            try await reportPending()
            return true
        }
        if let failure {
            logger.warning("could not deliver every status before exiting", metadata: ["error": "\(failure)"])
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
        } catch {
            guard case .giveUp = error.disposition else { throw error }
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
