import FleetSupport
import Logging
import ServiceLifecycle

/// Keeps the database from growing without end: drops output past `outputDays` and whole
/// commands past `historyDays`, a bounded batch per round. Rounds follow each other at once
/// while there is something to drop (a backlog drains at disk speed, one short statement at a
/// time, so live ingest waits for one batch at most) and then rest for `interval`.
struct RetentionSweeper: Service {
    let store: RetentionStore
    let outputDays: Int
    let historyDays: Int
    /// Chunks (or commands) per statement: ~128 MB of 64 KiB chunks at most.
    let batch: Int
    let loop: RetryLoop
    let logger: Logger

    init(
        store: RetentionStore, outputDays: Int, historyDays: Int, batch: Int = 2000, interval: Duration = .seconds(60),
        logger: Logger, clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.store = store
        self.outputDays = outputDays
        self.historyDays = historyDays
        self.batch = batch
        self.logger = logger
        loop = RetryLoop(
            "retention", peer: "Postgres", logger: logger, idleInterval: interval,
            backoff: Backoff(base: .seconds(5), cap: max(interval, .seconds(60))), clock: clock)
    }

    func run() async throws {
        try await loop.run {
            try await sweepOnce() ? .more : .idle
        }
    }

    /// One batch of each kind; true when anything was dropped (so another round follows).
    func sweepOnce() async throws -> Bool {
        let output = try await store.dropOutput(olderThanDays: outputDays, batch: batch)
        // History goes in smaller steps: one command may own 10,000 invocations.
        let commands = try await store.dropHistory(olderThanDays: historyDays, batch: max(1, batch / 200))
        if output.chunks > 0 || commands > 0 {
            logger.debug(
                "retention dropped",
                metadata: ["chunks": "\(output.chunks)", "invocations": "\(output.invocations)", "commands": "\(commands)"])
        }
        return output.chunks > 0 || output.invocations > 0 || commands > 0
    }
}

extension RetentionSweeper: CustomStringConvertible {
    var description: String { "RetentionSweeper" }
}
