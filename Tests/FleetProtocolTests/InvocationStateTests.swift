import FleetProtocol
import Testing

/// The invocation lifecycle as one table: every (from, to) pair not listed is refused.
@Suite("Invocation lifecycle")
struct InvocationStateTests {
    static let allowed: [InvocationState: Set<InvocationState>] = [
        .queued: [.delivered, .expired, .cancelled],
        // A lapsed lease is delivered again; a fast command may finish before `running` got through.
        .delivered: [.delivered, .running, .succeeded, .failed, .timedOut, .cancelled, .expired, .lost],
        .running: [.succeeded, .failed, .timedOut, .cancelled, .lost],
    ]

    @Test("the transition table is exactly the lifecycle", arguments: InvocationState.allCases)
    func table(from: InvocationState) {
        for to in InvocationState.allCases {
            let expected = Self.allowed[from, default: []].contains(to)
            #expect(from.canTransition(to: to) == expected, "\(from.rawValue) → \(to.rawValue)")
        }
    }

    @Test("queued may be delivered; a finished invocation never runs again")
    func examples() {
        #expect(InvocationState.queued.canTransition(to: .delivered))
        #expect(InvocationState.delivered.canTransition(to: .running))
        #expect(InvocationState.running.canTransition(to: .succeeded))
        #expect(!InvocationState.succeeded.canTransition(to: .running))
        #expect(!InvocationState.queued.canTransition(to: .running))
        #expect(!InvocationState.running.canTransition(to: .queued))
        #expect(!InvocationState.running.canTransition(to: .expired))
    }

    @Test("every terminal state refuses every move", arguments: InvocationState.allCases.filter(\.isTerminal))
    func terminal(state: InvocationState) {
        for next in InvocationState.allCases {
            #expect(!state.canTransition(to: next), "\(state.rawValue) → \(next.rawValue)")
        }
    }

    @Test("terminal states are the six final ones; agents report only what they can know")
    func terminalSet() {
        #expect(Set(InvocationState.allCases.filter(\.isTerminal)) == [.succeeded, .failed, .timedOut, .cancelled, .expired, .lost])
        #expect(InvocationState.reportableByAgent == [.running, .succeeded, .failed, .timedOut, .cancelled, .lost])
        #expect(!InvocationState.reportableByAgent.contains(.queued))
        #expect(!InvocationState.reportableByAgent.contains(.expired))
    }
}
