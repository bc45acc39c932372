import FleetProtocol
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs recorded invocations, at most `parallelism` at once, and routes cancellations to them.
///
/// On graceful shutdown it starts nothing new (what has not started stays `received` in SQLite
/// and runs after the restart), stops every running process group and waits for them.
public final class InvocationScheduler: Service {
    private struct State {
        var stops: [UUID: StopSignal] = [:]
        var shuttingDown = false
    }

    let store: AgentStore
    let executor: InvocationExecutor
    let parallelism: Int
    let logger: Logger
    private let queue: AsyncStream<UUID>
    private let queueInput: AsyncStream<UUID>.Continuation
    private let state = Mutex(State())

    public init(store: AgentStore, executor: InvocationExecutor, parallelism: Int, logger: Logger) {
        self.store = store
        self.executor = executor
        self.parallelism = parallelism
        self.logger = logger
        (queue, queueInput) = AsyncStream.makeStream(of: UUID.self)
    }

    /// Queues a recorded invocation; ids that are not `received` any more are skipped when dequeued.
    public func enqueue(_ commandId: UUID) {
        queueInput.yield(commandId)
    }

    /// Stops a running invocation (→ `cancelled`), or finishes a queued one without running it.
    public func cancel(_ commandId: UUID) async {
        do {
            try await store.markCancelRequested(commandId)
            if let stop = state.withLock({ $0.stops[commandId] }) {
                logger.info("cancelling running invocation", metadata: ["command_id": "\(commandId)"])
                stop.request(.cancelled)
                return
            }
            if try await store.finishIfNotStarted(
                commandId, outcome: FinalOutcome(state: .cancelled, reason: "cancelled before it started"))
            {
                logger.info("cancelled queued invocation", metadata: ["command_id": "\(commandId)"])
                executor.onProgress()
            }
        } catch {
            logger.error("could not record cancellation", metadata: ["command_id": "\(commandId)", "error": "\(error)"])
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                for await id in queue {
                    if running >= parallelism {
                        await group.next()
                        running -= 1
                    }
                    guard let (invocation, stop) = await prepare(id) else { continue }
                    running += 1
                    group.addTask { await self.execute(invocation, stop: stop) }
                }
            }
        } onGracefulShutdown: {
            self.shutDown()
        }
    }

    /// The invocation and a registered stop signal, or nil when it must not start.
    private func prepare(_ id: UUID) async -> (LocalInvocation, StopSignal)? {
        let invocation: LocalInvocation?
        do {
            invocation = try await store.invocation(id)
        } catch {
            logger.error("could not read invocation", metadata: ["command_id": "\(id)", "error": "\(error)"])
            return nil
        }
        guard let invocation, invocation.phase == .received else { return nil }
        let stop = StopSignal()
        let registered = state.withLock { state -> Bool in
            guard !state.shuttingDown, state.stops[id] == nil else { return false }
            state.stops[id] = stop
            return true
        }
        guard registered else { return nil }
        if invocation.cancelRequested { stop.request(.cancelled) }
        return (invocation, stop)
    }

    private func execute(_ invocation: LocalInvocation, stop: StopSignal) async {
        defer { _ = state.withLock { $0.stops.removeValue(forKey: invocation.commandId) } }
        do {
            try await executor.execute(invocation, stop: stop)
        } catch {
            logger.error("invocation failed in the agent", metadata: ["command_id": "\(invocation.commandId)", "error": "\(error)"])
        }
    }

    private func shutDown() {
        let stops = state.withLock { state -> [StopSignal] in
            state.shuttingDown = true
            return Array(state.stops.values)
        }
        queueInput.finish()
        // Output still in the pipes must be drained after the kill even if the uploader is gone.
        store.budget.bypass()
        for stop in stops { stop.request(.shutdown) }
        if !stops.isEmpty { logger.notice("stopping running invocations", metadata: ["count": "\(stops.count)"]) }
    }
}
