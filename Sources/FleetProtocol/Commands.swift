import Foundation

/// `POST /v1/commands/submit`: one command for a list of node ids.
public struct SubmitCommandRequest: Codable, Sendable, Hashable {
    public var targets: [String]
    public var payload: CommandPayload

    /// The command type, taken from the payload.
    public var commandType: CommandType { payload.commandType }

    public init(targets: [String], payload: CommandPayload) {
        self.targets = targets
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey {
        case commandType = "command_type"
        case targets, payload
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decodeCommandType(forKey: .commandType)
        self.targets = try container.decode([String].self, forKey: .targets)
        self.payload = try CommandPayload(type: type, from: container, forKey: .payload)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(commandType, forKey: .commandType)
        try container.encode(targets, forKey: .targets)
        try payload.encode(to: &container, forKey: .payload)
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

    /// The command type, taken from the payload.
    public var commandType: CommandType { payload.commandType }

    public init(commandId: UUID, payload: CommandPayload, createdBy: String, createdAt: Date, targetCount: Int, counts: StateCounts) {
        self.commandId = commandId
        self.payload = payload
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.targetCount = targetCount
        self.counts = counts
    }

    enum CodingKeys: String, CodingKey {
        case commandId = "command_id"
        case commandType = "command_type"
        case payload
        case createdBy = "created_by"
        case createdAt = "created_at"
        case targetCount = "target_count"
        case counts
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

/// `GET /v1/commands/{id}`: the command and every target's invocation.
public struct CommandDetail: Codable, Sendable, Hashable {
    public var command: CommandSummary
    public var invocations: [InvocationInfo]

    public init(command: CommandSummary, invocations: [InvocationInfo]) {
        self.command = command
        self.invocations = invocations
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
