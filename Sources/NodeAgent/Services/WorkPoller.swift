import FleetProtocol
import FleetSupport
import Foundation
import Logging
import ServiceLifecycle

/// Long-polls agent-svc for work: records each assignment in SQLite before it is acknowledged,
/// hands new ones to the scheduler, routes cancellations, and tells the server which
/// invocations are alive. Backs off exponentially with jitter while the server is unreachable.
public final class WorkPoller: Service {
    let api: AgentAPI
    let identity: IdentityManager
    let store: AgentStore
    let scheduler: InvocationScheduler
    let waitSeconds: Int
    let logger: Logger
    let onRecorded: @Sendable () -> Void
    /// After every answered poll (the server has seen this agent and its version).
    let onPolled: @Sendable () async -> Void
    let clock: any Clock<Duration>
    private let loop: RetryLoop

    public init(
        api: AgentAPI, identity: IdentityManager, store: AgentStore, scheduler: InvocationScheduler, waitSeconds: Int,
        logger: Logger, clock: any Clock<Duration> = ContinuousClock(), onRecorded: @escaping @Sendable () -> Void = {},
        onPolled: @escaping @Sendable () async -> Void = {}
    ) {
        self.api = api
        self.identity = identity
        self.store = store
        self.scheduler = scheduler
        self.waitSeconds = waitSeconds
        self.logger = logger
        self.clock = clock
        self.onRecorded = onRecorded
        self.onPolled = onPolled
        self.loop = RetryLoop("poll", peer: "agent-svc", logger: logger, clock: clock)
    }

    public func run() async throws {
        // The first poll after a start is not held: it tells the server at once which version
        // runs and what the agent still knows (an update is confirmed by it, and work whose
        // answer the previous process never read is delivered again straight away).
        var first = true
        try await loop.run {
            let held = !first
            var response = PollResponse(assignments: [], cancel: [])
            let elapsed = try await clock.measure { response = try await pollOnce(held: held) }
            first = false
            // A server that answers at once without new work (pending cancels, or no long-poll
            // support) must not turn this loop into a busy one.
            if held, response.assignments.isEmpty, elapsed < .milliseconds(500) { return .pause(.seconds(1)) }
            return .more
        }
        if Task.isShuttingDownGracefully { await sayLeaving() }
    }

    /// Tells the server this agent is stopping, so the poll it still holds for us is retired
    /// instead of being handed work nobody will read. Best effort, and never more than two
    /// seconds of the shutdown (a token refresh on the way could otherwise wait on a dead link).
    private func sayLeaving() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                do {
                    let request = PollRequest(
                        waitSec: 0, active: try await store.activeIds(), agentVersion: NodeAgentVersion.current, leaving: true)
                    _ = try await api.poll(request, token: try await identity.token())
                } catch {
                    logger.debug("could not tell agent-svc this agent is leaving", metadata: ["error": "\(error)"])
                }
            }
            group.addTask { [clock] in try? await clock.sleep(for: .seconds(2)) }
            await group.next()
            group.cancelAll()
        }
    }

    /// One poll: asks for work (held `waitSeconds` unless `held` is false) and records the answer.
    func pollOnce(held: Bool) async throws -> PollResponse {
        let token = try await identity.token()
        let request = PollRequest(
            waitSec: held ? waitSeconds : 0, active: try await store.activeIds(), agentVersion: NodeAgentVersion.current)
        // Only the held request is cut short on shutdown; an answer that arrived is recorded
        // completely (what was not recorded is delivered again anyway).
        let response = try await cancelWhenGracefulShutdown { [api] in try await api.poll(request, token: token) }
        await onPolled()
        await handle(response)
        return response
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
