import FleetProtocol
import Foundation
import NodeAgent
import Synchronization

/// An in-process stand-in for agent-svc's node-facing API, implementing the contract the agent
/// relies on: contiguous chunk offsets per stream, receipts per chunk, status transitions.
final class FakeAgentService: AgentTransport {
    struct State {
        var queued: [Assignment] = []
        var cancels: Set<UUID> = []
        var stored: [UUID: [LogStream: [UInt8]]] = [:]
        var statuses: [UUID: [StatusReport]] = [:]
        var polls: [PollRequest] = []
        var registrations: [RegisterRequest] = []
        /// Requests to fail with 503 before answering normally, per path.
        var failures: [String: Int] = [:]
        /// Paths answered with a connection error while set.
        var down = false
        var revoked = false
        var uploadRequests = 0
        /// When set, only the first N chunks of each upload get a receipt.
        var receiptLimit: Int?
    }

    let state = Mutex(State())
    let enrollmentToken = "enroll-secret"
    let tokenLifetime: TimeInterval

    init(tokenLifetime: TimeInterval = 24 * 3600) {
        self.tokenLifetime = tokenLifetime
    }

    func queue(_ payload: CommandPayload, id: UUID = UUID()) -> UUID {
        state.withLock {
            $0.queued.append(Assignment(commandId: id, payload: payload, leaseExpiresAt: Date() + 60, deliveryCount: 1))
        }
        return id
    }

    func output(_ id: UUID, _ stream: LogStream) -> [UInt8] { state.withLock { $0.stored[id]?[stream] ?? [] } }
    func statuses(_ id: UUID) -> [StatusReport] { state.withLock { $0.statuses[id] ?? [] } }
    func finalStatus(_ id: UUID) -> StatusReport? { statuses(id).last { $0.state.isTerminal } }

    func send(_ request: TransportRequest, timeout: Duration) async throws -> TransportResponse {
        struct Down: Error {}
        let failNow = state.withLock { state -> Bool in
            if state.down { return true }
            if let count = state.failures[request.path], count > 0 {
                state.failures[request.path] = count - 1
                return true
            }
            return false
        }
        if failNow { throw Down() }
        let body = request.body ?? Data()
        let decoder = FleetJSON.makeDecoder()
        if request.path == FleetPaths.register {
            guard request.headers["X-Enrollment-Token"] == enrollmentToken else { return error(401, "bad enrollment token") }
            let register = try decoder.decode(RegisterRequest.self, from: body)
            state.withLock { $0.registrations.append(register) }
            return try answer(201, NodeTokenResponse(nodeId: register.nodeId, token: "tok-1", expiresAt: Date() + tokenLifetime))
        }
        guard request.headers["Authorization"]?.hasPrefix("Bearer tok-") == true, !state.withLock({ $0.revoked }) else {
            return error(401, "token revoked")
        }
        switch request.path {
        case FleetPaths.refreshToken:
            return try answer(200, NodeTokenResponse(nodeId: "n", token: "tok-2", expiresAt: Date() + tokenLifetime))
        case FleetPaths.poll:
            let poll = try decoder.decode(PollRequest.self, from: body)
            let (assignments, cancels) = state.withLock { state in
                state.polls.append(poll)
                defer { state.queued.removeAll() }
                return (state.queued, Array(state.cancels))
            }
            if assignments.isEmpty && cancels.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            return try answer(200, PollResponse(assignments: assignments, cancel: cancels))
        case FleetPaths.status:
            let report = try decoder.decode(StatusReport.self, from: body)
            let cancel = state.withLock { state in
                state.statuses[report.commandId, default: []].append(report)
                return state.cancels.contains(report.commandId)
            }
            return try answer(200, StatusResponse(commandId: report.commandId, state: report.state, cancelRequested: cancel))
        case FleetPaths.uploadLogs:
            return try upload(try decoder.decode(UploadLogsRequest.self, from: body))
        default:
            return error(404, "no route")
        }
    }

    private func upload(_ request: UploadLogsRequest) throws -> TransportResponse {
        let result = state.withLock { state -> Result<UploadLogsResponse, ConflictError> in
            state.uploadRequests += 1
            var receipts: [ChunkReceipt] = []
            let limit = state.receiptLimit ?? Int.max
            for chunk in request.chunks.prefix(limit) {
                guard let bytes = chunk.decodedBytes() else { return .failure(ConflictError()) }
                var stream = state.stored[request.commandId]?[chunk.stream] ?? []
                if chunk.offset == Int64(stream.count) {
                    stream.append(contentsOf: bytes)
                    state.stored[request.commandId, default: [:]][chunk.stream] = stream
                    receipts.append(ChunkReceipt(stream: chunk.stream, offset: chunk.offset, length: bytes.count, outcome: .stored))
                } else if chunk.offset + Int64(bytes.count) <= Int64(stream.count),
                    Array(stream[Int(chunk.offset)..<Int(chunk.offset) + bytes.count]) == bytes
                {
                    receipts.append(ChunkReceipt(stream: chunk.stream, offset: chunk.offset, length: bytes.count, outcome: .duplicate))
                } else {
                    return .failure(ConflictError())
                }
            }
            let stored = state.stored[request.commandId] ?? [:]
            return .success(
                UploadLogsResponse(
                    commandId: request.commandId, receipts: receipts, stdoutBytes: Int64(stored[.stdout]?.count ?? 0),
                    stderrBytes: Int64(stored[.stderr]?.count ?? 0)))
        }
        switch result {
        case .success(let response): return try answer(200, response)
        case .failure: return error(409, "chunk conflict")
        }
    }

    private struct ConflictError: Error {}

    private func answer(_ status: Int, _ value: some Encodable) throws -> TransportResponse {
        TransportResponse(status: status, body: try FleetJSON.makeEncoder().encode(value))
    }

    private func error(_ status: Int, _ message: String) -> TransportResponse {
        let body = (try? FleetJSON.makeEncoder().encode(ErrorResponse(code: "e\(status)", message: message))) ?? Data()
        return TransportResponse(status: status, body: body)
    }
}
