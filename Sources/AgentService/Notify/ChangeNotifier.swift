import FleetSupport
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Wakes waiting long-polls when Postgres says something changed.
///
/// One dedicated connection LISTENs on the work and log channels for the whole process;
/// waiters subscribe to a key (`work:<node id>`, `logs:<command id>`) in memory. Because the
/// NOTIFY travels through Postgres, a submit on one replica wakes a poll held by another.
public actor ChangeNotifier: Service {
    /// A registration made before the query it guards, so a change in between is not missed.
    public struct Subscription: Sendable {
        let key: String
        let id: UInt64
        let notifier: ChangeNotifier

        /// Waits for a change or the timeout; true when woken by a change. Returns early when the
        /// request is cancelled or the service shuts down gracefully, so held long-polls never
        /// delay a SIGTERM.
        ///
        /// No task or timer per wait: the waiter parks a continuation and one ticker in the
        /// notifier resumes expired ones, which is what keeps 10,000 held polls cheap.
        public func wait(timeout: Duration) async -> Bool {
            let release = { @Sendable in
                Task { await notifier.resume(key: key, id: id, woken: false) }
                return
            }
            return await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    await notifier.park(key: key, id: id, timeout: timeout)
                } onCancel: {
                    release()
                }
            } onGracefulShutdown: {
                release()
            }
        }

        /// Stops delivery to this subscription.
        public func cancel() async { await notifier.unsubscribe(key: key, id: id) }
    }

    /// One subscriber: a change that arrives while it is not parked is remembered.
    struct Waiter {
        var continuation: CheckedContinuation<Bool, Never>?
        var deadline: Duration = .zero
        var changed = false
    }

    /// How often expired waits are resumed; long-poll timeouts are this coarse.
    static let tick: Duration = .milliseconds(200)

    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let clock: any Clock<Duration>
    private let readClock: @Sendable () -> Duration
    private var waiters: [String: [UInt64: Waiter]] = [:]
    /// Waits parked now (tests wait for a poll to be held before they act).
    private(set) var parked = 0
    private var deadlines = DeadlineHeap<Duration>()
    private var nextId: UInt64 = 0
    private(set) var isListening = false
    /// Who else hears what the listener hears (the operator-token revocation cache).
    nonisolated let events = ListenerEvents()

    /// A notifier listening with `configuration`, timing waits and reconnects on `clock`.
    public init(
        configuration: PostgresConnection.Configuration, logger: Logger, clock: some Clock<Duration> = ContinuousClock()
    ) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        // Deadlines are kept as time since this origin, so the actor need not be generic over its clock.
        let origin = clock.now
        readClock = { origin.duration(to: clock.now) }
    }

    /// The notifier's clock: time since the notifier was made.
    nonisolated var now: Duration { readClock() }

    /// Subscribes to `key`; call ``Subscription/cancel()`` when done.
    public func subscribe(_ key: String) -> Subscription {
        nextId &+= 1
        waiters[key, default: [:]][nextId] = Waiter()
        return Subscription(key: key, id: nextId, notifier: self)
    }

    func park(key: String, id: UInt64, timeout: Duration) async -> Bool {
        let deadline = now + timeout
        guard var waiter = waiters[key]?[id], !Task.isCancelled, !Task.isShuttingDownGracefully else { return false }
        if waiter.changed {
            waiters[key]?[id]?.changed = false
            return true
        }
        return await withCheckedContinuation { continuation in
            waiter.continuation = continuation
            waiter.deadline = deadline
            waiters[key]?[id] = waiter
            deadlines.push(.init(deadline: deadline, key: key, id: id))
            parked += 1
        }
    }

    /// Resumes a parked waiter (or marks it changed when `woken` and it is not parked).
    func resume(key: String, id: UInt64, woken: Bool) {
        guard var waiter = waiters[key]?[id] else { return }
        if let continuation = waiter.continuation {
            waiter.continuation = nil
            waiter.changed = false
            parked -= 1
            waiters[key]?[id] = waiter
            continuation.resume(returning: woken)
        } else if woken {
            waiters[key]?[id]?.changed = true
        }
    }

    func unsubscribe(key: String, id: UInt64) {
        resume(key: key, id: id, woken: false)
        waiters[key]?.removeValue(forKey: id)
        if waiters[key]?.isEmpty == true { waiters.removeValue(forKey: key) }
    }

    /// How many subscriptions `key` has (a poll that answered has cancelled its own).
    func subscribers(of key: String) -> Int { waiters[key]?.count ?? 0 }

    /// Wakes every subscriber of `key`.
    func deliver(_ key: String) {
        logger.trace("change notification", metadata: ["key": "\(key)", "waiters": "\(waiters[key]?.count ?? 0)"])
        guard let ids = waiters[key]?.keys else { return }
        for id in Array(ids) { resume(key: key, id: id, woken: true) }
    }

    /// Wakes everyone: after a reconnect, notifications may have been missed.
    private func wakeAll() {
        for (key, subscribers) in waiters { for id in Array(subscribers.keys) { resume(key: key, id: id, woken: true) } }
    }

    /// Resumes waits whose deadline passed.
    private func expire(now: Duration) {
        while let entry = deadlines.popExpired(now: now) {
            // A wait that already ended (woken, cancelled) or parked again with a later deadline
            // left this entry behind: skip it.
            guard let waiter = waiters[entry.key]?[entry.id], waiter.continuation != nil, waiter.deadline <= now else { continue }
            resume(key: entry.key, id: entry.id, woken: false)
        }
    }

    /// Resumes everything parked and refuses new waits: the process is stopping.
    private func releaseAll() {
        for (key, subscribers) in waiters { for id in Array(subscribers.keys) { resume(key: key, id: id, woken: false) } }
    }

    private func setListening(_ value: Bool) { isListening = value }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listenLoop() }
            group.addTask {
                // A shutdown cancels the ticker's sleep: on a test clock nothing else would end it.
                try? await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        try await self.clock.sleep(for: Self.tick)
                        await self.expire(now: self.now)
                    }
                }
            }
            await group.waitForAll()
        }
        releaseAll()
    }

    /// Keeps one LISTEN connection up, reconnecting with jittered backoff. Not a `RetryLoop`: a
    /// round here lasts as long as the connection, so its health log would say "connected" when
    /// the connection ends.
    private func listenLoop() async {
        var backoff = Backoff(base: .milliseconds(250), cap: .seconds(5))
        var reportedDown = false
        while !Task.isCancelledOrShuttingDown {
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.listenOnce()
                }
            } catch {
                if !Task.isCancelledOrShuttingDown, !reportedDown {
                    logger.warning("change listener lost its connection; polls fall back to timeouts", metadata: ["error": "\(error)"])
                    reportedDown = true
                }
            }
            let hadListened = isListening
            setListening(false)
            await events.emit(.disconnected)
            wakeAll()
            if Task.isCancelledOrShuttingDown { break }
            if hadListened {
                backoff.reset()
                reportedDown = false
            }
            let delay = backoff.next()
            try? await cancelWhenGracefulShutdown { [clock] in try await clock.sleep(for: delay) }
        }
    }

    private func listenOnce() async throws {
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.listen(on: CommandQueue.workChannel) { work in
            try await connection.listen(on: CommandQueue.logsChannel) { logs in
                try await connection.listen(on: OperatorTokenStore.channel) { tokens in
                    self.setListening(true)
                    await self.events.emit(.connected)
                    self.wakeAll()
                    self.logger.debug("listening for changes")
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for try await note in work { await self.deliver("work:\(note.payload)") }
                        }
                        group.addTask {
                            for try await note in logs { await self.deliver(Self.logsKey(payload: note.payload)) }
                        }
                        group.addTask {
                            for try await _ in tokens { await self.events.emit(.operatorTokensChanged) }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
            }
        }
    }
}

extension ChangeNotifier {
    /// The waiters' key for a `fleet_logs` payload. Statements send a command id as Postgres
    /// prints it (`command_id::text`, lower case) or as Swift does (`uuidString`, upper case);
    /// waiters subscribe with `logs:` + `uuidString`, so the id is read, not compared as text.
    static func logsKey(payload: String) -> String {
        "logs:" + (UUID(uuidString: payload)?.uuidString ?? payload)
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
