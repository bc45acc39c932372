import FleetProtocol
import FleetSupport
import Foundation
import Synchronization
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

        init(onDrained: @escaping @Sendable () -> Void = {}) async throws {
            directory = try TemporaryDirectory()
            store = try AgentStore(directory: directory.path, bufferCap: 1 << 30)
            server = FakeAgentService()
            let configuration = Fixtures.configuration(directory.path)
            let api = AgentAPI(transport: server)
            let identity = IdentityManager(api: api, configuration: configuration, logger: Fixtures.logger)
            uploader = ChunkUploader(
                api: api, identity: identity, store: store, wakeup: Wakeup(), flushTimeout: .seconds(1), logger: Fixtures.logger,
                retryBase: .milliseconds(10), onDrained: onDrained)
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

    @Test("once the output has drained, the uploader says so once (the agent then returns free heap)")
    func reportsDrainedOnce() async throws {
        // setup
        let drained = Mutex(0)
        let harness = try await Harness(onDrained: { drained.withLock { $0 += 1 } })
        defer { harness.directory.remove() }
        // act
        let loop = Task { try await harness.uploader.run() }
        defer { loop.cancel() }
        // check
        #expect(await Fixtures.eventually { drained.withLock { $0 } == 1 })
        #expect(try await harness.store.pendingChunkCount(harness.id) == 0)
        #expect(MemoryTuning.applied == Self.defaultMalloc, "the load-time malloc settings apply unless the environment sets its own")
    }

    private static var defaultMalloc: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["MALLOC_ARENA_MAX"] == nil && environment["GLIBC_TUNABLES"] == nil
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

    @Test func uploadsAsBinaryByDefault() async throws {
        let harness = try await Harness()
        defer { harness.directory.remove() }
        var conflicts: [UUID: Int] = [:]
        #expect(try await harness.uploader.uploadRound(conflicts: &conflicts))
        #expect(try await harness.store.pendingChunkCount(harness.id) == 0)
        #expect(harness.server.state.withLock { $0.binaryUploads } == 1)
        #expect(harness.server.output(harness.id, .stderr).starts(with: Array("chunk 1;".utf8) + [0xC3, 0x28, 0xFF]))
    }

    @Test func fallsBackToJSONWhenTheServerRefusesBinary() async throws {
        // setup: a server that predates binary uploads
        let harness = try await Harness()
        defer { harness.directory.remove() }
        harness.server.state.withLock { $0.refuseBinary = true }
        var conflicts: [UUID: Int] = [:]
        // act: the refused round is a retry, not a loss; the next goes as JSON
        await #expect(throws: AgentAPIError.self) { try await harness.uploader.uploadRound(conflicts: &conflicts) }
        #expect(try await harness.store.pendingChunkCount(harness.id) == 10)
        #expect(try await harness.uploader.uploadRound(conflicts: &conflicts))
        // check
        #expect(try await harness.store.pendingChunkCount(harness.id) == 0)
        #expect(harness.server.state.withLock { $0.binaryUploads } == 0)
        #expect(String(decoding: harness.server.output(harness.id, .stdout), as: UTF8.self) == "chunk 0;chunk 2;chunk 4;chunk 6;chunk 8;")
    }

    @Test func pipelinedBatchesArriveInOrderEvenWhenOneOvertakesAnother() async throws {
        // setup: 700 more chunks (three binary batches); the first request is slow, so the second
        // reaches the server first and finds a gap
        let harness = try await Harness()
        defer { harness.directory.remove() }
        var offset = Int64(try await harness.store.pendingChunks(harness.id, maxChunks: 100, maxBytes: .max)
            .filter { $0.stream == .stdout }.reduce(0) { $0 + $1.bytes.count })
        var expected = Array("chunk 0;chunk 2;chunk 4;chunk 6;chunk 8;".utf8)
        for index in 0..<700 {
            let bytes = Data((0..<100).map { UInt8(truncatingIfNeeded: index &+ $0) })
            try await harness.store.appendChunk(harness.id, stream: .stdout, offset: offset, bytes: bytes)
            offset += Int64(bytes.count)
            expected += bytes
        }
        harness.server.state.withLock { $0.delayUploadAt = [0: .milliseconds(300)] }
        var conflicts: [UUID: Int] = [:]
        // act
        while try await harness.uploader.uploadRound(conflicts: &conflicts) {}
        // check: everything delivered once, in order, nothing counted as a conflict or given up
        #expect(try await harness.store.pendingChunkCount(harness.id) == 0)
        #expect(harness.server.output(harness.id, .stdout) == expected)
        #expect(conflicts.isEmpty)
        #expect(harness.server.state.withLock { $0.uploadRequests } >= 4, "the overtaking batch was sent again")
    }
}
