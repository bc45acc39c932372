import FleetProtocol
import FleetSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Sends stored chunks to agent-svc in batches, in the order they were cut, and deletes only
/// what the server's receipts confirm. Resumes from SQLite after any restart.
///
/// Batches go as binary (``BinaryChunkBatch``) unless configured otherwise or the server does
/// not take them (an older agent-svc answers 400/415): then as JSON for the rest of the run.
/// Up to ``maxInFlight`` batches of one invocation are in flight at once, so reading SQLite,
/// sending and the server's insert overlap; their answers are taken in the order they were cut.
public final class ChunkUploader: Service {
    /// JSON batch limits: the server takes 8 MiB bodies; JSON escaping can inflate text up to 6×.
    static let maxChunksPerBatch = 64
    static let maxRawBytesPerBatch = 2 * 1024 * 1024
    static let maxEncodedBytesPerBatch = 6 * 1024 * 1024
    /// Binary batch limits: no inflation, only 13 bytes of framing per chunk; well under 8 MiB.
    static let maxChunksPerBinaryBatch = 256
    static let maxBinaryBytesPerBatch = 4 * 1024 * 1024
    /// Conflicts in a row after which an invocation's chunks are given up (logged as an error).
    static let maxConflicts = 5

    let api: AgentAPI
    let identity: IdentityManager
    let store: AgentStore
    let logger: Logger
    let flushTimeout: Duration
    /// Batches of one invocation sent before the oldest is answered.
    let maxInFlight: Int
    /// Called after an upload deleted chunks (a final report may now be due).
    let onAcknowledged: @Sendable () -> Void
    /// Called when a round finds nothing left after rounds that delivered (the buffers of a
    /// burst of output are free now).
    let onDrained: @Sendable () -> Void
    private let loop: RetryLoop
    private let binary: Atomic<Bool>

    public init(
        api: AgentAPI, identity: IdentityManager, store: AgentStore, wakeup: Wakeup, flushTimeout: Duration,
        logger: Logger, retryBase: Duration = .milliseconds(500), clock: any Clock<Duration> = ContinuousClock(),
        format: UploadFormat = .binary, maxInFlight: Int = 2, onAcknowledged: @escaping @Sendable () -> Void = {},
        onDrained: @escaping @Sendable () -> Void = {}
    ) {
        self.api = api
        self.identity = identity
        self.store = store
        self.flushTimeout = flushTimeout
        self.logger = logger
        self.maxInFlight = max(1, maxInFlight)
        self.onAcknowledged = onAcknowledged
        self.onDrained = onDrained
        self.binary = Atomic(format == .binary)
        self.loop = RetryLoop(
            "upload", peer: "agent-svc", logger: logger, backoff: Backoff(base: retryBase), wakeup: wakeup, clock: clock)
    }

    public func run() async throws {
        var conflicts: [UUID: Int] = [:]
        // More may be waiting after a round that delivered something: go again at once.
        var delivered = false
        try await loop.run {
            if try await uploadRound(conflicts: &conflicts) {
                delivered = true
                return .more
            }
            if delivered { onDrained() }
            delivered = false
            return .idle
        }
        // Uploads what it can before the agent exits, bounded by the flush timeout.
        if let error = await loop.drain(within: flushTimeout, { try await uploadRound(conflicts: &conflicts) }) {
            let left = (try? await store.pendingChunkBytes()) ?? -1
            logger.warning(
                "output not yet delivered stays in the local store for the next start",
                metadata: ["bytes": "\(left)", "error": "\(error)"])
        }
    }

    /// One pass over every invocation that has chunks waiting (so one busy command cannot starve
    /// the others). Returns whether anything was acknowledged; throws on a transient failure.
    ///
    /// A failure of the server or the link is the same for every command, so it ends the round.
    /// A local failure of one command's batch (its delete found the disk full, say) does not: the
    /// other commands' output still goes out, and the round fails only if nothing did.
    func uploadRound(conflicts: inout [UUID: Int]) async throws -> Bool {
        var progressed = false
        var localFailure: (any Error)?
        for id in try await store.invocationsWithChunks() {
            do {
                if try await upload(id, conflicts: &conflicts) { progressed = true }
            } catch let error as AgentAPIError {
                throw error
            } catch let error as AgentError {
                throw error
            } catch {
                logger.warning(
                    "could not deliver one command's output this round; carrying on with the others",
                    metadata: ["command_id": "\(id)", "error": "\(error)"])
                localFailure = localFailure ?? error
            }
        }
        if !progressed, let localFailure { throw localFailure }
        return progressed
    }

    /// A batch on its way: its chunks and the request carrying them.
    private struct InFlight {
        var chunks: [ChunkRef]
        var answer: Task<UploadLogsResponse, any Error>
        /// Sent while an earlier batch was unanswered: it may reach the server first and be
        /// refused as a gap; it is then sent again, not counted as a conflict.
        var behind: Bool
    }

    /// Sends what one invocation has waiting, up to ``maxInFlight`` batches at a time, and
    /// deletes what each answer confirms, oldest batch first. Stops at the first batch that is
    /// not wholly acknowledged (the next round reads the store again). Returns whether anything
    /// was acknowledged.
    private func upload(_ id: UUID, conflicts: inout [UUID: Int]) async throws -> Bool {
        var window: [InFlight] = []
        defer { for batch in window { batch.answer.cancel() } }
        var lastSeq: Int64 = 0
        var exhausted = false
        var progressed = false
        while true {
            while window.count < maxInFlight, !exhausted {
                let next = try await nextBatch(of: id, after: lastSeq)
                guard let last = next.chunks.last else {
                    exhausted = true
                    break
                }
                lastSeq = last.seq
                let batch = InFlight(chunks: next.chunks, answer: try await send(next, of: id), behind: !window.isEmpty)
                window.append(batch)
            }
            guard !window.isEmpty else { return progressed }
            let head = window.removeFirst()
            let answer: UploadLogsResponse
            do {
                answer = try await head.answer.value
            } catch let error as AgentAPIError where head.behind {
                // It may have reached the server before the batch ahead of it (a gap then). That
                // one was acknowledged, so the next round, at once, sends this one again in order.
                logger.debug("a pipelined batch was refused; sending it again", metadata: ["command_id": "\(id)", "error": "\(error)"])
                return true
            } catch let error as AgentAPIError {
                try await handle(error, of: id, conflicts: &conflicts)
                return progressed
            }
            conflicts[id] = nil
            let (acknowledged, complete) = Self.acknowledged(head.chunks, by: answer)
            if try await store.deleteChunks(id, acknowledged: acknowledged) > 0 {
                progressed = true
                onAcknowledged()
            }
            guard complete else { return progressed }
        }
    }

    /// The next batch to send, in the upload form in use.
    private struct Outgoing {
        var chunks: [ChunkRef]
        var body: Body
        enum Body {
            case binary(Data)
            case json([LogChunk])
        }
    }

    /// The oldest chunks of `id` after `seq`, sized and encoded for the upload form in use.
    private func nextBatch(of id: UUID, after seq: Int64) async throws -> Outgoing {
        if binary.load(ordering: .relaxed) {
            let batch = try await store.pendingBatch(
                id, after: seq, maxChunks: Self.maxChunksPerBinaryBatch, maxBytes: Self.maxBinaryBytesPerBatch)
            return Outgoing(chunks: batch.chunks, body: .binary(batch.body))
        }
        let batch = Self.batch(try await store.pendingChunks(id, after: seq, maxChunks: Self.maxChunksPerBatch, maxBytes: Self.maxRawBytesPerBatch))
        return Outgoing(chunks: batch.map { $0.stored.ref }, body: .json(batch.map { $0.wire }))
    }

    /// Starts the request for one batch.
    private func send(_ batch: Outgoing, of id: UUID) async throws -> Task<UploadLogsResponse, any Error> {
        let token = try await identity.token()
        switch batch.body {
        case .json(let chunks):
            let request = UploadLogsRequest(commandId: id, chunks: chunks)
            return Task { [api] in try await api.uploadLogs(request, token: token) }
        case .binary(let body):
            return Task { [self] in try await sendBinary(body, token: token) }
        }
    }

    /// One binary batch. An agent-svc that predates binary uploads reads the body as JSON and
    /// refuses it (400 or 415): the uploader then switches to JSON, and the batch is cut again
    /// for JSON's limits after a retry's pause.
    private func sendBinary(_ body: Data, token: String) async throws -> UploadLogsResponse {
        do {
            return try await api.uploadLogs(binary: body, token: token)
        } catch let error {
            guard case .rejected(let status, let message) = error, status == 400 || status == 415 else { throw error }
            if binary.exchange(false, ordering: .relaxed) {
                logger.warning(
                    "agent-svc refused a binary upload; sending output as JSON from now on",
                    metadata: ["status": "\(status)", "error": "\(message)"])
            }
            throw AgentAPIError.unavailable("binary upload refused (\(status)); retrying as JSON")
        }
    }

    /// A refused batch: conflicts are counted and finally given up; other refusals that
    /// resending cannot cure are given up at once; the rest is thrown (retried with backoff).
    private func handle(_ error: AgentAPIError, of id: UUID, conflicts: inout [UUID: Int]) async throws {
        if case .conflict(let message) = error {
            conflicts[id, default: 0] += 1
            logger.error("server refused chunks as conflicting", metadata: ["command_id": "\(id)", "error": "\(message)"])
            if conflicts[id, default: 0] >= Self.maxConflicts {
                try await giveUp(id, because: "conflict (409) \(Self.maxConflicts) times: \(message)")
                conflicts[id] = nil
            }
            return
        }
        // 403 (not ours), 404 (unknown), 413 or another 4xx: resending will not help.
        guard case .giveUp = error.disposition else { throw error }
        try await giveUp(id, because: "\(error)")
    }

    /// The chunks of `batch` the answer has a receipt for, and whether that is all of them.
    static func acknowledged(
        _ batch: [ChunkRef], by answer: UploadLogsResponse
    ) -> (chunks: [(stream: LogStream, offset: Int64)], complete: Bool) {
        let sent = Set(batch.map { ChunkKey(stream: $0.stream, offset: $0.offset, length: $0.length) })
        let confirmed = Set(
            answer.receipts.map { ChunkKey(stream: $0.stream, offset: $0.offset, length: $0.length) }.filter(sent.contains))
        return (confirmed.map { (stream: $0.stream, offset: $0.offset) }, confirmed.count == sent.count)
    }

    /// Drops an invocation's chunks the server will never accept, loudly.
    private func giveUp(_ id: UUID, because reason: String) async throws {
        let pending = try await store.pendingChunks(id, after: 0, maxChunks: Int.max, maxBytes: Int.max)
        logger.error(
            "giving up on output the server refuses",
            metadata: ["command_id": "\(id)", "chunks": "\(pending.count)", "reason": "\(reason)"])
        try await store.deleteChunks(id, acknowledged: pending.map { (stream: $0.stream, offset: $0.offset) })
        onAcknowledged()
    }

    /// Trims a batch so its JSON stays well under the server's body limit.
    /// Each chunk's wire form is built once here (validating UTF-8 scans every byte).
    static func batch(_ chunks: [StoredChunk]) -> [(stored: StoredChunk, wire: LogChunk)] {
        var total = 0
        var result: [(stored: StoredChunk, wire: LogChunk)] = []
        for chunk in chunks {
            let wire = chunk.logChunk
            let size = encodedSize(wire)
            if !result.isEmpty, total + size > maxEncodedBytesPerBatch { break }
            total += size
            result.append((chunk, wire))
        }
        return result
    }

    /// Bytes `data` takes in the JSON body (escapes counted at their worst, `\u00XX`).
    static func encodedSize(_ chunk: LogChunk) -> Int {
        switch chunk.encoding {
        case .base64: return chunk.data.utf8.count + 64
        case .utf8:
            var data = chunk.data
            return data.withUTF8 { bytes in
                var size = 64 + bytes.count
                for byte in bytes where byte < 0x20 || byte == 0x22 || byte == 0x5C { size += 5 }
                return size
            }
        }
    }

    private struct ChunkKey: Hashable {
        var stream: LogStream
        var offset: Int64
        var length: Int
    }
}

/// How the agent uploads output.
public enum UploadFormat: String, Sendable, CaseIterable {
    /// ``BinaryChunkBatch`` bodies (falls back to JSON against a server that does not take them).
    case binary
    /// The JSON body of the seed's examples.
    case json
}
