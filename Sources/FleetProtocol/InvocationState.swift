/// Where one command stands on one node.
///
/// `queued → delivered → running → succeeded | failed | timed_out | cancelled`, plus `expired`
/// (never picked up before its delivery deadline) and `lost` (the node restarted or vanished
/// mid-run).
public enum InvocationState: String, Codable, Sendable, CaseIterable, Hashable {
    case queued
    case delivered
    case running
    case succeeded
    case failed
    case timedOut = "timed_out"
    case cancelled
    case expired
    case lost

    /// A terminal state never changes again.
    public var isTerminal: Bool {
        switch self {
        case .queued, .delivered, .running: false
        case .succeeded, .failed, .timedOut, .cancelled, .expired, .lost: true
        }
    }

    /// The states an agent may report for its own invocation.
    public static let reportableByAgent: Set<InvocationState> = [
        .running, .succeeded, .failed, .timedOut, .cancelled, .lost,
    ]

    /// Whether the lifecycle allows moving from `self` to `next`.
    ///
    /// Re-reporting the current state is not a transition; callers treat it as idempotent.
    public func canTransition(to next: InvocationState) -> Bool {
        switch (self, next) {
        case (.queued, .delivered), (.queued, .expired), (.queued, .cancelled):
            true
        case (.delivered, .delivered), (.delivered, .running), (.delivered, .expired), (.delivered, .lost):
            true
        case (.delivered, let end) where end.isTerminal:
            // A fast command may finish before its `running` report got through.
            true
        case (.running, .succeeded), (.running, .failed), (.running, .timedOut),
            (.running, .cancelled), (.running, .lost):
            true
        default:
            false
        }
    }
}

/// Per-state invocation counts of one command.
public struct StateCounts: Codable, Sendable, Hashable {
    public var queued = 0
    public var delivered = 0
    public var running = 0
    public var succeeded = 0
    public var failed = 0
    public var timedOut = 0
    public var cancelled = 0
    public var expired = 0
    public var lost = 0

    public init() {}

    /// Adds `count` to the bucket of `state`.
    public mutating func add(_ state: InvocationState, _ count: Int = 1) {
        switch state {
        case .queued: queued += count
        case .delivered: delivered += count
        case .running: running += count
        case .succeeded: succeeded += count
        case .failed: failed += count
        case .timedOut: timedOut += count
        case .cancelled: cancelled += count
        case .expired: expired += count
        case .lost: lost += count
        }
    }

    /// All invocations counted.
    public var total: Int {
        queued + delivered + running + succeeded + failed + timedOut + cancelled + expired + lost
    }

    /// Invocations that have not reached a terminal state.
    public var pending: Int { queued + delivered + running }

    enum CodingKeys: String, CodingKey {
        case queued, delivered, running, succeeded, failed
        case timedOut = "timed_out"
        case cancelled, expired, lost
    }
}
