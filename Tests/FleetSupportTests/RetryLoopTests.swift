import FleetSupport
import FleetTestSupport
import Logging
import Synchronization
import Testing

@Suite("RetryLoop", .timeLimit(.minutes(1)))
struct RetryLoopTests {
    struct Flaky: Error {}
    struct Refused: ClassifiedError {
        var disposition: FailureDisposition { .giveUp }
    }
    struct Fatal: ClassifiedError, Equatable {
        var disposition: FailureDisposition { .fatal(Ended()) }
    }
    struct Ended: Error, Equatable {}

    /// Records what the loop's rounds saw; the loop runs in a child task.
    final class Rounds: Sendable {
        let log = Mutex<[String]>([])
        func add(_ entry: String) { log.withLock { $0.append(entry) } }
        var entries: [String] { log.withLock { $0 } }
    }

    static let logger = Logger(label: "retry-loop-test")

    @Test("a failure that may pass backs off with growing delays, then the loop goes on")
    func backsOff() async throws {
        // setup: rounds fail twice, then succeed and go idle
        let clock = ManualClock()
        let rounds = Rounds()
        let loop = RetryLoop(
            "test", peer: "peer", logger: Self.logger, idleInterval: .seconds(60),
            backoff: Backoff(base: .seconds(1), cap: .seconds(8), random: { $0.upperBound }), clock: clock)
        let task = Task {
            try await loop.run {
                rounds.add("round at \(clock.now.offset)")
                if rounds.entries.count <= 2 { throw Flaky() }
                return .idle
            }
        }
        // act: let each wait run out
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(1))
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(2))
        await clock.waitForSleepers(1)
        // check: 1 s, then 2 s later, then idle
        #expect(rounds.entries == ["round at 0.0 seconds", "round at 1.0 seconds", "round at 3.0 seconds"])
        task.cancel()
        try await task.value
    }

    @Test("a round with more work runs the next one at once; a ring ends an idle wait")
    func moreAndRing() async throws {
        let clock = ManualClock()
        let wakeup = Wakeup(clock: clock)
        let rounds = Rounds()
        let loop = RetryLoop("test", peer: "peer", logger: Self.logger, idleInterval: .seconds(60), wakeup: wakeup, clock: clock)
        let task = Task {
            try await loop.run {
                rounds.add("r")
                return rounds.entries.count < 3 ? .more : .idle
            }
        }
        await clock.waitForSleepers(1)
        #expect(rounds.entries.count == 3)
        wakeup.ring()
        while rounds.entries.count < 4 { await Task.yield() }
        #expect(clock.now.offset == .zero)
        task.cancel()
        try await task.value
    }

    @Test("a fatal failure ends the loop with the error it carries")
    func fatalEnds() async {
        let loop = RetryLoop("test", peer: "peer", logger: Self.logger, clock: ManualClock())
        await #expect(throws: Ended.self) {
            try await loop.run { throw Fatal() }
        }
    }

    @Test("retrying returns the first success and throws what is given up")
    func retrying() async throws {
        let clock = ManualClock()
        let loop = RetryLoop(
            "test", peer: "peer", logger: Self.logger, backoff: Backoff(base: .seconds(1), random: { $0.upperBound }),
            clock: clock)
        let attempts = Rounds()
        let task = Task {
            try await loop.retrying { () async throws -> Int in
                attempts.add("a")
                if attempts.entries.count < 2 { throw Flaky() }
                return 42
            }
        }
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(1))
        #expect(try await task.value == 42)
        await #expect(throws: Refused.self) {
            try await loop.retrying { () async throws -> Int in throw Refused() }
        }
    }

    @Test("the drain repeats while rounds progress and stops at the deadline or a failure")
    func drain() async {
        let clock = ManualClock()
        let loop = RetryLoop("test", peer: "peer", logger: Self.logger, clock: clock)
        let rounds = Rounds()
        // progress three times, then nothing left
        let clean = await loop.drain(within: .seconds(10)) {
            rounds.add("d")
            return rounds.entries.count < 3
        }
        #expect(clean == nil)
        #expect(rounds.entries.count == 3)
        // a failure ends it and is handed back
        let failure = await loop.drain(within: .seconds(10)) { throw Flaky() }
        #expect(failure is Flaky)
        // time running out ends it too
        let late = await loop.drain(within: .seconds(1)) {
            clock.advance(by: .seconds(2))
            return true
        }
        #expect(late == nil)
    }
}
