import FleetProtocol
import Testing

/// The lifecycle told as the stories that happen to an invocation, not as a copy of its table.
@Suite("Invocation lifecycle")
struct InvocationStateTests {
    /// Whether every step of `path` is allowed.
    static func allows(_ path: [InvocationState]) -> Bool {
        zip(path, path.dropFirst()).allSatisfy { $0.canTransition(to: $1) }
    }

    @Test(
        "what happens to invocations is allowed",
        arguments: [
            // the usual run, and each way a run ends
            [.queued, .delivered, .running, .succeeded],
            [.queued, .delivered, .running, .failed],
            [.queued, .delivered, .running, .timedOut],
            [.queued, .delivered, .running, .cancelled],
            // the node restarted or vanished mid-run
            [.queued, .delivered, .running, .lost],
            [.queued, .delivered, .lost],
            // a lapsed lease is delivered again
            [.queued, .delivered, .delivered, .running, .succeeded],
            // a fast command finished before its `running` report got through
            [.queued, .delivered, .succeeded],
            [.queued, .delivered, .failed],
            // cancelled or never picked up before the deadline
            [.queued, .cancelled],
            [.queued, .expired],
            [.queued, .delivered, .expired],
            [.queued, .delivered, .cancelled],
        ] as [[InvocationState]])
    func allowedStories(path: [InvocationState]) {
        #expect(Self.allows(path), "\(path.map(\.rawValue))")
    }

    @Test(
        "what must never happen is refused",
        arguments: [
            // nothing runs without being delivered
            [.queued, .running],
            [.queued, .succeeded],
            // nothing goes back to the queue or to delivery once it ran
            [.delivered, .queued],
            [.running, .queued],
            [.running, .delivered],
            // a running command cannot miss its delivery deadline
            [.running, .expired],
            // a finished invocation never runs again
            [.succeeded, .running],
            [.failed, .delivered],
            [.cancelled, .running],
            [.expired, .delivered],
            [.lost, .running],
        ] as [[InvocationState]])
    func refusedMoves(path: [InvocationState]) {
        #expect(!Self.allows(path), "\(path.map(\.rawValue))")
    }

    @Test("a terminal state never changes again, not even to itself", arguments: InvocationState.allCases.filter(\.isTerminal))
    func terminalIsFinal(state: InvocationState) {
        for next in InvocationState.allCases {
            #expect(!state.canTransition(to: next), "\(state.rawValue) → \(next.rawValue)")
        }
    }

    @Test("from the queue every terminal state can be reached, and every non-terminal state can still end")
    func everyStateCanEnd() {
        // explore the lifecycle from `queued`
        var reached: Set<InvocationState> = [.queued]
        var frontier: [InvocationState] = [.queued]
        while let state = frontier.popLast() {
            for next in InvocationState.allCases where state.canTransition(to: next) && reached.insert(next).inserted {
                frontier.append(next)
            }
        }
        #expect(reached == Set(InvocationState.allCases))
        for state in InvocationState.allCases where !state.isTerminal {
            #expect(InvocationState.allCases.contains { $0.isTerminal && state.canTransition(to: $0) }, "\(state.rawValue) is a dead end")
        }
    }

    @Test("an agent reports only what it can know: not queued, delivered or expired")
    func agentReports() {
        #expect(InvocationState.reportableByAgent == [.running, .succeeded, .failed, .timedOut, .cancelled, .lost])
        #expect(Set(InvocationState.allCases.filter(\.isTerminal)) == [.succeeded, .failed, .timedOut, .cancelled, .expired, .lost])
    }
}
