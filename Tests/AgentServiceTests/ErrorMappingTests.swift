import Foundation
import HTTPTypes
import Logging
import Testing

@testable import AgentService

/// Store refusals keep the status and code clients rely on, including the ones no HTTP test
/// provokes (races, limits that take megabytes to reach).
@Suite("Error mapping")
struct ErrorMappingTests {
    static let id = UUID(uuidString: "00000000-0000-0000-0000-000000000001")!
    static let logger = {
        var logger = Logger(label: "mapping-test")
        logger.logLevel = .critical
        return logger
    }()

    @Test("each refusal maps to its status and code, with its own message")
    func refusals() {
        // setup
        let cases: [(any Error, HTTPResponse.Status, String)] = [
            (QueueError.tooManyTargets(limit: 10_000), .badRequest, "bad_request"),
            (QueueError.unknownTargets(["ghost"]), .badRequest, "unknown_targets"),
            (QueueError.resultTooLarge(limitBytes: 64 * 1024), .badRequest, "bad_request"),
            (QueueError.illegalTransition(from: .succeeded, to: .running), .conflict, "illegal_transition"),
            (QueueError.unknownCommand(Self.id), .notFound, "not_found"),
            (QueueError.notOnThisNode(commandId: Self.id), .forbidden, "forbidden"),
            (LogError.tooManyChunks(limit: 1024), .badRequest, "invalid_chunk"),
            (LogError.notDelivered(commandId: Self.id), .conflict, "not_delivered"),
            (LogError.noInvocation(commandId: Self.id, nodeId: "edge-9"), .notFound, "not_found"),
            (LogError.invalidCursor, .badRequest, "invalid_cursor"),
            (ArtifactError.tooLarge(limit: 10), .contentTooLarge, "payload_too_large"),
            (RegistryError.registeredConcurrently(nodeId: "edge-1"), .conflict, "conflict"),
        ]
        for (error, status, code) in cases {
            // act
            let mapped = HTTPAPIError(error, logger: Self.logger)
            // check
            #expect(mapped.status == status && mapped.code == code, "\(error)")
            #expect(mapped.message == "\(error)")
        }
        #expect(HTTPAPIError(QueueError.resultTooLarge(limitBytes: 64 * 1024), logger: Self.logger).message == "result is larger than 64 KiB")
    }

    @Test("a database failure is a 503 and a broken invariant a 500, neither with details")
    func databaseFailures() {
        let logger = Self.logger
        let down = HTTPAPIError(DatabaseError.database(operation: "poll", underlying: CancellationError()), logger: logger)
        #expect(down.status == .serviceUnavailable && down.code == "unavailable")
        let broken = HTTPAPIError(DatabaseError.unexpected(operation: "claim", detail: "row without an id"), logger: logger)
        #expect(broken.status == .internalServerError && broken.message == "internal error")
    }
}
