import FleetProtocol
import FleetSupport
import FleetTestSupport
import Foundation
import Testing

@testable import NodeAgent

@Suite("WorkPoller", .timeLimit(.minutes(1)))
struct WorkPollerTests {
    struct Harness {
        let directory: TemporaryDirectory
        let store: AgentStore
        let server = FakeAgentService()
        let clock = ManualClock()
        let poller: WorkPoller
        let scheduler: InvocationScheduler

        init() async throws {
            directory = try TemporaryDirectory()
            store = try AgentStore(directory: directory.path, bufferCap: 1 << 30)
            let configuration = Fixtures.configuration(directory.path)
            let api = AgentAPI(transport: server)
            let identity = IdentityManager(api: api, configuration: configuration, logger: Fixtures.logger)
            let executor = InvocationExecutor(
                store: store, runner: RecordingProcessRunner(), configuration: configuration, logger: Fixtures.logger)
            scheduler = InvocationScheduler(store: store, executor: executor, parallelism: 1, logger: Fixtures.logger)
            poller = WorkPoller(
                api: api, identity: identity, store: store, scheduler: scheduler, waitSeconds: 20, logger: Fixtures.logger,
                clock: clock)
        }

        func polls() -> [PollRequest] { server.state.withLock { $0.polls } }
    }

    @Test("the first poll after a start is not held; the next ones are, and list what the agent knows")
    func firstPollNotHeld() async throws {
        // setup: one assignment waits on the server
        let harness = try await Harness()
        defer { harness.directory.remove() }
        let id = harness.server.queue(.runCommand(RunCommandPayload(cmd: "true")))
        let task = Task { try await harness.poller.run() }
        defer { task.cancel() }
        // act: the fake answers empty polls at once, so the poller pauses on its clock
        await harness.clock.waitForSleepers(1)
        // check
        let polls = harness.polls()
        #expect(polls.count == 2)
        #expect(polls.map(\.waitSec) == [0, 20])
        #expect(polls[1].active?.contains(id) == true)
        #expect(try await harness.store.invocation(id) != nil, "recorded before it is acknowledged")
    }

    @Test("an empty answer that came back at once pauses the loop a second instead of spinning")
    func fastEmptyAnswerPauses() async throws {
        let harness = try await Harness()
        defer { harness.directory.remove() }
        let task = Task { try await harness.poller.run() }
        defer { task.cancel() }
        await harness.clock.waitForSleepers(1)
        #expect(harness.polls().count == 2)
        // act: just short of the pause, nothing; at the second, the next poll
        harness.clock.advance(by: .milliseconds(999))
        #expect(harness.polls().count == 2)
        harness.clock.advance(by: .milliseconds(1))
        await harness.clock.waitForSleepers(1)
        // check
        #expect(harness.polls().count == 3)
    }

    @Test("an unreachable server is retried with backoff on the clock")
    func backsOff() async throws {
        let harness = try await Harness()
        defer { harness.directory.remove() }
        harness.server.state.withLock { $0.failures[FleetPaths.poll] = 1 }
        let task = Task { try await harness.poller.run() }
        defer { task.cancel() }
        await harness.clock.waitForSleepers(1)
        #expect(harness.polls().isEmpty, "the failed attempt is not recorded by the fake")
        harness.clock.advance(by: .seconds(30))
        await harness.clock.waitForSleepers(1)
        #expect(harness.polls().map(\.waitSec) == [0, 20])
    }

    @Test("a revoked identity ends the poller with an agent error")
    func revokedEnds() async throws {
        let harness = try await Harness()
        defer { harness.directory.remove() }
        harness.server.state.withLock { $0.revoked = true }
        await #expect(throws: AgentError.self) { try await harness.poller.run() }
    }
}
