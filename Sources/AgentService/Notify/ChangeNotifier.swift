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
        let stream: AsyncStream<Void>
        let notifier: ChangeNotifier

        /// Waits for a change or the timeout; true when woken by a change. Returns early when the
        /// service shuts down gracefully, so held long-polls do not delay a SIGTERM.
        public func wait(timeout: Duration) async -> Bool {
            await cancelWhenGracefulShutdown { await self.race(timeout: timeout) }
        }

        private func race(timeout: Duration) async -> Bool {
            await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for await _ in stream { return true }
                    return false
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return false
                }
                let woken = await group.next() ?? false
                group.cancelAll()
                return woken
            }
        }

        /// Stops delivery to this subscription.
        public func cancel() async { await notifier.unsubscribe(key: key, id: id) }
    }

    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private var waiters: [String: [UInt64: AsyncStream<Void>.Continuation]] = [:]
    private var nextId: UInt64 = 0
    private(set) var isListening = false

    public init(configuration: PostgresConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Subscribes to `key`; call ``Subscription/cancel()`` when done.
    public func subscribe(_ key: String) -> Subscription {
        nextId &+= 1
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        waiters[key, default: [:]][nextId] = continuation
        return Subscription(key: key, id: nextId, stream: stream, notifier: self)
    }

    /// Number of subscriptions currently held (the connected-pollers gauge reads this).
    public var subscriptionCount: Int { waiters.values.reduce(0) { $0 + $1.count } }

    func unsubscribe(key: String, id: UInt64) {
        waiters[key]?.removeValue(forKey: id)?.finish()
        if waiters[key]?.isEmpty == true { waiters.removeValue(forKey: key) }
    }

    /// Wakes every subscriber of `key`.
    func deliver(_ key: String) {
        logger.trace("change notification", metadata: ["key": "\(key)", "waiters": "\(waiters[key]?.count ?? 0)"])
        guard let subscribers = waiters[key] else { return }
        for continuation in subscribers.values { continuation.yield() }
    }

    /// Wakes everyone: after a reconnect, notifications may have been missed.
    private func wakeAll() {
        for subscribers in waiters.values { for continuation in subscribers.values { continuation.yield() } }
    }

    private func setListening(_ value: Bool) { isListening = value }

    public func run() async throws {
        var backoff = Duration.milliseconds(250)
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
            wakeAll()
            if Task.isCancelledOrShuttingDown { break }
            if hadListened {
                backoff = .milliseconds(250)
                reportedDown = false
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }

    private func listenOnce() async throws {
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.listen(on: CommandQueue.workChannel) { work in
            try await connection.listen(on: CommandQueue.logsChannel) { logs in
                self.setListening(true)
                self.wakeAll()
                self.logger.debug("listening for changes")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await note in work { await self.deliver("work:\(note.payload)") }
                    }
                    group.addTask {
                        for try await note in logs { await self.deliver("logs:\(note.payload)") }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
