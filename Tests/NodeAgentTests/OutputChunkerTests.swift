import FleetProtocol
import Testing

@testable import NodeAgent

@Suite("OutputChunker")
struct OutputChunkerTests {
    /// Concatenates chunks per stream, checking that offsets are contiguous.
    func reassemble(_ chunks: [OutputChunker.Chunk], stream: LogStream) -> [UInt8] {
        var bytes: [UInt8] = []
        for chunk in chunks where chunk.stream == stream {
            #expect(chunk.offset == Int64(bytes.count), "offsets must be contiguous")
            bytes += chunk.bytes
        }
        return bytes
    }

    @Test func offsetsAreContiguousAcrossChunkBoundaries() {
        // setup
        var chunker = OutputChunker(maxChunkSize: 10)
        let input = Array("0123456789abcdefghijklmnopqrstu".utf8)  // 31 bytes
        // act
        var chunks = chunker.append(input[0..<7], to: .stdout)
        chunks += chunker.append(input[7..<25], to: .stdout)
        chunks += chunker.append(input[25...], to: .stdout)
        chunks += chunker.flush(final: true)
        // check
        #expect(chunks.map(\.offset) == [0, 10, 20, 30])
        #expect(chunks.allSatisfy { $0.bytes.count <= 10 })
        #expect(reassemble(chunks, stream: .stdout) == input)
        #expect(chunker.cutBytes(.stdout) == 31)
    }

    @Test func streamsHaveIndependentOffsets() {
        var chunker = OutputChunker(maxChunkSize: 4)
        var chunks = chunker.append(Array("abcdef".utf8), to: .stdout)
        chunks += chunker.append(Array("XYZ".utf8), to: .stderr)
        chunks += chunker.append(Array("gh".utf8), to: .stdout)
        chunks += chunker.flush(final: true)
        #expect(reassemble(chunks, stream: .stdout) == Array("abcdefgh".utf8))
        #expect(reassemble(chunks, stream: .stderr) == Array("XYZ".utf8))
        #expect(chunks.filter { $0.stream == .stderr }.map(\.offset) == [0])
    }

    @Test func multibyteCharactersAreNotSplitAtFullChunks() {
        // "é" is 2 bytes, "€" 3, "😀" 4: chunks of 8 bytes must move their cut back.
        var chunker = OutputChunker(maxChunkSize: 8)
        let text = "aé€😀bcdé€😀é€😀 end"
        let input = Array(text.utf8)
        var chunks: [OutputChunker.Chunk] = []
        for byte in input { chunks += chunker.append([byte], to: .stdout) }
        chunks += chunker.flush(final: true)
        #expect(reassemble(chunks, stream: .stdout) == input)
        for chunk in chunks {
            #expect(chunk.bytes.count <= 8)
            #expect(String(validating: chunk.bytes, as: UTF8.self) != nil, "chunk at \(chunk.offset) splits a character")
            #expect(LogChunk(offset: chunk.offset, stream: .stdout, bytes: chunk.bytes).encoding == .utf8)
        }
    }

    @Test func timedFlushHoldsBackAnIncompleteCharacterUntilItCompletes() {
        var chunker = OutputChunker(maxChunkSize: 1024)
        let euro = Array("€".utf8)  // E2 82 AC
        _ = chunker.append([UInt8(ascii: "x")] + euro.prefix(2), to: .stdout)
        let first = chunker.flush(final: false)
        #expect(first.map(\.bytes) == [[UInt8(ascii: "x")]])
        _ = chunker.append(euro.suffix(1), to: .stdout)
        let second = chunker.flush(final: false)
        #expect(second.map(\.bytes) == [euro])
        #expect(second.first?.offset == 1)
    }

    @Test func binaryOutputSurvivesByteExact() {
        var generator = SystemRandomNumberGenerator()
        let input = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var chunker = OutputChunker(maxChunkSize: 64 * 1024)
        var chunks: [OutputChunker.Chunk] = []
        var index = 0
        while index < input.count {
            let size = Int.random(in: 1...9000)
            let end = min(index + size, input.count)
            chunks += chunker.append(input[index..<end], to: .stderr)
            if size % 3 == 0 { chunks += chunker.flush(final: false) }
            index = end
        }
        chunks += chunker.flush(final: true)
        #expect(reassemble(chunks, stream: .stderr) == input)
        #expect(chunks.allSatisfy { $0.bytes.count <= 64 * 1024 })
        // and through the wire form
        let wire = chunks.map { LogChunk(offset: $0.offset, stream: $0.stream, bytes: $0.bytes) }
        #expect(wire.flatMap { $0.decodedBytes() ?? [] } == input)
    }

    @Test func finalFlushEmitsATrailingPartialCharacter() {
        var chunker = OutputChunker(maxChunkSize: 16)
        _ = chunker.append([0xE2, 0x82], to: .stdout)
        #expect(chunker.flush(final: false).isEmpty)
        #expect(chunker.flush(final: true).map(\.bytes) == [[0xE2, 0x82]])
    }
}
