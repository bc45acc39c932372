import FleetSupport
import Logging
import ServiceLifecycle

/// Forgets invocations that finished and were reported long ago, so the agent's store does not
/// grow with every command it ever ran. Their chunks were deleted when the server acknowledged them.
public struct StorePruner: Service {
    /// Finished, reported invocations older than this are deleted.
    public static let retention: Duration = .seconds(7 * 24 * 3600)

    let store: AgentStore
    let logger: Logger
    private let loop: RetryLoop

    /// Prunes once at start and then every `interval`.
    public init(store: AgentStore, logger: Logger, interval: Duration = .seconds(3600), clock: any Clock<Duration> = ContinuousClock()) {
        self.store = store
        self.logger = logger
        self.loop = RetryLoop("prune", peer: "the local store", logger: logger, idleInterval: interval, clock: clock)
    }

    public func run() async throws {
        try await loop.run {
            let removed = try await store.prune(olderThan: Double(Self.retention.components.seconds))
            if removed > 0 { logger.debug("pruned finished invocations", metadata: ["count": "\(removed)"]) }
            return .idle
        }
    }
}

extension StorePruner: CustomStringConvertible {
    public var description: String { "StorePruner" }
}
