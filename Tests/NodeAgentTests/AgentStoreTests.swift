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

    @Test func chunksCutTogetherAreStoredAllOrNone() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("true", id: id))
        // one commit for both streams
        try await store.appendChunks(id, [(.stdout, 0, Data("ab".utf8)), (.stderr, 0, Data("E".utf8)), (.stdout, 2, Data("cd".utf8))])
        // a batch whose last chunk leaves a gap stores nothing of it
        await #expect(throws: AgentStoreError.self) {
            try await store.appendChunks(id, [(.stdout, 4, Data("e".utf8)), (.stdout, 9, Data("x".utf8))])
        }
        let chunks = try await store.pendingChunks(id, maxChunks: 10, maxBytes: 1 << 20)
        #expect(chunks.map(\.offset) == [0, 0, 2])
        #expect(chunks.map(\.stream) == [.stdout, .stderr, .stdout])
        let invocation = try #require(try await store.invocation(id))
        #expect(invocation.stdoutBytes == 4)
        #expect(invocation.stderrBytes == 1)
        #expect(store.budget.used == 5)
        // the batch is retried whole and continues where the stored bytes end
        try await store.appendChunks(id, [(.stdout, 4, Data("e".utf8))])
        #expect(try await store.invocation(id)?.stdoutBytes == 5)
    }

    @Test func aPendingBatchHoldsTheSameChunksAsTheirBinaryUploadBody() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("true", id: id))
        let pieces: [(stream: LogStream, offset: Int64, bytes: Data)] = [
            (.stdout, 0, Data(repeating: 0xFF, count: 300)), (.stderr, 0, Data("warn\n".utf8)), (.stdout, 300, Data([0, 1, 2])),
        ]
        try await store.appendChunks(id, pieces)
        let first = try #require(try await store.pendingChunks(id, maxChunks: 1, maxBytes: .max).first)
        // act: everything after the first chunk, and a byte limit smaller than any chunk
        let batch = try await store.pendingBatch(id, after: first.seq, maxChunks: 10, maxBytes: 1 << 20)
        let small = try await store.pendingBatch(id, maxChunks: 10, maxBytes: 10)
        // check: the body is exactly what encoding the stored chunks gives
        #expect(batch.chunks.map(\.stream) == [.stderr, .stdout])
        #expect(batch.chunks.map(\.length) == [5, 3])
        #expect(Array(batch.body) == BinaryChunkBatch.encode(commandId: id, Array(pieces.dropFirst())))
        let decoded = try Array(batch.body).withUnsafeBytes { try BinaryChunkBatch.decode($0) }
        #expect(decoded.commandId == id)
        #expect(decoded.frames.map(\.offset) == [0, 300])
        // a chunk larger than the limit still goes, alone
        #expect(small.chunks.map(\.length) == [300])
        #expect(Array(small.body) == BinaryChunkBatch.encode(commandId: id, [pieces[0]]))
    }

    @Test func aNewStoreHasSixteenKiBPagesAndCheckpointsEveryFourMiB() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        let (pageSize, checkpoint) = try await store.database.write { db in
            (try Int.fetchOne(db, sql: "PRAGMA page_size"), try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint"))
        }
        #expect(pageSize == 16384)
        #expect(checkpoint.map { $0 * 16384 } == 4 << 20, "the WAL must not outgrow the space reserve")
    }
}
