import FleetProtocol
import Foundation
import Logging
import ServiceLifecycle

/// Long-polls agent-svc for work: records each assignment in SQLite before it is acknowledged,
/// hands new ones to the scheduler, routes cancellations, and tells the server which
/// invocations are alive. Backs off exponentially with jitter while the server is unreachable.
public final class Poller: Service {
    let api: AgentAPI
    let identity: IdentityManager
    let store: AgentStore
    let scheduler: InvocationScheduler
    let waitSeconds: Int
    let logger: Logger
    let onRecorded: @Sendable () -> Void
    /// After every answered poll (the server has seen this agent and its version).
    let onPolled: @Sendable () async -> Void

    public init(
        api: AgentAPI, identity: IdentityManager, store: AgentStore, scheduler: InvocationScheduler, waitSeconds: Int,
        logger: Logger, onRecorded: @escaping @Sendable () -> Void = {}, onPolled: @escaping @Sendable () async -> Void = {}
    ) {
        self.api = api
        self.identity = identity
        self.store = store
        self.scheduler = scheduler
        self.waitSeconds = waitSeconds
        self.logger = logger
        self.onRecorded = onRecorded
        self.onPolled = onPolled
    }

    public func run() async throws {
        var backoff = Backoff()
        var log = ConnectionLog(logger: logger, what: "poll")
        // The first poll after a start is not held: it tells the server at once which version
        // runs and what the agent still knows (an update is confirmed by it, and work whose
        // answer the previous process never read is delivered again straight away).
        var first = true
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let token = try await identity.token()
                let request = PollRequest(
                    waitSec: first ? 0 : waitSeconds, active: try await store.activeIds(),
                    agentVersion: NodeAgentVersion.current)
                let started = ContinuousClock.now
                // Only the held request is cut short on shutdown; an answer that arrived is
                // recorded completely (what was not recorded is delivered again anyway).
                let response = try await cancelWhenGracefulShutdown { [api] in try await api.poll(request, token: token) }
                log.succeeded()
                backoff.reset()
                await onPolled()
                await handle(response)
                // A server that answers at once without new work (pending cancels, or no long-poll
                // support) must not turn this loop into a busy one.
                if !first, response.assignments.isEmpty, ContinuousClock.now - started < .milliseconds(500) {
                    await pause(.seconds(1))
                }
                first = false
            } catch let error as AgentError {
                throw error
            } catch APIError.unauthorized(let message) {
                throw AgentError.identityRejected(message)
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                let delay = backoff.next()
                log.failed(error, retryIn: delay)
                await pause(delay)
            }
        }
    }

    /// Sleeps, but wakes at once for a graceful shutdown.
    private func pause(_ delay: Duration) async {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
    }

    /// Records every assignment (new ones are queued, known ones re-reported, never re-run)
    /// and forwards cancellations.
    func handle(_ response: PollResponse) async {
        for assignment in response.assignments {
            let id = assignment.commandId
            do {
                switch try await store.record(assignment) {
                case .new:
                    logger.info(
                        "assignment received",
                        metadata: ["command_id": "\(id)", "command_type": "\(assignment.commandType.rawValue)"])
                    scheduler.enqueue(id)
                case .known(let invocation):
                    logger.info(
                        "assignment delivered again; not running it twice",
                        metadata: ["command_id": "\(id)", "phase": "\(invocation.phase.rawValue)"])
                    try await store.requestRestatement(id)
                }
                onRecorded()
            } catch {
                // Not recorded means not acknowledged: the lease lapses and it comes again.
                logger.error("could not record assignment", metadata: ["command_id": "\(id)", "error": "\(error)"])
            }
        }
        for id in response.cancel {
            await scheduler.cancel(id)
        }
    }
}
