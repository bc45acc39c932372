import FleetProtocol
import Foundation
import Testing

/// Output that is not valid UTF-8 must survive the wire byte-exact.
@Suite("Log chunks")
struct LogChunkTests {
    @Test("non-UTF-8 bytes travel as base64 and decode byte-exact")
    func binaryBytes() throws {
        // setup
        let bytes: [UInt8] = [0xff, 0xfe, 0x00, 0x80]
        // act
        let chunk = LogChunk(offset: 128, stream: .stderr, bytes: bytes)
        let json = try expectRoundTrip(chunk)
        let decoded = try decode(LogChunk.self, json)
        // check
        #expect(chunk.encoding == .base64)
        #expect(chunk.data == "//4AgA==")
        #expect(json.contains(#""encoding":"base64""#))
        #expect(decoded.decodedBytes() == bytes)
    }

    @Test("valid UTF-8 travels as text, including multibyte characters")
    func text() throws {
        let text = "naïve 🚀 ok\n"
        let chunk = LogChunk(offset: 0, stream: .stdout, bytes: Array(text.utf8))
        #expect(chunk.encoding == .utf8)
        #expect(chunk.data == text)
        #expect(try roundTrip(chunk).decodedBytes() == Array(text.utf8))
    }

    @Test("a multibyte character cut between two chunks is reassembled byte-exact", arguments: [1, 2, 3])
    func cutCharacter(cutInsideRocket: Int) throws {
        // setup: "go 🚀!" where the rocket is F0 9F 9A 80
        let bytes = Array("go 🚀!".utf8)
        let cut = 3 + cutInsideRocket
        // act
        let first = LogChunk(offset: 0, stream: .stdout, bytes: bytes[..<cut])
        let second = LogChunk(offset: Int64(cut), stream: .stdout, bytes: bytes[cut...])
        let upload = try roundTrip(UploadLogsRequest(commandId: Fixtures.commandId, chunks: [first, second]))
        // check
        #expect(first.encoding == .base64)
        #expect(second.encoding == .base64)
        let reassembled = try upload.chunks.flatMap { try #require($0.decodedBytes()) }
        #expect(reassembled == bytes)
        #expect(String(decoding: reassembled, as: UTF8.self) == "go 🚀!")
    }

    @Test("a two-byte character cut in half is reassembled byte-exact")
    func cutTwoByteCharacter() throws {
        let bytes = Array("é".utf8)  // C3 A9
        let chunks = [LogChunk(offset: 0, stream: .stdout, bytes: bytes[..<1]), LogChunk(offset: 1, stream: .stdout, bytes: bytes[1...])]
        let decoded = try roundTrip(chunks)
        #expect(decoded.map(\.encoding) == [.base64, .base64])
        #expect(decoded.compactMap { $0.decodedBytes() }.flatMap { $0 } == bytes)
    }

    @Test("data that is not valid base64 has no bytes")
    func badBase64() throws {
        let chunk = try decode(LogChunk.self, #"{"offset":0,"stream":"stdout","data":"not base64!","encoding":"base64"}"#)
        #expect(chunk.decodedBytes() == nil)
    }

    @Test("negative offsets decode (the server refuses them), unknown streams do not")
    func streamsAndOffsets() throws {
        #expect(try decode(LogChunk.self, #"{"offset":-1,"stream":"stdout","data":"x"}"#).offset == -1)
        #expect(throws: DecodingError.self) { try decode(LogChunk.self, #"{"offset":0,"stream":"stdin","data":"x"}"#) }
        #expect(throws: DecodingError.self) { try decode(LogChunk.self, #"{"offset":0,"stream":"stdout","data":"x","encoding":"hex"}"#) }
    }
}
