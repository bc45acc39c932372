import FleetProtocol
import Foundation

/// A request a store refuses by its rules, as opposed to a failing database.
///
/// Refusals leave ``Database/transaction(_:_:)`` unchanged (rolling it back), and
/// `HTTP/ErrorMapping.swift` gives each one its status and code; `description` is the message.
protocol StoreRefusal: Error, CustomStringConvertible {}

/// Why the command queue refused a submit, a status report or a read.
enum QueueError: StoreRefusal, Equatable {
    case noTargets
    case tooManyTargets(limit: Int)
    /// Target ids that cannot be node ids at all.
    case malformedTargets([String])
    /// Target ids of no registered, unrevoked node; nothing was written.
    case unknownTargets([String])
    case invalidPayload(problems: [String])
    case unreportableState(InvocationState)
    case negativeByteCount(field: String)
    /// A number outside the range the field can hold (`exit_code`, `signal`).
    case outOfRange(field: String, range: ClosedRange<Int>)
    case resultTooLarge(limitBytes: Int)
    case illegalTransition(from: InvocationState, to: InvocationState)
    case unknownCommand(UUID)
    /// The command exists but has no invocation on the calling node.
    case notOnThisNode(commandId: UUID)
    case invalidCursor
    /// A submit named both `targets` and `selector`.
    case targetsAndSelector
    case invalidSelector(NodeSelectorError)
    /// The selector matched no registered, unrevoked node; nothing was queued.
    case noMatchingNodes(selector: String)
    /// A rollout bound (`max_concurrency`, `max_errors`, `deliver_within_sec`) out of range.
    case invalidRollout(field: String, problem: String)
    /// The state filter of a command read is not a state.
    case unknownState(String)
    /// The `Idempotency-Key` header is empty, too long or not visible ASCII.
    case invalidIdempotencyKey
    /// The key was used in the window for a request with another body.
    case idempotencyKeyReused
    /// A node's report carried a token of an older generation, or the node was revoked or is unknown.
    case staleCredentials

    var description: String {
        switch self {
        case .noTargets: "targets must name at least one node id (or give a selector)"
        case .tooManyTargets(let limit): "at most \(limit) targets per command"
        case .malformedTargets(let ids): "invalid node ids: \(Self.quoteList(ids))"
        case .unknownTargets(let ids): "unknown or revoked node ids: \(Self.quoteList(ids))"
        case .invalidPayload(let problems): problems.joined(separator: "; ")
        case .unreportableState(let state): "an agent cannot report state '\(state.rawValue)'"
        case .negativeByteCount(let field): "\(field) must not be negative"
        case .outOfRange(let field, let range): "\(field) must be \(range.lowerBound)…\(range.upperBound)"
        case .resultTooLarge(let limit): "result is larger than \(limit / 1024) KiB"
        case .illegalTransition(let from, let to): "invocation is \(from.rawValue); it cannot become \(to.rawValue)"
        case .unknownCommand(let id): "no command \(id.uuidString)"
        case .notOnThisNode(let id): "command \(id.uuidString) has no invocation on this node"
        case .invalidCursor: "cursor is not a cursor this API returned"
        case .targetsAndSelector: "give either targets or selector, not both"
        case .invalidSelector(let error): "\(error)"
        case .noMatchingNodes(let selector): "selector '\(selector.prefix(200))' matches no registered node"
        case .invalidRollout(let field, let problem): "\(field) \(problem)"
        case .unknownState(let text): "state '\(text.prefix(40))' is not an invocation state"
        case .invalidIdempotencyKey: "Idempotency-Key must be 1–255 visible ASCII characters"
        case .idempotencyKeyReused:
            "Idempotency-Key was already used within \(CommandQueue.idempotencyWindowHours) h for a different request body"
        case .staleCredentials: "token has been revoked or the node is not registered"
        }
    }

    /// At most 20 ids, each cut to 64 characters: the message stays readable for 10,000 targets.
    static func quoteList(_ values: [String]) -> String {
        let shown = values.prefix(20).map { "'\($0.prefix(64))'" }.joined(separator: ", ")
        return values.count > 20 ? "\(shown) and \(values.count - 20) more" : shown
    }
}

/// Why the log store refused an upload or a read.
enum LogError: StoreRefusal, Equatable {
    case noChunks
    case tooManyChunks(limit: Int)
    case negativeOffset(index: Int)
    case undecodable(index: Int, encoding: String)
    case emptyChunk(index: Int)
    case chunkTooLarge(index: Int, bytes: Int, limit: Int)
    case offsetOutOfRange(index: Int)
    /// Output for an invocation its node has not been handed yet.
    case notDelivered(commandId: UUID)
    /// The chunk starts past the end of what is stored.
    case gap(stream: LogStream, offset: Int64, stored: Int64)
    /// The chunk starts inside the stored bytes and runs past their end.
    case overlap(stream: LogStream, offset: Int64, storedEnd: Int64)
    /// A replay that starts where no stored chunk starts.
    case misalignedReplay(stream: LogStream, offset: Int64)
    /// A replay whose bytes differ from the chunk stored at its offset.
    case differentBytes(stream: LogStream, offset: Int64)
    case noInvocation(commandId: UUID, nodeId: String)
    case invalidCursor
    /// Raw output of a final invocation whose reported bytes are not all stored yet.
    case outputIncomplete(stream: LogStream, stored: Int64, reported: Int64)

    var description: String {
        switch self {
        case .noChunks: "chunks must not be empty"
        case .tooManyChunks(let limit): "at most \(limit) chunks per upload"
        case .negativeOffset(let index): "chunks[\(index)].offset must not be negative"
        case .undecodable(let index, let encoding): "chunks[\(index)].data is not valid \(encoding)"
        case .emptyChunk(let index): "chunks[\(index)].data is empty"
        case .chunkTooLarge(let index, let bytes, let limit): "chunks[\(index)] holds \(bytes) bytes; the limit is \(limit)"
        case .offsetOutOfRange(let index): "chunks[\(index)].offset is out of range"
        case .notDelivered: "invocation has not been delivered to this node yet"
        case .gap(let stream, let offset, let stored):
            "\(stream.rawValue) chunk at offset \(offset) leaves a gap: \(stored) bytes are stored"
        case .overlap(let stream, let offset, let end):
            "\(stream.rawValue) chunk at offset \(offset) overlaps stored bytes ending at \(end)"
        case .misalignedReplay(let stream, let offset):
            "\(stream.rawValue) chunk at offset \(offset) does not match the stored chunk boundaries"
        case .differentBytes(let stream, let offset):
            "\(stream.rawValue) chunk at offset \(offset) differs from the bytes already stored there"
        case .noInvocation(let id, let node): "command \(id.uuidString) has no invocation on node '\(node)'"
        case .invalidCursor: "cursor is not a cursor this API returned"
        case .outputIncomplete(let stream, let stored, let reported):
            "\(stream.rawValue) has \(stored) of the \(reported) bytes the node reported; the rest is still being uploaded, retry"
        }
    }
}

/// Why the artifact store refused an upload; nothing of it was kept.
enum ArtifactError: StoreRefusal, Equatable {
    case tooLarge(limit: Int64)
    case empty
    case digestMismatch(actual: String, expected: String)

    var description: String {
        switch self {
        case .tooLarge(let limit): "artifact exceeds \(limit) bytes"
        case .empty: "artifact body is empty"
        case .digestMismatch(let actual, let expected):
            "uploaded bytes have sha256 \(actual), not the expected \(expected); nothing was stored"
        }
    }
}

/// Why the node registry refused a registration.
enum RegistryError: StoreRefusal, Equatable {
    /// Another request inserted the id between this one's insert and its read.
    case registeredConcurrently(nodeId: String)

    var description: String {
        switch self {
        case .registeredConcurrently: "node id is being registered concurrently; retry"
        }
    }
}
