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
        /// Where each stored chunk starts, as the real log store keeps them (replays must match one).
        var boundaries: [UUID: [LogStream: [Int64: Int]]] = [:]
        var statuses: [UUID: [StatusReport]] = [:]
        var polls: [PollRequest] = []
        var registrations: [RegisterRequest] = []
        /// Requests to fail with 503 before answering normally, per path.
        var failures: [String: Int] = [:]
        /// Requests answered with this HTTP status (and no effect), per path.
        var refusals: [String: Int] = [:]
        /// Paths answered with a connection error while set.
        var down = false
        /// Requests that met `down`, per path.
        var refusedWhileDown: [String: Int] = [:]
        var revoked = false
        var uploadRequests = 0
        /// Uploads that came as binary batches.
        var binaryUploads = 0
        /// Binary uploads are answered 415, as by a server that predates them.
        var refuseBinary = false
        /// Pauses before storing the binary upload whose first chunk is at this offset, once
        /// (to let a later upload overtake it).
        var delayUploadAt: [Int64: Duration] = [:]
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
            if state.down {
                state.refusedWhileDown[request.path, default: 0] += 1
                return true
            }
            if let count = state.failures[request.path], count > 0 {
                state.failures[request.path] = count - 1
                return true
            }
            return false
        }
        if failNow { throw Down() }
        if let status = state.withLock({ $0.refusals[request.path] }) { return error(status, "refused by the test") }
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
        case FleetPaths.uploadLogs where request.contentType == BinaryChunkBatch.contentType:
            guard !state.withLock({ $0.refuseBinary }) else { return error(415, "unsupported media type") }
            let bytes = Array(body)
            let (id, frames) = try bytes.withUnsafeBytes { try BinaryChunkBatch.decode($0) }
            if let first = frames.first, let delay = state.withLock({ $0.delayUploadAt.removeValue(forKey: first.offset) }) {
                try await Task.sleep(for: delay)
            }
            state.withLock { $0.binaryUploads += 1 }
            return try upload(id, frames.map { (stream: $0.stream, offset: $0.offset, bytes: Array(bytes[$0.range])) })
        case FleetPaths.uploadLogs:
            let upload = try decoder.decode(UploadLogsRequest.self, from: body)
            var chunks: [(stream: LogStream, offset: Int64, bytes: [UInt8])] = []
            for chunk in upload.chunks {
                guard let bytes = chunk.decodedBytes() else { return error(409, "chunk conflict") }
                chunks.append((chunk.stream, chunk.offset, bytes))
            }
            return try self.upload(upload.commandId, chunks)
        default:
            return error(404, "no route")
        }
    }

    private func upload(_ id: UUID, _ decoded: [(stream: LogStream, offset: Int64, bytes: [UInt8])]) throws -> TransportResponse {
        let result = state.withLock { state -> Result<UploadLogsResponse, ConflictError> in
            state.uploadRequests += 1
            var receipts: [ChunkReceipt] = []
            let limit = state.receiptLimit ?? Int.max
            // The real store's rules: append at the end, replay only an identical stored chunk.
            let ends = (state.stored[id] ?? [:]).mapValues { Int64($0.count) }
            let (placements, _) = ChunkPlacement.place(
                decoded.map { (stream: $0.stream, offset: $0.offset, length: $0.bytes.count) }, storedEnds: ends)
            for (chunk, placement) in zip(decoded, placements).prefix(limit) {
                let bytes = chunk.bytes
                var stream = state.stored[id]?[chunk.stream] ?? []
                switch placement {
                case .append:
                    stream.append(contentsOf: bytes)
                    state.stored[id, default: [:]][chunk.stream] = stream
                    state.boundaries[id, default: [:]][chunk.stream, default: [:]][chunk.offset] = bytes.count
                    receipts.append(ChunkReceipt(stream: chunk.stream, offset: chunk.offset, length: bytes.count, outcome: .stored))
                case .replay:
                    let start = Int(chunk.offset)
                    guard state.boundaries[id]?[chunk.stream]?[chunk.offset] == bytes.count,
                        Array(stream[start..<start + bytes.count]) == bytes
                    else { return .failure(ConflictError()) }
                    receipts.append(ChunkReceipt(stream: chunk.stream, offset: chunk.offset, length: bytes.count, outcome: .duplicate))
                case .gap, .overlap:
                    return .failure(ConflictError())
                }
            }
            let stored = state.stored[id] ?? [:]
            return .success(
                UploadLogsResponse(
                    commandId: id, receipts: receipts, stdoutBytes: Int64(stored[.stdout]?.count ?? 0),
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
