import FleetProtocol
import FleetSupport
import FleetTestSupport
import Foundation
import Synchronization
import Testing

@testable import NodeAgent

@Suite("StatusReporter", .timeLimit(.minutes(1)))
struct StatusReporterTests {
    struct Harness {
        let directory: TemporaryDirectory
        let store: AgentStore
        let server = FakeAgentService()
        let clock = ManualClock()
        let reporter: StatusReporter
        let cancelled = CancelLog()
        let id = UUID()

        init() async throws {
            directory = try TemporaryDirectory()
            store = try AgentStore(directory: directory.path, bufferCap: 1 << 30)
            let api = AgentAPI(transport: server)
            let identity = IdentityManager(api: api, configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger)
            reporter = StatusReporter(
                api: api, identity: identity, store: store, wakeup: Wakeup(clock: clock), flushTimeout: .seconds(1),
                logger: Fixtures.logger, clock: clock, onCancelRequested: { [cancelled] in cancelled.add($0) })
            _ = try await store.record(Fixtures.assignment("true", id: id))
        }

        func states() -> [InvocationState] { server.statuses(id).map(\.state) }
    }

    final class CancelLog: Sendable {
        let ids = Mutex<[UUID]>([])
        func add(_ id: UUID) { ids.withLock { $0.append(id) } }
        var all: [UUID] { ids.withLock { $0 } }
    }

    @Test("running is reported once; the final state waits for every chunk to be acknowledged")
    func finalWaitsForChunks() async throws {
        // setup: started
        let harness = try await Harness()
        defer { harness.directory.remove() }
        _ = try await harness.store.markStarted(harness.id)
        // act
        try await harness.reporter.reportPending()
        // check: `running` went out once
        #expect(harness.states() == [.running])
        // act: it printed one chunk and finished; the chunk is not acknowledged yet
        try await harness.store.appendChunk(harness.id, stream: .stdout, offset: 0, bytes: Data("hi\n".utf8))
        _ = try await harness.store.finish(harness.id, outcome: FinalOutcome(state: .succeeded, exitCode: 0))
        try await harness.reporter.reportPending()
        try await harness.reporter.reportPending()
        // check: nothing more until the output is delivered
        #expect(harness.states() == [.running])
        // act: the chunk is acknowledged
        try await harness.store.deleteChunks(harness.id, acknowledged: [(stream: .stdout, offset: 0)])
        try await harness.reporter.reportPending()
        // check: the final state with the byte totals, and nothing is due any more
        let final = try #require(harness.server.finalStatus(harness.id))
        #expect(final.state == .succeeded && final.exitCode == 0 && final.stdoutBytes == 3)
        #expect(try await harness.store.pendingReports().isEmpty)
    }

    @Test("a report the server refuses for good is given up, and a refused `running` stops the process")
    func refusedIsGivenUp() async throws {
        let harness = try await Harness()
        defer { harness.directory.remove() }
        _ = try await harness.store.markStarted(harness.id)
        harness.server.state.withLock { $0.refusals[FleetPaths.status] = 404 }
        // act
        try await harness.reporter.reportPending()
        // check: not sent again, and the scheduler is told to stop it
        #expect(try await harness.store.pendingReports().isEmpty)
        #expect(harness.cancelled.all == [harness.id])
    }

    @Test("while the server is down the reporter backs off on its clock, then delivers")
    func retriesOnTheClock() async throws {
        let harness = try await Harness()
        defer { harness.directory.remove() }
        _ = try await harness.store.markStarted(harness.id)
        harness.server.state.withLock { $0.failures[FleetPaths.status] = 2 }
        let task = Task { try await harness.reporter.run() }
        defer { task.cancel() }
        // act: two failed attempts, each followed by a backoff sleep on the manual clock
        for _ in 0..<2 {
            await harness.clock.waitForSleepers(1)
            #expect(harness.states().isEmpty)
            harness.clock.advance(by: .seconds(30))
        }
        // check
        #expect(await Fixtures.eventually { harness.states() == [.running] })
    }

    @Test("a revoked identity ends the reporter with an agent error")
    func revokedEnds() async throws {
        let harness = try await Harness()
        defer { harness.directory.remove() }
        _ = try await harness.store.markStarted(harness.id)
        harness.server.state.withLock { $0.revoked = true }
        await #expect(throws: AgentError.self) { try await harness.reporter.run() }
    }
}
