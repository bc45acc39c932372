import FleetProtocol
import Foundation

/// Where an invocation stands on this node (the server's states are finer; these are ours).
public enum LocalPhase: String, Sendable, Hashable, CaseIterable {
    /// Recorded, not started yet (waiting for a free slot, or the agent stopped before it ran).
    case received
    /// The process was started; after a restart this means it was lost.
    case running
    /// A final state is known; it may still await upload of output or its report.
    case finished
}

/// How an invocation ended, as reported to the server.
public struct FinalOutcome: Sendable, Hashable {
    public var state: InvocationState
    public var exitCode: Int?
    public var signal: Int?
    public var reason: String?
    /// Structured facts reported with the state (package versions, agent version).
    public var result: InvocationResult?

    public init(
        state: InvocationState, exitCode: Int? = nil, signal: Int? = nil, reason: String? = nil,
        result: InvocationResult? = nil
    ) {
        self.state = state
        self.exitCode = exitCode
        self.signal = signal
        self.reason = reason
        self.result = result
    }
}

/// One invocation as the agent's SQLite store holds it.
public struct LocalInvocation: Sendable, Hashable {
    public var commandId: UUID
    public var payload: CommandPayload
    public var phase: LocalPhase
    public var outcome: FinalOutcome?
    /// Bytes cut into chunks so far (the offsets the next chunks get).
    public var stdoutBytes: Int64
    public var stderrBytes: Int64
    public var runningReported: Bool
    public var finalReported: Bool
    public var cancelRequested: Bool
    public var deliveryCount: Int
    public var receivedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
}

/// A cut piece of output waiting in SQLite for the server's receipt.
public struct StoredChunk: Sendable, Hashable {
    /// Order in which chunks were cut (across both streams of all invocations).
    public var seq: Int64
    public var commandId: UUID
    public var stream: LogStream
    public var offset: Int64
    public var bytes: Data

    /// The wire form of this chunk.
    public var logChunk: LogChunk { LogChunk(offset: offset, stream: stream, bytes: bytes) }

    /// Where this chunk is, without its bytes.
    public var ref: ChunkRef { ChunkRef(seq: seq, stream: stream, offset: offset, length: bytes.count) }
}

/// A stored chunk's place: what an upload's receipts are matched against.
public struct ChunkRef: Sendable, Hashable {
    public var seq: Int64
    public var stream: LogStream
    public var offset: Int64
    public var length: Int
}

/// Waiting chunks of one invocation in a binary upload body (``BinaryChunkBatch``).
public struct PendingBatch: Sendable {
    public var chunks: [ChunkRef]
    public var body: Data
}

/// What recording a delivered assignment found.
public enum RecordResult: Sendable, Hashable {
    /// First time this command id is seen: it may be executed.
    case new
    /// Seen before (redelivery): never execute again.
    case known(LocalInvocation)
}

/// An invocation found `running` at start-up: the previous agent died while it ran.
public struct InterruptedInvocation: Sendable, Hashable {
    public var commandId: UUID
    /// Its process group leader, if it had started.
    public var pid: Int32?
    /// The leader's start time (clock ticks since boot), to tell it from a reused pid.
    public var pidStartTime: Int64?
}
