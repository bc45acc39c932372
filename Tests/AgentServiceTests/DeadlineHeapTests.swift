import Testing

@testable import AgentService

@Suite("Deadline heap")
struct DeadlineHeapTests {
    @Test func popsExactlyTheExpiredEntriesEarliestFirst() {
        // setup: 1,000 deadlines in random order around a fixed "now"
        let now = ContinuousClock.now
        var heap = DeadlineHeap<ContinuousClock.Instant>()
        let offsets = (0..<1000).map { _ in Int.random(in: -500...500) }
        for (index, offset) in offsets.enumerated() {
            heap.push(.init(deadline: now + .milliseconds(offset), key: "k\(index % 7)", id: UInt64(index)))
        }
        // act
        var popped: [ContinuousClock.Instant] = []
        while let entry = heap.popExpired(now: now) { popped.append(entry.deadline) }
        // check
        #expect(popped.count == offsets.filter { $0 <= 0 }.count)
        #expect(popped == popped.sorted())
        #expect(heap.count == offsets.filter { $0 > 0 }.count)
        #expect(heap.popExpired(now: now) == nil)
        var rest: [ContinuousClock.Instant] = []
        while let entry = heap.popExpired(now: now + .seconds(1)) { rest.append(entry.deadline) }
        #expect(rest.count == offsets.filter { $0 > 0 }.count && rest == rest.sorted())
    }
}
