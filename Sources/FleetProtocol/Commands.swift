import Foundation

/// `POST /v1/commands/submit`: one command for a list of node ids.
public struct SubmitCommandRequest: Codable, Sendable, Hashable {
    /// Node ids; empty when the command targets a ``selector`` instead.
    public var targets: [String]
    /// A label selector over node attrs (`region=eu,role in (web,db)`, `*` for every node),
    /// resolved by agent-svc when the command is queued; nil when ``targets`` names the nodes.
    public var selector: String?
    public var payload: CommandPayload
    /// At most this many of the command's invocations delivered or running at once.
    public var maxConcurrency: RolloutLimit?
    /// Stop sending once more than this many invocations failed, timed out or were lost.
    public var maxErrors: RolloutLimit?
    /// An invocation not delivered within this many seconds ends `expired` (default: the server's).
    public var deliverWithinSec: Int?

    public var commandType: CommandType { payload.commandType }

    public init(
        targets: [String], selector: String? = nil, payload: CommandPayload, maxConcurrency: RolloutLimit? = nil,
        maxErrors: RolloutLimit? = nil, deliverWithinSec: Int? = nil
    ) {
        self.targets = targets
        self.selector = selector
        self.payload = payload
        self.maxConcurrency = maxConcurrency
        self.maxErrors = maxErrors
        self.deliverWithinSec = deliverWithinSec
    }

    enum CodingKeys: String, CodingKey {
        case commandType = "command_type"
        case targets, selector, payload
        case maxConcurrency = "max_concurrency"
        case maxErrors = "max_errors"
        case deliverWithinSec = "deliver_within_sec"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decodeCommandType(forKey: .commandType)
        self.targets = try container.decodeIfPresent([String].self, forKey: .targets) ?? []
        self.selector = try container.decodeIfPresent(String.self, forKey: .selector)
        self.payload = try CommandPayload(type: type, from: container, forKey: .payload)
        self.maxConcurrency = try container.decodeIfPresent(RolloutLimit.self, forKey: .maxConcurrency)
        self.maxErrors = try container.decodeIfPresent(RolloutLimit.self, forKey: .maxErrors)
        self.deliverWithinSec = try container.decodeIfPresent(Int.self, forKey: .deliverWithinSec)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(commandType, forKey: .commandType)
        if selector == nil || !targets.isEmpty { try container.encode(targets, forKey: .targets) }
        try container.encodeIfPresent(selector, forKey: .selector)
        try payload.encode(to: &container, forKey: .payload)
        try container.encodeIfPresent(maxConcurrency, forKey: .maxConcurrency)
        try container.encodeIfPresent(maxErrors, forKey: .maxErrors)
        try container.encodeIfPresent(deliverWithinSec, forKey: .deliverWithinSec)
    }
}

extension KeyedDecodingContainer {
    /// Decodes a command type with an error that names the accepted values.
    public func decodeCommandType(forKey key: Key) throws -> CommandType {
        let raw = try decode(String.self, forKey: key)
        guard let type = CommandType(rawValue: raw) else {
            let known = CommandType.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "unknown command_type '\(raw.prefix(64))' (expected one of \(known))")
        }
        return type
    }
}

/// Answer to a submit: the new command and the invocations it created.
public struct SubmitCommandResponse: Codable, Sendable, Hashable {
    public var commandId: UUID
    public var commandType: CommandType
    public var targets: [String]
    public var createdAt: Date
    public var state: InvocationState

    public init(commandId: UUID, commandType: CommandType, targets: [String], createdAt: Date, state: InvocationState = .queued) {
        self.commandId = commandId
        self.commandType = commandType
        self.targets = targets
        self.createdAt = createdAt
        self.state = state
    }

    enum CodingKeys: String, CodingKey {
        case commandId = "command_id"
        case commandType = "command_type"
        case targets
        case createdAt = "created_at"
        case state
    }
}

/// One command as listed in the history.
public struct CommandSummary: Codable, Sendable, Hashable {
    public var commandId: UUID
    public var payload: CommandPayload
    public var createdBy: String
    public var createdAt: Date
    public var targetCount: Int
    public var counts: StateCounts
    /// The selector the targets were resolved from, as the operator wrote it.
    public var selector: String?
    /// The rollout bounds, when the command has any.
    public var rollout: RolloutSettings?

    /// The command type, taken from the payload.
    public var commandType: CommandType { payload.commandType }

    public init(
        commandId: UUID, payload: CommandPayload, createdBy: String, createdAt: Date, targetCount: Int, counts: StateCounts,
        selector: String? = nil, rollout: RolloutSettings? = nil
    ) {
        self.commandId = commandId
        self.payload = payload
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.targetCount = targetCount
        self.counts = counts
        self.selector = selector
        self.rollout = rollout
    }

    enum CodingKeys: String, CodingKey {
        case commandId = "command_id"
        case commandType = "command_type"
        case payload
        case createdBy = "created_by"
        case createdAt = "created_at"
        case targetCount = "target_count"
        case counts, selector, rollout
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decodeCommandType(forKey: .commandType)
        self.commandId = try container.decode(UUID.self, forKey: .commandId)
        self.payload = try CommandPayload(type: type, from: container, forKey: .payload)
        self.createdBy = try container.decode(String.self, forKey: .createdBy)
        self.createdAt = try container.decode(Date.self, forKey: .createdAt)
        self.targetCount = try container.decode(Int.self, forKey: .targetCount)
        self.counts = try container.decode(StateCounts.self, forKey: .counts)
        self.selector = try container.decodeIfPresent(String.self, forKey: .selector)
        self.rollout = try container.decodeIfPresent(RolloutSettings.self, forKey: .rollout)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(commandId, forKey: .commandId)
        try container.encode(commandType, forKey: .commandType)
        try payload.encode(to: &container, forKey: .payload)
        try container.encode(createdBy, forKey: .createdBy)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(targetCount, forKey: .targetCount)
        try container.encode(counts, forKey: .counts)
        try container.encodeIfPresent(selector, forKey: .selector)
        try container.encodeIfPresent(rollout, forKey: .rollout)
    }
}

/// `GET /v1/commands`: newest first, paged by an opaque cursor.
public struct CommandListResponse: Codable, Sendable, Hashable {
    public var commands: [CommandSummary]
    public var nextCursor: String?

    public init(commands: [CommandSummary], nextCursor: String?) {
        self.commands = commands
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case commands
        case nextCursor = "next_cursor"
    }
}

/// One command on one node, as the operator sees it.
public struct InvocationInfo: Codable, Sendable, Hashable {
    public var nodeId: String
    public var state: InvocationState
    public var exitCode: Int?
    public var signal: Int?
    public var reason: String?
    public var deliveryCount: Int
    public var cancelRequested: Bool
    public var createdAt: Date
    public var deliveredAt: Date?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Bytes stored so far per stream.
    public var stdoutBytes: Int64
    public var stderrBytes: Int64
    /// Byte totals the agent reported with its final state, if it has.
    public var stdoutTotal: Int64?
    public var stderrTotal: Int64?
    /// Structured facts the agent sent with its final state (package versions, agent version).
    public var result: InvocationResult?

    public init(
        nodeId: String, state: InvocationState, exitCode: Int? = nil, signal: Int? = nil, reason: String? = nil,
        deliveryCount: Int = 0, cancelRequested: Bool = false, createdAt: Date, deliveredAt: Date? = nil,
        startedAt: Date? = nil, finishedAt: Date? = nil, stdoutBytes: Int64 = 0, stderrBytes: Int64 = 0,
        stdoutTotal: Int64? = nil, stderrTotal: Int64? = nil, result: InvocationResult? = nil
    ) {
        self.nodeId = nodeId
        self.state = state
        self.exitCode = exitCode
        self.signal = signal
        self.reason = reason
        self.deliveryCount = deliveryCount
        self.cancelRequested = cancelRequested
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.stdoutBytes = stdoutBytes
        self.stderrBytes = stderrBytes
        self.stdoutTotal = stdoutTotal
        self.stderrTotal = stderrTotal
        self.result = result
    }

    enum CodingKeys: String, CodingKey {
        case nodeId = "node_id"
        case state
        case exitCode = "exit_code"
        case signal, reason
        case deliveryCount = "delivery_count"
        case cancelRequested = "cancel_requested"
        case createdAt = "created_at"
        case deliveredAt = "delivered_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case stdoutBytes = "stdout_bytes"
        case stderrBytes = "stderr_bytes"
        case stdoutTotal = "stdout_total"
        case stderrTotal = "stderr_total"
        case result
    }
}

/// `GET /v1/commands/{id}`: the command with its counts, and one page of its invocations.
public struct CommandDetail: Codable, Sendable, Hashable {
    public var command: CommandSummary
    /// One page of the invocations (see ``nextCursor``), in node order.
    public var invocations: [InvocationInfo]
    /// Pass as `cursor` for the next page of invocations; nil on the last page.
    public var nextCursor: String?

    public init(command: CommandSummary, invocations: [InvocationInfo], nextCursor: String? = nil) {
        self.command = command
        self.invocations = invocations
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case command, invocations
        case nextCursor = "next_cursor"
    }
}

/// `POST /v1/commands/{id}/cancel`: what the cancel did.
public struct CancelResponse: Codable, Sendable, Hashable {
    public var commandId: UUID
    /// Invocations that were still queued and are now `cancelled`.
    public var cancelled: Int
    /// Invocations already on their node; the agent stops them and reports `cancelled`.
    public var cancelling: Int

    public init(commandId: UUID, cancelled: Int, cancelling: Int) {
        self.commandId = commandId
        self.cancelled = cancelled
        self.cancelling = cancelling
    }

    enum CodingKeys: String, CodingKey {
        case commandId = "command_id"
        case cancelled, cancelling
    }
}
