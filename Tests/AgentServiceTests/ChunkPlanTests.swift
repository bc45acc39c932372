import FleetProtocol
import NIOCore
import Testing

@testable import AgentService

/// The chunk rules without a database: which chunks of an upload are new, replays, gaps or overlaps.
@Suite("Chunk plan")
struct ChunkPlanTests {
    static func chunk(_ stream: LogStream, at offset: Int64, _ text: String) -> LogChunkStore.IncomingChunk {
        LogChunkStore.IncomingChunk(stream: stream, offset: offset, bytes: ByteBuffer(string: text))
    }

    @Test("chunks at the end of their stream are new; streams advance independently")
    func freshChunks() throws {
        // act
        let plan = try ChunkPlan(
            [Self.chunk(.stdout, at: 4, "ab"), Self.chunk(.stderr, at: 0, "x"), Self.chunk(.stdout, at: 6, "cd")],
            storedEnds: [.stdout: 4, .stderr: 0])
        // check
        #expect(plan.fresh.map(\.offset) == [4, 0, 6])
        #expect(plan.fresh.map(\.stream) == [.stdout, .stderr, .stdout])
        #expect(plan.replays.isEmpty)
        #expect(plan.receipts.map(\.outcome) == [.stored, .stored, .stored])
        #expect(plan.ends == [.stdout: 8, .stderr: 1])
        #expect(plan.freshBytes == 5)
    }

    @Test("chunks inside the stored bytes are replays, acknowledged as duplicates")
    func replays() throws {
        let plan = try ChunkPlan([Self.chunk(.stdout, at: 0, "abc"), Self.chunk(.stdout, at: 6, "z")], storedEnds: [.stdout: 6, .stderr: 0])
        #expect(plan.replays.map(\.position) == [.init(stream: .stdout, offset: 0)])
        #expect(plan.receipts.map(\.outcome) == [.duplicate, .stored])
        #expect(plan.ends[.stdout] == 7)
    }

    @Test("a chunk past the stored end is a gap; one across it an overlap")
    func gapsAndOverlaps() {
        #expect(throws: LogError.gap(stream: .stdout, offset: 9, stored: 6)) {
            try ChunkPlan([Self.chunk(.stdout, at: 9, "x")], storedEnds: [.stdout: 6])
        }
        #expect(throws: LogError.overlap(stream: .stderr, offset: 2, storedEnd: 4)) {
            try ChunkPlan([Self.chunk(.stderr, at: 2, "xyz")], storedEnds: [.stderr: 4])
        }
        // a chunk of the same upload counts: the second one leaves a gap after the first
        #expect(throws: LogError.gap(stream: .stdout, offset: 3, stored: 2)) {
            try ChunkPlan([Self.chunk(.stdout, at: 0, "ab"), Self.chunk(.stdout, at: 3, "c")], storedEnds: [:])
        }
    }

    @Test("a replay must be a stored chunk again: same start, same bytes")
    func replayChecks() throws {
        let plan = try ChunkPlan([Self.chunk(.stdout, at: 0, "abc")], storedEnds: [.stdout: 6])
        let position = ChunkPosition(stream: .stdout, offset: 0)
        try plan.checkReplays(against: [position: ByteBuffer(string: "abc")])
        #expect(throws: LogError.differentBytes(stream: .stdout, offset: 0)) {
            try plan.checkReplays(against: [position: ByteBuffer(string: "abd")])
        }
        #expect(throws: LogError.misalignedReplay(stream: .stdout, offset: 0)) {
            try plan.checkReplays(against: [ChunkPosition(stream: .stdout, offset: 1): ByteBuffer(string: "bc")])
        }
    }
}
