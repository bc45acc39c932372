import Logging
import ServiceLifecycle

/// Periodically expires undelivered invocations and marks runs on vanished nodes lost.
struct LeaseReaper: Service {
    let queue: CommandQueue
    let lostAfterSeconds: Int
    let interval: Duration
    let logger: Logger

    func run() async throws {
        var failing = false
        while !Task.isCancelledOrShuttingDown {
            do {
                let changed = try await queue.reap(lostAfterSeconds: lostAfterSeconds)
                if changed > 0 { logger.info("reaped invocations", metadata: ["count": "\(changed)"]) }
                if failing { logger.info("reaper recovered") }
                failing = false
            } catch {
                if !failing { logger.warning("reaper failed; will retry", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

extension LeaseReaper: CustomStringConvertible {
    var description: String { "LeaseReaper" }
}
