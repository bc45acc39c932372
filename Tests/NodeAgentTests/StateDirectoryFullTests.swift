import FleetProtocol
import FleetSupport
import FleetTestSupport
import Foundation
import GRDB
import Synchronization
import Testing

@testable import NodeAgent

/// A disk whose free bytes the test sets.
final class FakeDisk: Sendable {
    let free: Mutex<Int64>

    init(free: Int64) { self.free = Mutex(free) }

    func set(_ bytes: Int64) { free.withLock { $0 = bytes } }

    var probe: @Sendable (String) -> Int64? { { [self] _ in free.withLock { $0 } } }
}

@Suite("A full state dir is back-pressure", .timeLimit(.minutes(1)))
struct StateDirectoryFullTests {
    @Test("the effective cap is min(cap, free space − reserve), re-checked on every look")
    func effectiveCap() {
        // setup
        let disk = FakeDisk(free: 1000)
        let budget = BufferBudget(cap: 500, reserve: 100, space: { disk.probe("") })
        // check: the configured cap binds while the disk has room
        #expect(budget.room() == .available)
        budget.add(500)
        #expect(budget.room() == .capReached)
        budget.remove(400)
        #expect(budget.room() == .available)
        // act: the disk fills from outside, then empties again
        disk.set(100)
        #expect(budget.room() == .diskFull(freeBytes: 100))
        disk.set(101)
        #expect(budget.room() == .available)
    }

    @Test("a reader held by a full disk goes on once space comes back from outside, without a delete")
    func spaceReturnsFromOutside() async {
        // setup
        let disk = FakeDisk(free: 10)
        let clock = ManualClock()
        let budget = BufferBudget(cap: 1 << 20, reserve: 100, space: { disk.probe("") }, recheckInterval: .seconds(1), clock: clock)
        let released = Mutex(false)
        let reader = Task {
            await budget.waitForRoom()
            released.withLock { $0 = true }
        }
        // act: still full at the first re-check; room at the second
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(1))
        await clock.waitForSleepers(1)
        #expect(!released.withLock { $0 })
        disk.set(1000)
        clock.advance(by: .seconds(1))
        await reader.value
        // check
        #expect(released.withLock { $0 })
    }

    @Test("output larger than the disk pauses the process and completes byte-exact when space returns")
    func pausesThenCompletes() async throws {
        // setup: the disk has no room beyond the reserve
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let disk = FakeDisk(free: 0)
        let store = try AgentStore(
            directory: directory.path, bufferCap: 64 << 20, freeSpace: disk.probe, recheckInterval: .milliseconds(20))
        let executor = InvocationExecutor(
            store: store, runner: SubprocessRunner(), configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("head -c 1000000 /dev/zero", id: id, timeout: 30))
        // act: space comes back once the process is held
        let run = Task { try await executor.execute(try #require(try await store.invocation(id)), stop: StopSignal()) }
        #expect(await Fixtures.eventually { store.budget.used > 0 })
        try await Task.sleep(for: .milliseconds(200))
        let heldAt = store.budget.used
        #expect(heldAt < 1_000_000, "the reader stopped while the disk was full")
        disk.set(1 << 30)
        let outcome = try await run.value
        // check
        #expect(outcome == FinalOutcome(state: .succeeded, exitCode: 0))
        let chunks = try await store.pendingChunks(id, maxChunks: .max, maxBytes: .max)
        #expect(chunks.reduce(0) { $0 + $1.bytes.count } == 1_000_000)
        #expect(chunks.allSatisfy { $0.bytes.allSatisfy { $0 == 0 } })
    }

    @Test("space that never returns: the timeout stops the process; failed, 'state dir full', what was stored kept")
    func neverReturns() async throws {
        // setup
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let disk = FakeDisk(free: 4096)
        let store = try AgentStore(
            directory: directory.path, bufferCap: 64 << 20, freeSpace: disk.probe, recheckInterval: .milliseconds(20))
        var configuration = Fixtures.configuration(directory.path)
        configuration.killGracePeriod = .milliseconds(300)
        let executor = InvocationExecutor(store: store, runner: SubprocessRunner(), configuration: configuration, logger: Fixtures.logger)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("yes", id: id, timeout: 1))
        // act
        let outcome = try await executor.execute(try #require(try await store.invocation(id)), stop: StopSignal())
        // check
        #expect(outcome?.state == .failed)
        #expect(outcome?.reason == "state dir full (4096 bytes free)")
        let invocation = try #require(try await store.invocation(id))
        let stored = try await store.pendingChunks(id, maxChunks: .max, maxBytes: .max).reduce(0) { $0 + Int64($1.bytes.count) }
        #expect(invocation.stdoutBytes == stored, "the totals reported are what was stored")
        #expect(stored > 0)
    }

    @Test("SQLITE_FULL: appends wait (typed error), work is still recorded from the reserve, deletes still work")
    func sqliteFull() async throws {
        // setup: a store with one chunk, then a database that may not grow
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 64 << 20)
        #expect(store.reserve.isHeld)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("true", id: id))
        try await store.appendChunk(id, stream: .stdout, offset: 0, bytes: Data(repeating: 1, count: 100_000))
        let pages = try await store.database.read { try Int.fetchOne($0, sql: "PRAGMA page_count") ?? 0 }
        try await store.database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = \(pages)") }
        // act + check: an append cannot grow the file and says so
        await #expect(throws: AgentStoreError.self) {
            try await store.appendChunk(id, stream: .stdout, offset: 100_000, bytes: Data(repeating: 2, count: 100_000))
        }
        do {
            try await store.appendChunk(id, stream: .stdout, offset: 100_000, bytes: Data(repeating: 2, count: 100_000))
        } catch AgentStoreError.stateDirectoryFull {
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(store.reserve.isHeld, "an append never spends the reserve")
        // deleting the acknowledged chunk frees room, and the next append reuses it
        #expect(try await store.deleteChunks(id, acknowledged: [(stream: .stdout, offset: 0)]) == 100_000)
        try await store.appendChunk(id, stream: .stdout, offset: 100_000, bytes: Data(repeating: 2, count: 90_000))
    }
}

@Suite("An assignment that cannot be recorded", .timeLimit(.minutes(1)))
struct UnrecordedAssignmentTests {
    struct Harness {
        let directory: TemporaryDirectory
        let store: AgentStore
        let server = FakeAgentService()
        /// Whether recording fails (a full disk); the test turns it off.
        let failing = FakeDisk(free: 1)
        let poller: WorkPoller

        init(giveUp: Duration) throws {
            directory = try TemporaryDirectory()
            store = try AgentStore(directory: directory.path, bufferCap: 1 << 30)
            let configuration = Fixtures.configuration(directory.path)
            let api = AgentAPI(transport: server)
            let identity = IdentityManager(api: api, configuration: configuration, logger: Fixtures.logger)
            let executor = InvocationExecutor(
                store: store, runner: RecordingProcessRunner(), configuration: configuration, logger: Fixtures.logger)
            let scheduler = InvocationScheduler(store: store, executor: executor, parallelism: 1, logger: Fixtures.logger)
            let store = store
            let failing = failing
            poller = WorkPoller(
                api: api, identity: identity, store: store, scheduler: scheduler, waitSeconds: 20, logger: Fixtures.logger,
                clock: ManualClock(), unrecordedGiveUp: giveUp,
                record: { assignment in
                    if failing.free.withLock({ $0 }) == 1 { throw AgentStoreError.stateDirectoryFull(freeBytes: 512) }
                    return try await store.record(assignment)
                })
        }
    }

    @Test("it is listed as active (so the server keeps its lease) and recorded once the store has room")
    func listedThenRecorded() async throws {
        // setup
        let harness = try Harness(giveUp: .seconds(3600))
        defer { harness.directory.remove() }
        let id = harness.server.queue(.runCommand(RunCommandPayload(cmd: "true")))
        // act
        let (_, unrecordable) = try await harness.poller.pollOnce(held: false)
        _ = try await harness.poller.pollOnce(held: true)
        harness.failing.set(0)
        _ = try await harness.poller.pollOnce(held: true)
        // check
        #expect(unrecordable == 1)
        let polls = harness.server.state.withLock { $0.polls }
        #expect(polls.count == 3)
        #expect(polls[1].active?.contains(id) == true, "listed while it could not be recorded")
        #expect(try await harness.store.invocation(id)?.phase == .received, "recorded once there was room")
        #expect(harness.poller.unrecorded.isEmpty)
        #expect(harness.server.statuses(id).isEmpty)
    }

    @Test("after the give-up time it is reported failed with the reason, and no longer listed")
    func reportedFailed() async throws {
        // setup
        let harness = try Harness(giveUp: .zero)
        defer { harness.directory.remove() }
        let id = harness.server.queue(.runCommand(RunCommandPayload(cmd: "true")))
        // act
        _ = try await harness.poller.pollOnce(held: false)
        _ = try await harness.poller.pollOnce(held: true)
        // check
        let report = try #require(harness.server.finalStatus(id))
        #expect(report.state == .failed)
        #expect(report.reason?.hasPrefix("state dir full (") == true)
        #expect(report.reason?.contains("could not record") == true)
        let polls = harness.server.state.withLock { $0.polls }
        #expect(polls.last?.active?.contains(id) == false)
    }
}

@Suite("Dead links and failing readers", .timeLimit(.minutes(1)))
struct LinkAndReaderFailureTests {
    struct Unreachable: AgentTransport {
        let down: FakeDisk
        func send(_ request: TransportRequest, timeout: Duration) async throws -> TransportResponse {
            if down.free.withLock({ $0 }) == 1 { throw CancellationError() }
            return TransportResponse(status: 503, body: Data())
        }
    }

    @Test("a call that gets no answer marks the link down; the next answer (even a 503) wakes everyone once")
    func linkRestoredRingsOnce() async throws {
        // setup
        let down = FakeDisk(free: 1)
        let restored = Mutex(0)
        let link = LinkMonitor(onRestored: { restored.withLock { $0 += 1 } })
        let api = AgentAPI(transport: Unreachable(down: down), link: link)
        // act
        await api.probe(timeout: .seconds(1))
        let wasDown = link.isDown
        down.set(0)
        await api.probe(timeout: .seconds(1))
        await api.probe(timeout: .seconds(1))
        // check
        #expect(wasDown)
        #expect(!link.isDown)
        #expect(restored.withLock { $0 } == 1)
    }

    @Test("a reader whose output cannot be handed on stops the process instead of leaving it blocked on its pipe")
    func failingHandlerStopsTheProcess() async throws {
        // setup: a process that writes forever on both pipes
        let spec = ProcessSpec(command: "yes out & yes err >&2; wait", environment: ["PATH": "/usr/bin:/bin"], gracePeriod: .milliseconds(500))
        struct Refused: Error {}
        // act
        let started = ContinuousClock.now
        await #expect(throws: Refused.self) {
            _ = try await SubprocessRunner().run(spec, stop: StopSignal()) { stream, _ in
                if stream == .stdout { throw Refused() }
            }
        }
        // check: ended by the runner's own stop, well within the suite's limit
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
