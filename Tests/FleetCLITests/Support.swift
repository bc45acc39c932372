import FleetCLI
import FleetClient
import FleetProtocol
import FleetTestSupport
import Foundation
import Synchronization

/// stdout and stderr of one in-process run.
final class CapturedOutput: OutputSink {
    private let buffers = Mutex<(out: [UInt8], err: [UInt8])>(([], []))

    func write(_ bytes: [UInt8], toError: Bool) {
        buffers.withLock { if toError { $0.err += bytes } else { $0.out += bytes } }
    }

    var outBytes: [UInt8] { buffers.withLock { $0.out } }
    var out: String { String(decoding: outBytes, as: UTF8.self) }
    var err: String { String(decoding: buffers.withLock { $0.err }, as: UTF8.self) }
}

/// A scriptable agent-svc: a command with fixed invocations, log pages served in order, failures on demand.
final class FakeFleet: FleetOperatorAPI {
    struct State {
        var nodes: [NodeInfo] = []
        var invocations: [InvocationInfo] = []
        var pages: [LogPage] = []
        var submits: [(SubmitCommandRequest, String?)] = []
        /// Submit answers to fail before one succeeds.
        var submitFailures: [FleetAPIError] = []
        var cancels = 0
        var failAll: FleetAPIError?
        var raw: [UInt8] = []
        var selectors: [String?] = []
        /// The output never completes: the command is still running.
        var running = false
        var tokens: [OperatorTokenInfo] = []
        var revokedTokens: [String] = []
        var auditEvents: [AuditEvent] = []
        /// Every audit query: (limit, cursor, actor, action).
        var auditQueries: [(Int, String?, String?, String?)] = []
    }

    static let commandId = UUID(uuidString: "6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10")!
    let state = Mutex(State())
    let created = Date(timeIntervalSince1970: 1_800_000_000)

    func update(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }

    func check() throws(FleetAPIError) {
        if let failure = state.withLock({ $0.failAll }) { throw failure }
    }

    func listNodes(limit: Int, cursor: String?) async throws(FleetAPIError) -> NodeListResponse {
        try await listNodes(selector: nil, limit: limit, cursor: cursor)
    }

    func listNodes(selector: String?, limit: Int, cursor: String?) async throws(FleetAPIError) -> NodeListResponse {
        try check()
        return state.withLock {
            $0.selectors.append(selector)
            return NodeListResponse(nodes: $0.nodes, nextCursor: nil)
        }
    }

    func listCommands(limit: Int, cursor: String?) async throws(FleetAPIError) -> CommandListResponse {
        try check()
        return CommandListResponse(commands: [summary()], nextCursor: nil)
    }

    func summary() -> CommandSummary {
        var counts = StateCounts()
        for invocation in state.withLock({ $0.invocations }) { counts.add(invocation.state) }
        return CommandSummary(
            commandId: Self.commandId, payload: .runCommand(.init(cmd: "uname -a")), createdBy: "alice", createdAt: created,
            targetCount: counts.total, counts: counts)
    }

    func command(_ id: UUID, limit: Int?, cursor: String?, state: InvocationState?) async throws(FleetAPIError) -> CommandDetail {
        try check()
        guard id == Self.commandId else { throw .server(status: 404, code: "not_found", message: "no command \(id.uuidString)") }
        return CommandDetail(command: summary(), invocations: self.state.withLock { $0.invocations })
    }

    func logs(_ id: UUID, nodeId: String?, cursor: String?, limit: Int, wait: Int) async throws(FleetAPIError) -> LogPage {
        try check()
        let index = Int(cursor ?? "0") ?? 0
        let (pages, running) = state.withLock { ($0.pages, $0.running) }
        guard index < pages.count else {
            return LogPage(commandId: id, nodeId: nodeId, chunks: [], nextCursor: String(index), complete: !running)
        }
        var page = pages[index]
        page.nextCursor = String(index + 1)
        if let nodeId { page.chunks = page.chunks.filter { $0.nodeId == nodeId } }
        return page
    }

    func submit(_ request: SubmitCommandRequest) async throws(FleetAPIError) -> SubmitCommandResponse {
        try await submit(request, idempotencyKey: nil)
    }

    func submit(_ request: SubmitCommandRequest, idempotencyKey: String?) async throws(FleetAPIError) -> SubmitCommandResponse {
        try check()
        let failure: FleetAPIError? = state.withLock {
            $0.submits.append((request, idempotencyKey))
            return $0.submitFailures.isEmpty ? nil : $0.submitFailures.removeFirst()
        }
        if let failure { throw failure }
        let targets = state.withLock { $0.invocations.map(\.nodeId) }
        return SubmitCommandResponse(commandId: Self.commandId, commandType: request.commandType, targets: targets, createdAt: created)
    }

    func cancel(_ id: UUID) async throws(FleetAPIError) -> CancelResponse {
        try check()
        state.withLock { $0.cancels += 1 }
        return CancelResponse(commandId: id, cancelled: 0, cancelling: 1)
    }

    func revoke(_ nodeId: String) async throws(FleetAPIError) -> RevokeResponse {
        try check()
        return RevokeResponse(nodeId: nodeId, revokedAt: created)
    }

    func artifacts() async throws(FleetAPIError) -> ArtifactList {
        try check()
        return ArtifactList(artifacts: [
            ArtifactInfo(
                artifactId: "art-1", name: "node-agent", version: "0.2.0", sha256: String(repeating: "a", count: 64), sizeBytes: 10,
                uploadedBy: "alice", createdAt: created)
        ])
    }

    func uploadArtifact(path: String, name: String, version: String) async throws(FleetAPIError) -> ArtifactInfo {
        try check()
        return try await artifacts().artifacts[0]
    }

    func output(
        _ id: UUID, nodeId: String, stream: LogStream, sink: @Sendable ([UInt8]) async -> Void
    ) async throws(FleetAPIError)
        -> OutputRead
    {
        try check()
        let raw = state.withLock { $0.raw }
        for start in stride(from: 0, to: raw.count, by: 1000) { await sink(Array(raw[start..<min(start + 1000, raw.count)])) }
        return OutputRead(bytes: Int64(raw.count), complete: true)
    }
}

extension FakeFleet {
    func operatorTokens() async throws(FleetAPIError) -> OperatorTokenList {
        try check()
        return OperatorTokenList(tokens: state.withLock { $0.tokens })
    }

    func revokeOperatorToken(_ jti: String) async throws(FleetAPIError) -> OperatorTokenRevokeResponse {
        try check()
        return try state.withLock { state throws(FleetAPIError) in
            guard let index = state.tokens.firstIndex(where: { $0.jti == jti }) else {
                throw .server(status: 404, code: "not_found", message: "no operator token '\(jti)'")
            }
            let now = state.tokens[index].revokedAt == nil
            if now { state.tokens[index].revokedAt = created }
            state.revokedTokens.append(jti)
            return OperatorTokenRevokeResponse(token: state.tokens[index], revokedNow: now)
        }
    }

    /// Pages of the stored events, two at a time at most, so the CLI has to follow cursors.
    func audit(limit: Int, cursor: String?, actor: String?, action: String?) async throws(FleetAPIError) -> AuditPage {
        try check()
        return state.withLock { state in
            state.auditQueries.append((limit, cursor, actor, action))
            let start = Int(cursor ?? "0") ?? 0
            let matching = state.auditEvents.filter { (actor == nil || $0.actor == actor) && (action == nil || $0.action == action) }
            let end = min(matching.count, start + min(limit, 2))
            return AuditPage(events: Array(matching[start..<end]), nextCursor: end < matching.count ? String(end) : nil)
        }
    }
}

/// One in-process run of `fleet` against a fake.
struct Run {
    var status: Int32
    var output: CapturedOutput
}

func fleet(
    _ arguments: [String], api: FakeFleet, terminal: TerminalInfo = .none, environment: [String: String] = ["FLEET_TOKEN": "t"],
    clock: any Clock<Duration> = ImmediateClock(), interrupts: @escaping @Sendable () -> AsyncStream<Void> = { AsyncStream { _ in } },
    answer: String? = nil
) async -> Run {
    let output = CapturedOutput()
    let context = CLIContext(
        environment: environment, makeAPI: { _, _ in api }, output: output, terminal: terminal, clock: clock,
        now: { Date(timeIntervalSince1970: 1_800_000_030) }, interrupts: interrupts, ask: { _ in answer },
        makeIdempotencyKey: { "key-1" })
    let status = await FleetCLI.execute(arguments, context: context)
    return Run(status: status, output: output)
}

func invocation(_ node: String, _ state: InvocationState, exit: Int? = nil) -> InvocationInfo {
    InvocationInfo(nodeId: node, state: state, exitCode: exit, createdAt: Date(timeIntervalSince1970: 1_800_000_000))
}

func chunk(_ node: String, _ stream: LogStream, _ offset: Int64, _ text: String) -> LogChunk {
    LogChunk(offset: offset, stream: stream, data: text, nodeId: node)
}

/// A clock whose sleeps return at once: retries and pauses cost no test time.
struct ImmediateClock: Clock {
    typealias Instant = ContinuousClock.Instant
    var now: Instant { .now }
    var minimumResolution: Duration { .zero }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        await Task.yield()
    }
}
