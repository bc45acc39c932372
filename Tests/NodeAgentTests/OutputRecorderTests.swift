import FleetProtocol
import Foundation
import Synchronization
import Testing

@testable import NodeAgent

@Suite("OutputRecorder")
struct OutputRecorderTests {
    static func piece(_ stream: LogStream, _ index: Int) -> [UInt8] {
        Array("\(stream.rawValue) line \(index) \(String(repeating: "x", count: index % 97))\n".utf8)
    }

    @Test("reads from both pipes at once, in small pieces with flush ticks between, are stored byte-exact and in order")
    func concurrentSmallReadsStoreEveryByteOnce() async throws {
        // setup
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 64 << 20)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("true", id: id))
        let commits = Atomic<Int>(0)
        let recorder = OutputRecorder(commandId: id, store: store, chunkSize: 4096) { commits.add(1, ordering: .relaxed) }
        let handler = recorder.handler
        // act
        async let summary = recorder.runWriter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for stream in [LogStream.stdout, .stderr] {
                group.addTask {
                    for index in 0..<3000 {
                        try await handler(stream, Self.piece(stream, index))
                        if index % 500 == 0 { recorder.tick() }
                    }
                }
            }
            try await group.waitForAll()
        }
        recorder.finishInput()
        let stored = try await summary
        // check: each stream is exactly what its reader handed over, cut at contiguous offsets
        let chunks = try await store.pendingChunks(id, maxChunks: .max, maxBytes: .max)
        for stream in [LogStream.stdout, .stderr] {
            let expected = (0..<3000).flatMap { Self.piece(stream, $0) }
            var offset: Int64 = 0
            var bytes: [UInt8] = []
            for chunk in chunks where chunk.stream == stream {
                #expect(chunk.offset == offset)
                #expect(chunk.bytes.count <= 4096)
                offset += Int64(chunk.bytes.count)
                bytes += chunk.bytes
            }
            #expect(bytes == expected)
            #expect((stream == .stdout ? stored.stdout : stored.stderr) == Int64(expected.count))
        }
        #expect(stored.discardedBytes == 0)
        #expect(stored.stateDirectoryFull == nil)
        #expect(commits.load(ordering: .relaxed) >= 1)
        #expect(commits.load(ordering: .relaxed) <= chunks.count, "one commit per batch of cut chunks, never more")
    }

    @Test("with no room under the cap, readers stop within the queue limit and go on, byte-exact, once room is freed")
    func readersWaitForTheStorer() async throws {
        // setup: a cap of one chunk
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try AgentStore(directory: directory.path, bufferCap: 4096)
        let id = UUID()
        _ = try await store.record(Fixtures.assignment("true", id: id))
        let recorder = OutputRecorder(commandId: id, store: store, chunkSize: 4096)
        let handed = Atomic<Int>(0)
        let handler = recorder.handler
        // act: a reader that would hand over 1 MiB
        async let summary = recorder.runWriter()
        let reader = Task {
            for _ in 0..<256 {
                try await handler(.stdout, [UInt8](repeating: 7, count: 4096))
                handed.add(4096, ordering: .relaxed)
            }
        }
        #expect(await Fixtures.eventually { store.budget.used >= 4096 })
        try await Task.sleep(for: .milliseconds(200))
        // check: held after the stored chunk, the queue (2 chunks) and the one being cut
        let held = handed.load(ordering: .relaxed)
        #expect(held <= 4 * 4096, "a reader went \(held) bytes past a cap of 4096")
        // act: play the uploader until the reader is through
        var received = 0
        while true {
            let chunks = try await store.pendingChunks(id, maxChunks: 8, maxBytes: .max)
            received += chunks.reduce(0) { $0 + $1.bytes.count }
            try await store.deleteChunks(id, acknowledged: chunks.map { ($0.stream, $0.offset) })
            if chunks.isEmpty, handed.load(ordering: .relaxed) == 256 * 4096 { break }
            if chunks.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        }
        try await reader.value
        recorder.finishInput()
        let stored = try await summary
        received += try await store.pendingChunks(id, maxChunks: .max, maxBytes: .max).reduce(0) { $0 + $1.bytes.count }
        // check
        #expect(received == 256 * 4096)
        #expect(stored.stdout == 256 * 4096)
    }
}
