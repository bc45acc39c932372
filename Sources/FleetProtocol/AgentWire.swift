import Foundation

/// `POST /v1/agents/poll`: a node asks for work, waiting up to `wait_sec`.
public struct PollRequest: Codable, Sendable, Hashable {
    /// How long the server may hold the request when no work is queued (capped by the server).
    public var waitSec: Int?
    /// Every invocation the agent knows and has not had a final state acknowledged for;
    /// a `running` invocation missing from this list was lost by the node.
    public var active: [UUID]?
    /// The agent's version, shown to operators.
    public var agentVersion: String?
    /// The agent is stopping: the server answers at once, hands it nothing, and retires the
    /// poll it may still hold for this node (whose socket it cannot see close), so no work is
    /// given to a process that is gone.
    public var leaving: Bool?

    public init(waitSec: Int? = nil, active: [UUID]? = nil, agentVersion: String? = nil, leaving: Bool? = nil) {
        self.waitSec = waitSec
        self.active = active
        self.agentVersion = agentVersion
        self.leaving = leaving
    }

    enum CodingKeys: String, CodingKey {
        case waitSec = "wait_sec"
        case active
        case agentVersion = "agent_version"
        case leaving
    }
}

/// One invocation handed to a node; delivered again if the lease lapses without a status report.
public struct Assignment: Codable, Sendable, Hashable {
    public var commandId: UUID
    public var payload: CommandPayload
    public var leaseExpiresAt: Date
    public var deliveryCount: Int

    /// The command type, taken from the payload.
    public var commandType: CommandType { payload.commandType }

    public init(commandId: UUID, payload: CommandPayload, leaseExpiresAt: Date, deliveryCount: Int) {
        self.commandId = commandId
        self.payload = payload
        self.leaseExpiresAt = leaseExpiresAt
        self.deliveryCount = deliveryCount
    }

    enum CodingKeys: String, CodingKey {
        case commandId = "command_id"
        case commandType = "command_type"
        case payload
        case leaseExpiresAt = "lease_expires_at"
        case deliveryCount = "delivery_count"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decodeCommandType(forKey: .commandType)
        self.commandId = try container.decode(UUID.self, forKey: .commandId)
        self.payload = try CommandPayload(type: type, from: container, forKey: .payload)
        self.leaseExpiresAt = try container.decode(Date.self, forKey: .leaseExpiresAt)
        self.deliveryCount = try container.decode(Int.self, forKey: .deliveryCount)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(commandId, forKey: .commandId)
        try container.encode(commandType, forKey: .commandType)
        try payload.encode(to: &container, forKey: .payload)
        try container.encode(leaseExpiresAt, forKey: .leaseExpiresAt)
        try container.encode(deliveryCount, forKey: .deliveryCount)
    }
}

/// Answer to a poll: new work, and invocations the operator asked to cancel.
public struct PollResponse: Codable, Sendable, Hashable {
    public var assignments: [Assignment]
    public var cancel: [UUID]

    public init(assignments: [Assignment], cancel: [UUID]) {
        self.assignments = assignments
        self.cancel = cancel
    }
}

/// `POST /v1/agents/status`: an agent moves one of its invocations along the lifecycle.
public struct StatusReport: Codable, Sendable, Hashable {
    public var commandId: UUID
    public var state: InvocationState
    public var exitCode: Int?
    public var signal: Int?
    public var reason: String?
    /// Final byte totals per stream; the command is complete for readers once all are stored.
    public var stdoutBytes: Int64?
    public var stderrBytes: Int64?
    /// Structured facts sent with a final state (package versions, agent version).
    public var result: InvocationResult?

    public init(
        commandId: UUID, state: InvocationState, exitCode: Int? = nil, signal: Int? = nil, reason: String? = nil,
        stdoutBytes: Int64? = nil, stderrBytes: Int64? = nil, result: InvocationResult? = nil
    ) {
        self.commandId = commandId
        self.state = state
        self.exitCode = exitCode
        self.signal = signal
        self.reason = reason
        self.stdoutBytes = stdoutBytes
        self.stderrBytes = stderrBytes
        self.result = result
    }

    enum CodingKeys: String, CodingKey {
        case commandId = "command_id"
        case state
        case exitCode = "exit_code"
        case signal, reason
        case stdoutBytes = "stdout_bytes"
        case stderrBytes = "stderr_bytes"
        case result
    }
}

/// Answer to a status report: the state the server now holds.
public struct StatusResponse: Codable, Sendable, Hashable {
    public var commandId: UUID
    public var state: InvocationState
    public var cancelRequested: Bool

    public init(commandId: UUID, state: InvocationState, cancelRequested: Bool) {
        self.commandId = commandId
        self.state = state
        self.cancelRequested = cancelRequested
    }

    enum CodingKeys: String, CodingKey {
        case commandId = "command_id"
        case state
        case cancelRequested = "cancel_requested"
    }
}
