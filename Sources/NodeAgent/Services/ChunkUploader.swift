import FleetProtocol
import FleetSupport
import Foundation
import Logging
import ServiceLifecycle

/// Sends stored chunks to agent-svc in batches, in the order they were cut, and deletes only
/// what the server's receipts confirm. Resumes from SQLite after any restart.
public final class ChunkUploader: Service {
    /// Batch limits: the server takes 8 MiB bodies; JSON escaping can inflate text up to 6×.
    static let maxChunksPerBatch = 64
    static let maxRawBytesPerBatch = 2 * 1024 * 1024
    static let maxEncodedBytesPerBatch = 6 * 1024 * 1024
    /// Conflicts in a row after which an invocation's chunks are given up (logged as an error).
    static let maxConflicts = 5

    let api: AgentAPI
    let identity: IdentityManager
    let store: AgentStore
    let logger: Logger
    let flushTimeout: Duration
    /// Called after an upload deleted chunks (a final report may now be due).
    let onAcknowledged: @Sendable () -> Void
    private let loop: RetryLoop

    public init(
        api: AgentAPI, identity: IdentityManager, store: AgentStore, wakeup: Wakeup, flushTimeout: Duration,
        logger: Logger, retryBase: Duration = .milliseconds(500), clock: any Clock<Duration> = ContinuousClock(),
        onAcknowledged: @escaping @Sendable () -> Void = {}
    ) {
        self.api = api
        self.identity = identity
        self.store = store
        self.flushTimeout = flushTimeout
        self.logger = logger
        self.onAcknowledged = onAcknowledged
        self.loop = RetryLoop(
            "upload", peer: "agent-svc", logger: logger, backoff: Backoff(base: retryBase), wakeup: wakeup, clock: clock)
    }

    public func run() async throws {
        var conflicts: [UUID: Int] = [:]
        // More may be waiting after a round that delivered something: go again at once.
        try await loop.run { try await uploadRound(conflicts: &conflicts) ? .more : .idle }
        // Uploads what it can before the agent exits, bounded by the flush timeout.
        if let error = await loop.drain(within: flushTimeout, { try await uploadRound(conflicts: &conflicts) }) {
            let left = (try? await store.pendingChunkBytes()) ?? -1
            logger.warning(
                "output not yet delivered stays in the local store for the next start",
                metadata: ["bytes": "\(left)", "error": "\(error)"])
        }
    }

    /// One batch per invocation that has chunks waiting (so one busy command cannot starve the
    /// others). Returns whether anything was acknowledged; throws on a transient failure.
    ///
    /// A failure of the server or the link is the same for every command, so it ends the round.
    /// A local failure of one command's batch (its delete found the disk full, say) does not: the
    /// other commands' output still goes out, and the round fails only if nothing did.
    func uploadRound(conflicts: inout [UUID: Int]) async throws -> Bool {
        var progressed = false
        var localFailure: (any Error)?
        for id in try await store.invocationsWithChunks() {
            do {
                if try await uploadBatch(of: id, conflicts: &conflicts) { progressed = true }
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

    /// Sends the oldest batch of one invocation and deletes what the receipts confirm; returns
    /// whether anything was acknowledged.
    private func uploadBatch(of id: UUID, conflicts: inout [UUID: Int]) async throws -> Bool {
        let prepared = Self.batch(try await store.pendingChunks(id, maxChunks: Self.maxChunksPerBatch, maxBytes: Self.maxRawBytesPerBatch))
        guard !prepared.isEmpty else { return false }
        let chunks = prepared.map(\.stored)
        let token = try await identity.token()
        let answer: UploadLogsResponse
        do {
            answer = try await api.uploadLogs(UploadLogsRequest(commandId: id, chunks: prepared.map(\.wire)), token: token)
        } catch .conflict(let message) {
            conflicts[id, default: 0] += 1
            logger.error("server refused chunks as conflicting", metadata: ["command_id": "\(id)", "error": "\(message)"])
            if conflicts[id, default: 0] >= Self.maxConflicts {
                try await giveUp(id, because: "conflict (409) \(Self.maxConflicts) times: \(message)")
                conflicts[id] = nil
            }
            return false
        } catch {
            // 403 (not ours), 404 (unknown), 413 or another 4xx: resending will not help.
            guard case .giveUp = error.disposition else { throw error }
            try await giveUp(id, because: "\(error)")
            return false
        }
        conflicts[id] = nil
        let sent = Set(chunks.map { ChunkKey(stream: $0.stream, offset: $0.offset, length: $0.bytes.count) })
        let acknowledged = answer.receipts
            .filter { sent.contains(ChunkKey(stream: $0.stream, offset: $0.offset, length: $0.length)) }
            .map { (stream: $0.stream, offset: $0.offset) }
        guard try await store.deleteChunks(id, acknowledged: acknowledged) > 0 else { return false }
        onAcknowledged()
        return true
    }

    /// Drops an invocation's chunks the server will never accept, loudly.
    private func giveUp(_ id: UUID, because reason: String) async throws {
        let pending = try await store.pendingChunks(id, maxChunks: Int.max, maxBytes: Int.max)
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
