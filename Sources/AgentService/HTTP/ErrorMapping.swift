import Hummingbird
import Logging
import NIOHTTP1
import PostgresNIO

/// The one place that decides what a client sees for each error: a status, a stable code, and
/// the error's own message. Unexpected errors are logged and become a 500 (a 503 when the
/// database is unreachable) without leaking internals.
extension HTTPAPIError {
    init(_ error: any Error, logger: Logger) {
        switch error {
        case let error as HTTPAPIError: self = error
        case let error as HTTPError: self = Self(routing: error)
        case let error as QueueError: self = Self(error)
        case let error as LogError: self = Self(error)
        case let error as ArtifactError: self = Self(error)
        case let error as RegistryError: self = Self(error)
        case let error as DatabaseError: self = Self(error, logger: logger)
        case let error as RequestBodyStalled: self = .requestTimeout(error.description)
        case let error as HTTPParserError: self = .badRequest("malformed HTTP request body (\(error))", code: "bad_http_request")
        default:
            logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            self = .internalError
        }
    }

    static let internalError = HTTPAPIError(.internalServerError, code: "internal", message: "internal error")

    /// Hummingbird's own errors: no route, wrong method, a body over the limit.
    init(routing error: HTTPError) {
        switch error.status {
        case .notFound: self = .notFound("no such route")
        case .methodNotAllowed: self = HTTPAPIError(.methodNotAllowed, code: "method_not_allowed", message: "method not allowed on this route")
        case .contentTooLarge: self = .tooLarge(error.body ?? "request body too large")
        default: self = HTTPAPIError(error.status, code: "http_\(error.status.code)", message: error.body ?? error.status.reasonPhrase)
        }
    }

    init(_ error: QueueError) {
        let message = error.description
        switch error {
        case .noTargets, .tooManyTargets, .negativeByteCount, .outOfRange, .resultTooLarge, .invalidCursor: self = .badRequest(message)
        case .malformedTargets, .unknownTargets: self = .badRequest(message, code: "unknown_targets")
        case .invalidPayload: self = .badRequest(message, code: "invalid_payload")
        case .unreportableState: self = .badRequest(message, code: "invalid_state")
        case .illegalTransition: self = .conflict(message, code: "illegal_transition")
        case .unknownCommand: self = .notFound(message)
        case .notOnThisNode: self = .forbidden(message)
        case .staleCredentials: self = .unauthorized(message)
        case .targetsAndSelector, .unknownState, .invalidIdempotencyKey: self = .badRequest(message)
        case .idempotencyKeyReused: self = HTTPAPIError(.unprocessableContent, code: "idempotency_key_reused", message: message)
        case .invalidSelector: self = .badRequest(message, code: "invalid_selector")
        case .noMatchingNodes: self = .badRequest(message, code: "no_targets")
        case .invalidRollout: self = .badRequest(message, code: "invalid_rollout")
        }
    }

    init(_ error: LogError) {
        let message = error.description
        switch error {
        case .noChunks, .tooManyChunks, .negativeOffset, .undecodable, .emptyChunk, .offsetOutOfRange:
            self = .badRequest(message, code: "invalid_chunk")
        case .chunkTooLarge: self = .tooLarge(message)
        case .notDelivered: self = .conflict(message, code: "not_delivered")
        case .gap: self = .conflict(message, code: "offset_gap")
        case .outputIncomplete: self = .conflict(message, code: "output_incomplete")
        case .overlap, .misalignedReplay, .differentBytes: self = .conflict(message, code: "chunk_conflict")
        case .noInvocation: self = .notFound(message)
        case .invalidCursor: self = .badRequest(message, code: "invalid_cursor")
        }
    }

    init(_ error: ArtifactError) {
        switch error {
        case .tooLarge: self = .tooLarge(error.description)
        case .empty: self = .badRequest(error.description, code: "empty_artifact")
        case .digestMismatch: self = .badRequest(error.description, code: "digest_mismatch")
        }
    }

    init(_ error: RegistryError) {
        switch error {
        case .registeredConcurrently: self = .conflict(error.description)
        }
    }

    /// The details go to the log, not the response.
    init(_ error: DatabaseError, logger: Logger) {
        switch error {
        case .database(let operation, let underlying as PSQLError) where Self.isClientData(underlying):
            // A value Postgres cannot store (a NUL in text, an integer out of range): the
            // client's mistake, not an outage. Postgres' own message names the problem; the
            // log gets no more than that (the statement's context quotes the client's data).
            let detail = underlying.serverInfo?[.message] ?? "a value cannot be stored"
            logger.info(
                "request refused by the database",
                metadata: ["operation": "\(operation)", "sqlstate": "\(underlying.serverInfo?[.sqlState] ?? "")", "reason": "\(detail)"])
            self = .badRequest("request holds a value that cannot be stored: \(detail.prefix(300))", code: "invalid_value")
        case .database:
            logger.error("database error", metadata: ["error": "\(error.description)"])
            self = .unavailable("database unavailable, retry later")
        case .unexpected:
            logger.error("database error", metadata: ["error": "\(error.description)"])
            self = .internalError
        }
    }

    /// SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation): what a
    /// request put in a statement, not the database's health.
    static func isClientData(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }
}
