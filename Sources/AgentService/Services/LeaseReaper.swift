import FleetSupport
import Logging
import ServiceLifecycle

/// Every `interval`, expires undelivered invocations and marks runs on vanished nodes lost.
struct LeaseReaper: Service {
    let queue: CommandQueue
    let lostAfterSeconds: Int
    let loop: RetryLoop
    let logger: Logger

    /// A failing database is retried with jittered backoff from `interval` up to a minute, and
    /// the failure and the recovery are each logged once.
    init(queue: CommandQueue, lostAfterSeconds: Int, interval: Duration, logger: Logger, clock: any Clock<Duration> = ContinuousClock()) {
        self.queue = queue
        self.lostAfterSeconds = lostAfterSeconds
        self.logger = logger
        loop = RetryLoop(
            "reaper", peer: "Postgres", logger: logger, idleInterval: interval,
            backoff: Backoff(base: interval, cap: max(interval, .seconds(60))), clock: clock)
    }

    func run() async throws {
        try await loop.run {
            let changed = try await queue.reap(lostAfterSeconds: lostAfterSeconds)
            if changed > 0 { logger.info("reaped invocations", metadata: ["count": "\(changed)"]) }
            return .idle
        }
    }
}

extension LeaseReaper: CustomStringConvertible {
    var description: String { "LeaseReaper" }
}
