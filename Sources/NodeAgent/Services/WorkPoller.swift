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
    /// Records an assignment in the store (a seam: tests make it fail).
    let record: @Sendable (Assignment) async throws -> RecordResult
    let unrecorded: UnrecordedAssignments
    private let loop: RetryLoop

    /// `wakeup` ends a backoff early (the link came back). `unrecordedGiveUp`: how long an assignment that cannot be recorded (full state dir) is
    /// kept listed as active before it is reported `failed`.
    public init(
        api: AgentAPI, identity: IdentityManager, store: AgentStore, scheduler: InvocationScheduler, waitSeconds: Int,
        logger: Logger, clock: any Clock<Duration> = ContinuousClock(), retryBackoff: Backoff = Backoff(), wakeup: Wakeup? = nil,
        unrecordedGiveUp: Duration = .seconds(120), onRecorded: @escaping @Sendable () -> Void = {},
        onPolled: @escaping @Sendable () async -> Void = {},
        record: (@Sendable (Assignment) async throws -> RecordResult)? = nil
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
        self.record = record ?? { [store] in try await store.record($0) }
        self.unrecorded = UnrecordedAssignments(giveUpAfter: unrecordedGiveUp)
        self.loop = RetryLoop("poll", peer: "agent-svc", logger: logger, backoff: retryBackoff, wakeup: wakeup, clock: clock)
    }

    public func run() async throws {
        // The first poll after a start is not held: it tells the server at once which version
        // runs and what the agent still knows (an update is confirmed by it, and work whose
        // answer the previous process never read is delivered again straight away).
        var first = true
        try await loop.run {
            let held = !first
            var response = PollResponse(assignments: [], cancel: [])
            var unrecordable = 0
            let elapsed = try await clock.measure { (response, unrecordable) = try await pollOnce(held: held) }
            first = false
            // Work that could not be recorded is listed as active and so not delivered again;
            // should a server deliver it anyway, do not spin on it.
            if unrecordable > 0, unrecordable == response.assignments.count { return .pause(.seconds(1)) }
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

    /// One poll: asks for work (held `waitSeconds` unless `held` is false) and records the answer;
    /// returns it with how many of its assignments could not be recorded.
    func pollOnce(held: Bool) async throws -> (PollResponse, unrecordable: Int) {
        let token = try await identity.token()
        await recordUnrecorded(token: token)
        let request = PollRequest(
            waitSec: held ? waitSeconds : 0, active: try await activeIds(), agentVersion: NodeAgentVersion.current)
        // Only the held request is cut short on shutdown; an answer that arrived is recorded
        // completely (what was not recorded is delivered again anyway).
        let response = try await cancelWhenGracefulShutdown { [api] in try await api.poll(request, token: token) }
        await onPolled()
        return (response, await handle(response))
    }

    /// What the store knows is alive, plus what it could not record yet.
    func activeIds() async throws -> [UUID] {
        let known = try await store.activeIds()
        let waiting = unrecorded.ids.filter { !known.contains($0) }
        return known + waiting
    }

    /// Records every assignment (new ones are queued, known ones re-reported, never re-run)
    /// and forwards cancellations; returns how many could not be recorded.
    @discardableResult
    func handle(_ response: PollResponse) async -> Int {
        var unrecordable = 0
        for assignment in response.assignments {
            if await !recordAndQueue(assignment) { unrecordable += 1 }
        }
        for id in response.cancel {
            if unrecorded.contains(id) { unrecorded.remove(id) }
            await scheduler.cancel(id)
        }
        return unrecordable
    }

    /// Records one assignment and acts on it; false when it could not be recorded (it is then
    /// kept in ``unrecorded`` and listed as active until it is).
    private func recordAndQueue(_ assignment: Assignment) async -> Bool {
        let id = assignment.commandId
        do {
            switch try await record(assignment) {
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
            unrecorded.remove(id)
            onRecorded()
            return true
        } catch {
            if unrecorded.failed(assignment, error: "\(error)") {
                logger.error(
                    "could not record assignment; listing it as active so it is not delivered again, and retrying",
                    metadata: ["command_id": "\(id)", "error": "\(error)"])
            }
            return false
        }
    }

    /// Tries again to record what could not be recorded; what has waited too long is reported
    /// `failed` with the reason (the server then stops expecting it).
    func recordUnrecorded(token: String) async {
        for (entry, overdue) in unrecorded.pending() {
            let id = entry.assignment.commandId
            if await recordAndQueue(entry.assignment) {
                logger.notice("recorded an assignment that had to wait for the store", metadata: ["command_id": "\(id)"])
                continue
            }
            guard overdue else { continue }
            let free = store.freeBytes().map { "state dir full (\($0) bytes free)" } ?? "state dir unusable"
            let reason = "\(free): node-agent could not record the command (\(entry.error))"
            do {
                _ = try await api.report(
                    StatusReport(commandId: id, state: .failed, reason: String(reason.prefix(2000)), stdoutBytes: 0, stderrBytes: 0),
                    token: token)
                unrecorded.remove(id)
                logger.error("reported an assignment that could not be recorded as failed", metadata: ["command_id": "\(id)", "reason": "\(reason)"])
            } catch {
                // Refused for good (it was cancelled, say): nothing more to tell. Otherwise try next poll.
                if case .giveUp = error.disposition { unrecorded.remove(id) }
            }
        }
    }
}
