import FleetProtocol
import Foundation
import Testing

@testable import NodeAgent

@Suite("AgentStore")
struct AgentStoreTests {
    @Test func recordingTheSameCommandTwiceIsKnownNotNew() async throws {
        // setup
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        let assignment = Fixtures.assignment("echo hi")
        // act
        let first = try await store.record(assignment)
        let second = try await store.record(assignment)
        // check
        #expect(first == .new)
        guard case .known(let invocation) = second else {
            Issue.record("redelivery must be known")
            return
        }
        #expect(invocation.phase == .received)
        #expect(invocation.deliveryCount == 2)
        #expect(invocation.payload == assignment.payload)
    }

    @Test func recordsSurviveReopening() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let assignment = Fixtures.assignment("true")
        do {
            let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
            _ = try await store.record(assignment)
        }
        let reopened = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        #expect(try await reopened.record(assignment) != .new)
    }

    @Test func lifecycleTransitionsAndReportsDue() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("true", id: id))
        #expect(try await store.activeIds() == [id])
        #expect(try await store.pendingReports().isEmpty)

        // started once only
        #expect(try await store.markStarted(id))
        #expect(try await store.markStarted(id) == false)
        #expect(try await store.pendingReports().map(\.commandId) == [id])
        try await store.markRunningReported(id)
        #expect(try await store.pendingReports().isEmpty)

        // output, then the final state: the report waits for the chunks
        try await store.appendChunk(id, stream: .stdout, offset: 0, bytes: Data("hello".utf8))
        #expect(try await store.finish(id, outcome: FinalOutcome(state: .succeeded, exitCode: 0)))
        #expect(try await store.finish(id, outcome: FinalOutcome(state: .failed)) == false, "first outcome wins")
        #expect(try await store.pendingReports().isEmpty, "final report must wait for chunk acks")
        #expect(try await store.deleteChunks(id, acknowledged: [(.stdout, 0)]) == 5)
        let due = try await store.pendingReports()
        #expect(due.map(\.commandId) == [id])
        #expect(due.first?.outcome?.state == .succeeded)
        #expect(due.first?.stdoutBytes == 5)

        try await store.markFinalReported(id)
        #expect(try await store.activeIds().isEmpty)
        // a redelivery after the report asks for it again, never a rerun
        try await store.requestRestatement(id)
        #expect(try await store.pendingReports().map(\.commandId) == [id])
        #expect(try await store.markStarted(id) == false)
    }

    @Test func runningInvocationsBecomeLostAfterRestartAndKeepTheirChunks() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        let running = UUID()
        let waiting = UUID()
        _ = try await store.record(Fixtures.assignment("sleep 100", id: running))
        _ = try await store.record(Fixtures.assignment("true", id: waiting))
        _ = try await store.markStarted(running)
        try await store.appendChunk(running, stream: .stderr, offset: 0, bytes: Data([0xFF, 0x00]))

        let lost = try await store.markInterruptedAsLost(reason: "restarted")
        #expect(lost.map(\.commandId) == [running])
        let invocation = try #require(try await store.invocation(running))
        #expect(invocation.phase == .finished)
        #expect(invocation.outcome?.state == .lost)
        #expect(invocation.outcome?.reason == "restarted")
        #expect(try await store.pendingChunkCount(running) == 1)
        #expect(try await store.invocations(in: .received).map(\.commandId) == [waiting])
    }

    @Test func databaseFilesAreOwnerOnly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        _ = try await store.record(Fixtures.assignment("true"))
        for name in ["agent.sqlite", "agent.sqlite-wal"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory.path + "/" + name)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(name)")
        }
    }

    @Test func chunkOffsetsMustContinueTheirStream() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("true", id: id))
        try await store.appendChunk(id, stream: .stdout, offset: 0, bytes: Data("abc".utf8))
        await #expect(throws: AgentStoreError.self) {
            try await store.appendChunk(id, stream: .stdout, offset: 5, bytes: Data("x".utf8))
        }
        try await store.appendChunk(id, stream: .stdout, offset: 3, bytes: Data("def".utf8))
        try await store.appendChunk(id, stream: .stderr, offset: 0, bytes: Data("e".utf8))
        let chunks = try await store.pendingChunks(id, maxChunks: 10, maxBytes: 1 << 20)
        #expect(chunks.map(\.offset) == [0, 3, 0])
        #expect(chunks.map(\.stream) == [.stdout, .stdout, .stderr])
        #expect(store.budget.used == 7)
        // deleting something not stored frees nothing
        #expect(try await store.deleteChunks(id, acknowledged: [(.stderr, 99)]) == 0)
        #expect(try await store.deleteChunks(id, acknowledged: [(.stdout, 0), (.stderr, 0)]) == 4)
        #expect(store.budget.used == 3)
        // the budget is rebuilt from disk on reopen
        let reopened = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        #expect(reopened.budget.used == 3)
    }

    @Test func cancelBeforeStartFinishesWithoutRunning() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("true", id: id))
        #expect(try await store.finishIfNotStarted(id, outcome: FinalOutcome(state: .cancelled, reason: "x")))
        #expect(try await store.markStarted(id) == false)
        #expect(try await store.finishIfNotStarted(id, outcome: FinalOutcome(state: .cancelled)) == false)
    }
}
