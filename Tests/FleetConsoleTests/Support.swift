import FleetClient
import FleetConsole
import FleetProtocol
import Foundation
import Synchronization
import Testing

/// A fixed "now" so ages render the same on every run.
let testNow = Date(timeIntervalSince1970: 1_780_000_000)

func node(
    _ id: String, online: Bool = true, revoked: Bool = false, attrs: [String: String] = [:], seen: TimeInterval = 12,
    version: String = "0.1.0"
) -> NodeInfo {
    NodeInfo(
        nodeId: id, attrs: attrs, status: revoked ? .revoked : .active, online: online, agentVersion: version,
        registeredAt: testNow.addingTimeInterval(-86_400), lastSeenAt: testNow.addingTimeInterval(-seen))
}

func uuid(_ n: Int) -> UUID {
    UUID(uuidString: String(format: "%08x-0000-4000-8000-000000000000", n)) ?? UUID()
}

func summary(_ n: Int, cmd: String, targets: Int, counts: [InvocationState: Int], age: TimeInterval) -> CommandSummary {
    var stateCounts = StateCounts()
    for (state, count) in counts { stateCounts.add(state, count) }
    return CommandSummary(
        commandId: uuid(n), payload: .runCommand(RunCommandPayload(cmd: cmd, timeoutSec: 60)), createdBy: "alice",
        createdAt: testNow.addingTimeInterval(-age), targetCount: targets, counts: stateCounts)
}

func chunk(_ text: String, at offset: Int64, _ stream: LogStream = .stdout, node: String? = nil) -> LogChunk {
    LogChunk(offset: offset, stream: stream, data: text, nodeId: node)
}

/// Compares a rendered screen with its golden text; on mismatch prints both, line by line.
func expectGolden(_ screen: String, _ expected: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    // Trailing blanks are not compared (editors strip them); frame widths are tested separately.
    func trimmed(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in String(line.reversed().drop(while: { $0 == " " }).reversed()) }
            .joined(separator: "\n")
    }
    let actual = trimmed(screen)
    if actual != trimmed(expected) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-console-golden")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? actual.write(to: dir.appendingPathComponent("\(name).txt"), atomically: true, encoding: .utf8)
    }
    #expect(
        actual == trimmed(expected), "golden \(name) differs; actual written to $TMPDIR/fleet-console-golden/\(name).txt",
        sourceLocation: sourceLocation)
}

/// A scriptable ``FleetAPI``: fixed lists, log pages keyed by cursor, injectable failures.
final class FakeAPI: FleetAPI {
    struct State {
        var nodes: [NodeInfo] = []
        var commands: [CommandSummary] = []
        var details: [UUID: CommandDetail] = [:]
        /// Pages by the cursor that asks for them (nil = from the start).
        var pages: [String?: LogPage] = [:]
        /// Failures to throw before answering, per cursor.
        var failuresBefore: [String?: Int] = [:]
        /// What those failures are.
        var failure = FleetAPIError.unreachable("connection refused")
        var logCursors: [String?] = []
        /// Every command detail asked for, as its page request.
        var commandCalls: [InvocationPageRequest] = []
        var submitted: [SubmitCommandRequest] = []
        var cancelled: [UUID] = []
        var revoked: [String] = []
        var artifacts: [ArtifactInfo] = []
        var artifactCalls = 0
        var unreachable = false
    }
    let state = Mutex(State())

    func listNodes(limit: Int, cursor: String?) async throws(FleetAPIError) -> NodeListResponse {
        let (nodes, down) = state.withLock { ($0.nodes, $0.unreachable) }
        if down { throw .unreachable("connection refused") }
        let start = cursor.flatMap(Int.init) ?? 0
        let end = min(nodes.count, start + limit)
        return NodeListResponse(nodes: Array(nodes[start..<end]), nextCursor: end < nodes.count ? String(end) : nil)
    }

    func listCommands(limit: Int, cursor: String?) async throws(FleetAPIError) -> CommandListResponse {
        CommandListResponse(commands: state.withLock { $0.commands }, nextCursor: nil)
    }

    /// Pages the stored invocations like agent-svc: in order, filtered by state, the cursor an index.
    func command(
        _ id: UUID, limit: Int?, cursor: String?, state: InvocationState?
    ) async throws(FleetAPIError)
        -> CommandDetail
    {
        let limit = limit ?? InvocationPageRequest.pageSize
        let request = InvocationPageRequest(commandId: id, cursor: cursor, state: state, limit: limit)
        guard
            let detail = self.state.withLock({
                $0.commandCalls.append(request)
                return $0.details[id]
            })
        else {
            throw .server(status: 404, code: "not_found", message: "no command \(id)")
        }
        return Self.page(of: detail, request)
    }

    /// The page of `detail`'s invocations that `request` names.
    static func page(of detail: CommandDetail, _ request: InvocationPageRequest) -> CommandDetail {
        let matching = detail.invocations.filter { request.state == nil || $0.state == request.state }
        let start = min(matching.count, request.cursor.flatMap(Int.init) ?? 0)
        let end = min(matching.count, start + request.limit)
        return CommandDetail(
            command: detail.command, invocations: Array(matching[start..<end]),
            nextCursor: end < matching.count ? String(end) : nil)
    }

    func logs(_ id: UUID, nodeId: String?, cursor: String?, limit: Int, wait: Int) async throws(FleetAPIError) -> LogPage {
        let result: Result<LogPage, FleetAPIError> = state.withLock { state in
            state.logCursors.append(cursor)
            if let left = state.failuresBefore[cursor], left > 0 {
                state.failuresBefore[cursor] = left - 1
                return .failure(state.failure)
            }
            guard let page = state.pages[cursor] else {
                return .success(LogPage(commandId: id, nodeId: nodeId, chunks: [], nextCursor: cursor ?? "", complete: false))
            }
            return .success(page)
        }
        return try result.get()
    }

    func submit(_ request: SubmitCommandRequest) async throws(FleetAPIError) -> SubmitCommandResponse {
        state.withLock { $0.submitted.append(request) }
        return SubmitCommandResponse(commandId: uuid(99), commandType: request.commandType, targets: request.targets, createdAt: testNow)
    }

    func cancel(_ id: UUID) async throws(FleetAPIError) -> CancelResponse {
        state.withLock { $0.cancelled.append(id) }
        return CancelResponse(commandId: id, cancelled: 0, cancelling: 1)
    }

    func revoke(_ nodeId: String) async throws(FleetAPIError) -> RevokeResponse {
        state.withLock { $0.revoked.append(nodeId) }
        return RevokeResponse(nodeId: nodeId, revokedAt: testNow)
    }

    func artifacts() async throws(FleetAPIError) -> ArtifactList {
        let (list, down) = state.withLock { state in
            state.artifactCalls += 1
            return (state.artifacts, state.unreachable)
        }
        if down { throw .unreachable("connection refused") }
        return ArtifactList(artifacts: list)
    }
}
