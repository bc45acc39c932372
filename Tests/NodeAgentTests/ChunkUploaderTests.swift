import FleetProtocol
import FleetSupport
import Foundation
import Testing

@testable import NodeAgent

@Suite("ChunkUploader", .timeLimit(.minutes(1)))
struct ChunkUploaderTests {
    struct Harness {
        let directory: TemporaryDirectory
        let store: AgentStore
        let server: FakeAgentService
        let uploader: ChunkUploader
        let id = UUID()

        init() async throws {
            directory = try TemporaryDirectory()
            store = try AgentStore(directory: directory.path, bufferCap: 1 << 30)
            server = FakeAgentService()
            let configuration = Fixtures.configuration(directory.path)
            let api = AgentAPI(transport: server)
            let identity = IdentityManager(api: api, configuration: configuration, logger: Fixtures.logger)
            uploader = ChunkUploader(
                api: api, identity: identity, store: store, wakeup: Wakeup(), flushTimeout: .seconds(1), logger: Fixtures.logger,
                retryBase: .milliseconds(10))
            _ = try await store.record(Fixtures.assignment("true", id: id))
            // 10 chunks alternating streams, one of them not valid UTF-8
            var offsets: [LogStream: Int64] = [.stdout: 0, .stderr: 0]
            for index in 0..<10 {
                let stream: LogStream = index % 2 == 0 ? .stdout : .stderr
                let bytes = index == 3 ? Data([0xC3, 0x28, 0xFF]) : Data("chunk \(index);".utf8)
                try await store.appendChunk(id, stream: stream, offset: offsets[stream, default: 0], bytes: bytes)
                offsets[stream, default: 0] += Int64(bytes.count)
            }
        }
    }

    @Test func deletesOnlyWhatReceiptsConfirm() async throws {
        // setup: the server acknowledges only the first 3 chunks of each request
        let harness = try await Harness()
        defer { harness.directory.remove() }
        harness.server.state.withLock { $0.receiptLimit = 3 }
        var conflicts: [UUID: Int] = [:]
        // act
        let progressed = try await harness.uploader.uploadRound(conflicts: &conflicts)
        // check
        #expect(progressed)
        #expect(try await harness.store.pendingChunkCount(harness.id) == 7)
        // act: the rest, unrestricted; the first three are not sent again as new
        harness.server.state.withLock { $0.receiptLimit = nil }
        while try await harness.uploader.uploadRound(conflicts: &conflicts) {}
        // check
        #expect(try await harness.store.pendingChunkCount(harness.id) == 0)
        #expect(harness.store.budget.used == 0)
        let stdout = harness.server.output(harness.id, .stdout)
        #expect(String(decoding: stdout, as: UTF8.self) == "chunk 0;chunk 2;chunk 4;chunk 6;chunk 8;")
        #expect(harness.server.output(harness.id, .stderr).starts(with: Array("chunk 1;".utf8) + [0xC3, 0x28, 0xFF]))
    }

    @Test func keepsChunksAndRetriesWhileTheServerIsUnreachable() async throws {
        // setup: three failed attempts before the server answers
        let harness = try await Harness()
        defer { harness.directory.remove() }
        harness.server.state.withLock { $0.failures[FleetPaths.uploadLogs] = 3 }
        // act
        var conflicts: [UUID: Int] = [:]
        await #expect(throws: AgentAPIError.self) { try await harness.uploader.uploadRound(conflicts: &conflicts) }
        #expect(try await harness.store.pendingChunkCount(harness.id) == 10, "nothing deleted on failure")
        let loop = Task { try await harness.uploader.run() }
        defer { loop.cancel() }
        // check
        #expect(await Fixtures.eventually { (try? await harness.store.pendingChunkCount(harness.id)) == 0 })
        #expect(harness.server.output(harness.id, .stdout).count == 40)
        #expect(harness.server.state.withLock { $0.uploadRequests } >= 1)
    }

    @Test func replayedChunksAreAcknowledgedAsDuplicates() async throws {
        // The agent died after the server stored a batch but before deleting it locally.
        let harness = try await Harness()
        defer { harness.directory.remove() }
        let chunks = try await harness.store.pendingChunks(harness.id, maxChunks: 10, maxBytes: .max)
        _ = try await harness.server.send(
            TransportRequest(
                method: .post, path: FleetPaths.uploadLogs, headers: ["Authorization": "Bearer tok-1"],
                body: try FleetJSON.makeEncoder().encode(UploadLogsRequest(commandId: harness.id, chunks: chunks.map(\.logChunk)))),
            timeout: .seconds(1))
        var conflicts: [UUID: Int] = [:]
        #expect(try await harness.uploader.uploadRound(conflicts: &conflicts))
        #expect(try await harness.store.pendingChunkCount(harness.id) == 0)
        #expect(harness.server.output(harness.id, .stdout).count == 40)
    }
}
