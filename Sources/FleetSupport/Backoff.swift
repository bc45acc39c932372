/// Exponential backoff with full jitter: the n-th delay is random in [base·2ⁿ/2, base·2ⁿ], capped.
public struct Backoff: Sendable {
    let base: Duration
    let cap: Duration
    private var attempt = 0
    private var random: @Sendable (ClosedRange<Double>) -> Double

    public init(
        base: Duration = .milliseconds(500), cap: Duration = .seconds(30),
        random: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) {
        self.base = base
        self.cap = cap
        self.random = random
    }

    /// The delay before the next attempt; each call doubles the ceiling up to `cap`.
    public mutating func next() -> Duration {
        let ceiling = min(base * (1 << min(attempt, 20)), cap)
        attempt += 1
        let factor = random(0.5...1.0)
        return ceiling * factor
    }

    /// Back to the shortest delay after a success.
    public mutating func reset() { attempt = 0 }
}
