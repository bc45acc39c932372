import FleetSupport
import FleetTestSupport
import Testing

@Suite("Wakeup", .timeLimit(.minutes(1)))
struct WakeupTests {
    @Test("a ring wakes the waiting loop before its timeout")
    func ringWakes() async {
        // setup
        let clock = ManualClock()
        let wakeup = Wakeup(clock: clock)
        // act: the timer never fires (the clock does not move), so only the ring can end the wait
        async let waited: Void = wakeup.wait(timeout: .seconds(3600))
        await clock.waitForSleepers(1)
        wakeup.ring()
        // check
        await waited
        #expect(clock.now.offset == .zero)
    }

    @Test("rings while nobody waits collapse into one wake-up")
    func ringsCollapse() async {
        let clock = ManualClock()
        let wakeup = Wakeup(clock: clock)
        wakeup.ring()
        wakeup.ring()
        // the first wait returns at once; the second has no ring left and times out
        await wakeup.wait(timeout: .seconds(5))
        async let second: Void = wakeup.wait(timeout: .seconds(5))
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(5))
        await second
        #expect(clock.now.offset == .seconds(5))
    }

    @Test("the timeout ends a wait nobody rings")
    func timesOut() async {
        let clock = ManualClock()
        let wakeup = Wakeup(clock: clock)
        async let waited: Void = wakeup.wait(timeout: .seconds(2))
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(1))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        await waited
    }

    @Test("cancelling the waiting task ends the wait")
    func cancellation() async {
        let clock = ManualClock()
        let wakeup = Wakeup(clock: clock)
        let task = Task { await wakeup.wait(timeout: .seconds(3600)) }
        await clock.waitForSleepers(1)
        task.cancel()
        await task.value
    }
}
