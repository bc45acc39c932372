import FleetSupport
import Testing

@Suite("Backoff")
struct BackoffTests {
    @Test("delays double up to the cap, each in the upper half of its ceiling")
    func doublesAndCaps() {
        // setup: the jitter always picks the low end, then the high end
        var low = Backoff(base: .milliseconds(100), cap: .seconds(1), random: { $0.lowerBound })
        var high = Backoff(base: .milliseconds(100), cap: .seconds(1), random: { $0.upperBound })
        // act
        let lows = (0..<6).map { _ in low.next() }
        let highs = (0..<6).map { _ in high.next() }
        // check
        #expect(highs == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        #expect(lows == highs.map { $0 / 2 })
    }

    @Test("a reset starts again from the base delay")
    func resets() {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(10), random: { $0.upperBound })
        _ = backoff.next()
        _ = backoff.next()
        backoff.reset()
        #expect(backoff.next() == .milliseconds(100))
    }

    @Test("real jitter stays within [ceiling/2, ceiling]")
    func jitterBounds() {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(30))
        for attempt in 0..<12 {
            let ceiling = min(Duration.milliseconds(100) * (1 << attempt), .seconds(30))
            let delay = backoff.next()
            #expect(delay >= ceiling / 2 && delay <= ceiling, "attempt \(attempt): \(delay)")
        }
    }
}
