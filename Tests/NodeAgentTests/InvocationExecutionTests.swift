import FleetProtocol
import Foundation
import Testing

@testable import NodeAgent

@Suite("Invocation execution", .timeLimit(.minutes(2)))
struct InvocationExecutionTests {
    /// Every stored chunk of one stream, concatenated (checks offsets are contiguous).
    func storedOutput(_ store: AgentStore, _ id: UUID, _ stream: LogStream) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for chunk in try await store.pendingChunks(id, maxChunks: Int.max, maxBytes: Int.max) where chunk.stream == stream {
            #expect(chunk.offset == Int64(bytes.count))
            bytes += chunk.bytes
        }
        return bytes
    }

    @Test func outputIsStoredByteExactInChunksAndTheOutcomeRecorded() async throws {
        // setup
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 64 << 20)
        let executor = InvocationExecutor(
            store: store, runner: SubprocessRunner(), configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger)
        let id = UUID()
        // 200 000 bytes cycling through every byte value on stdout, invalid UTF-8 on stderr
        let source = directory.path + "/bytes.bin"
        try Data((0..<200_000).map { UInt8($0 % 256) }).write(to: URL(fileURLWithPath: source))
        let command = "cat '\(source)'; printf '\\377\\376' >&2; exit 4"
        _ = try await store.record(Fixtures.assignment(command, id: id))
        // act
        let outcome = try await executor.execute(try #require(try await store.invocation(id)), stop: StopSignal())
        // check
        #expect(outcome == FinalOutcome(state: .failed, exitCode: 4))
        let stdout = try await storedOutput(store, id, .stdout)
        #expect(stdout.count == 200_000)
        #expect(stdout == (0..<200_000).map { UInt8($0 % 256) })
        #expect(try await storedOutput(store, id, .stderr) == [0xFF, 0xFE])
        let invocation = try #require(try await store.invocation(id))
        #expect(invocation.stdoutBytes == 200_000)
        #expect(invocation.stderrBytes == 2)
        #expect(try await store.pendingChunks(id, maxChunks: .max, maxBytes: .max).allSatisfy { $0.bytes.count <= 64 * 1024 })
    }

    @Test func anAgentWithoutSelfUpdateFailsUpdateAgentWithAReason() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
        let executor = InvocationExecutor(
            store: store, runner: RecordingProcessRunner(), configuration: Fixtures.configuration(directory.path),
            logger: Fixtures.logger)
        let id = UUID()
        let payload = CommandPayload.updateAgent(UpdateAgentPayload(version: "9.9.9", sha256: String(repeating: "a", count: 64), artifactId: "a1"))
        _ = try await store.record(Assignment(commandId: id, payload: payload, leaseExpiresAt: Date(), deliveryCount: 1))
        let outcome = try await executor.execute(try #require(try await store.invocation(id)), stop: StopSignal())
        #expect(outcome?.state == .failed)
        #expect(outcome?.reason?.contains("without self-update support") == true)
    }

    @Test func backPressureStopsReadingAtTheCapAndNothingIsDropped() async throws {
        // setup: a 256 KiB cap and a command that writes 4 MB as fast as it can
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cap: Int64 = 256 * 1024
        let store = try AgentStore(directory: directory.path, bufferCap: cap)
        let executor = InvocationExecutor(
            store: store, runner: SubprocessRunner(), configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("head -c 4000000 /dev/zero; echo done >&2", id: id))
        let invocation = try #require(try await store.invocation(id))
        // act
        let run = Task { try await executor.execute(invocation, stop: StopSignal()) }
        // check: stalled at the cap, process still running
        #expect(await Fixtures.eventually { (try? await store.pendingChunkBytes()) ?? 0 >= cap - 64 * 1024 })
        try await Task.sleep(for: .milliseconds(100))  // room for a reader that ignored the cap to overshoot
        let stalled = try await store.pendingChunkBytes()
        #expect(stalled >= cap - 64 * 1024)
        #expect(stalled <= cap + 256 * 1024, "stored \(stalled) bytes with a cap of \(cap)")
        #expect(try await store.invocation(id)?.phase == .running)
        // act: play the uploader, freeing room chunk by chunk
        var received: [UInt8] = []
        while true {
            // The phase first: once finished, every chunk is stored, so an empty read after it is the end.
            let finished = try await store.invocation(id)?.phase == .finished
            let chunks = try await store.pendingChunks(id, maxChunks: 4, maxBytes: .max)
            for chunk in chunks where chunk.stream == .stdout {
                #expect(chunk.offset == Int64(received.count))
                received += chunk.bytes
            }
            try await store.deleteChunks(id, acknowledged: chunks.map { ($0.stream, $0.offset) })
            if chunks.isEmpty, finished { break }
            if chunks.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        }
        // check: every byte arrived once
        #expect(try await run.value?.state == .succeeded)
        #expect(received.count == 4_000_000)
        #expect(received.allSatisfy { $0 == 0 })
        #expect(try await store.invocation(id)?.stderrBytes == 5)
    }
}
