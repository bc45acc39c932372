import FleetProtocol
import Foundation
import Testing

/// The request bodies of the README's curl examples must keep decoding exactly as written.
@Suite("README example bodies")
struct DocumentedExampleTests {
    @Test("the README's register body decodes")
    func register() throws {
        // act
        let request = try decode(RegisterRequest.self, #"{"node_id":"edge-1","attrs":{"os":"linux","region":"eu-west"}}"#)
        // check
        #expect(request.nodeId == "edge-1")
        #expect(request.attrs == ["os": "linux", "region": "eu-west"])
    }

    @Test("a register body without attrs decodes with empty attrs")
    func registerWithoutAttrs() throws {
        let request = try decode(RegisterRequest.self, #"{"node_id":"edge-1"}"#)
        #expect(request.attrs.isEmpty)
    }

    @Test("the README's submit body decodes to a RunCommand")
    func submit() throws {
        // act
        let request = try decode(
            SubmitCommandRequest.self,
            #"{"command_type":"RunCommand","targets":["edge-1","edge-2"],"payload":{"cmd":"uptime","timeout_sec":30}}"#)
        // check
        #expect(request.commandType == .runCommand)
        #expect(request.targets == ["edge-1", "edge-2"])
        #expect(request.payload == .runCommand(RunCommandPayload(cmd: "uptime", timeoutSec: 30)))
        #expect(request.payload.timeoutSec == 30)
        #expect(request.payload.problems().isEmpty)
    }

    @Test("the README's logs body decodes; a chunk without encoding is UTF-8 text")
    func logs() throws {
        // act
        let request = try decode(
            UploadLogsRequest.self,
            #"{"command_id":"6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10","chunks":[{"offset":0,"stream":"stdout","data":"hello\n"}]}"#)
        // check
        #expect(request.commandId == Fixtures.commandId)
        #expect(request.chunks.count == 1)
        let chunk = try #require(request.chunks.first)
        #expect(chunk.offset == 0)
        #expect(chunk.stream == .stdout)
        #expect(chunk.data == "hello\n")
        #expect(chunk.encoding == .utf8)
        #expect(chunk.nodeId == nil)
        #expect(chunk.decodedBytes() == Array("hello\n".utf8))
    }

    @Test("dates are ISO-8601 with milliseconds on the wire; whole seconds are accepted too")
    func dates() throws {
        // act
        let json = try expectRoundTrip(RevokeResponse(nodeId: "edge-1", revokedAt: Instants.created))
        let precise = try decode(RevokeResponse.self, #"{"node_id":"edge-1","revoked_at":"2025-01-31T12:00:00.250Z"}"#)
        let whole = try decode(RevokeResponse.self, #"{"node_id":"edge-1","revoked_at":"2025-01-31T12:00:00Z"}"#)
        // check
        #expect(json.contains(#""revoked_at":"2025-01-31T12:00:00.000Z""#))
        #expect(precise.revokedAt == Instants.created.addingTimeInterval(0.25))
        #expect(whole.revokedAt == Instants.created)
        #expect(throws: DecodingError.self) {
            try decode(RevokeResponse.self, #"{"node_id":"edge-1","revoked_at":"yesterday"}"#)
        }
    }
}
