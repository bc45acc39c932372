import FleetProtocol
import Foundation
import Logging
import Synchronization

/// Turns one process's output into chunks in SQLite, in the order it was read.
///
/// Readers of both pipes cut their bytes into chunks under one lock (``OutputChunker``), so
/// offsets and order never race and a read costs a copy, not a hand-off to another task. Cut
/// chunks queue for a single storer (``runWriter()``), which commits whatever queued while its
/// previous commit ran in one transaction. A reader waits only when the queue holds
/// ``queueLimit`` bytes: the storer is behind, because SQLite is slow or because there is no
/// room under the buffer cap or on the disk, which it waits out before taking more. No room
/// therefore stops the pipe and the process blocks (back-pressure, never dropped bytes); what
/// is in memory meanwhile is bounded by the queue and one chunk being cut.
///
/// One exception: once the process was told to stop (timeout, cancel, shutdown) and the state
/// directory stays full for `abandonAfter`, the rest of its output cannot be stored anywhere.
/// The recorder then gives it up, lets the pipes drain so the process can be reaped, and says
/// so in ``Summary/stateDirectoryFull``; everything stored before is still delivered.
public final class OutputRecorder: Sendable {
    /// What the writer stored.
    public struct Summary: Sendable, Equatable {
        public var stdout: Int64
        public var stderr: Int64
        /// Free bytes when output was given up for lack of space (or the process was stopped
        /// while waiting for it); nil when the disk never stood in the way.
        public var stateDirectoryFull: Int64?
        /// Output bytes read from the pipes but not stored.
        public var discardedBytes: Int64
    }

    /// What readers, the flush tick and the storer share.
    private struct Shared {
        var chunker: OutputChunker
        /// Cut, not yet taken by the storer.
        var queue: [OutputChunker.Chunk] = []
        var queuedBytes = 0
        var finished = false
        var failure: (any Error)?
        var abandoned = false
        var discarded: Int64 = 0
        /// Readers waiting for the queue to shrink.
        var readers: [CheckedContinuation<Void, any Error>] = []
        /// The storer, waiting for chunks or the end of input.
        var storer: CheckedContinuation<Void, Never>?

        /// Wakes the storer if it waits; call with the lock held, resume outside it.
        mutating func takeStorer() -> CheckedContinuation<Void, Never>? {
            defer { storer = nil }
            return storer
        }
    }

    let commandId: UUID
    let store: AgentStore
    let startOffsets: (stdout: Int64, stderr: Int64)
    let onChunk: @Sendable () -> Void
    let stop: StopSignal?
    let abandonAfter: Duration
    let logger: Logger?
    /// Queued bytes at which readers wait for the storer.
    let queueLimit: Int
    private let shared: Mutex<Shared>

    /// A recorder for `commandId` whose streams continue at the given offsets; `onChunk` runs
    /// after each commit of chunks (to wake the uploader). `stop` is the process's stop signal:
    /// after it, a full disk is waited out for `abandonAfter` only.
    public init(
        commandId: UUID, store: AgentStore, chunkSize: Int, stdoutOffset: Int64 = 0, stderrOffset: Int64 = 0,
        stop: StopSignal? = nil, abandonAfter: Duration = .seconds(5), logger: Logger? = nil,
        onChunk: @escaping @Sendable () -> Void = {}
    ) {
        self.commandId = commandId
        self.store = store
        self.startOffsets = (stdoutOffset, stderrOffset)
        self.stop = stop
        self.abandonAfter = abandonAfter
        self.logger = logger
        self.onChunk = onChunk
        self.queueLimit = 2 * chunkSize
        self.shared = Mutex(
            Shared(chunker: OutputChunker(maxChunkSize: chunkSize, stdoutOffset: stdoutOffset, stderrOffset: stderrOffset)))
    }

    /// The output handler to give the process runner: returns once the bytes are cut, or, when
    /// the storer is ``queueLimit`` behind, once it has caught up.
    public var handler: OutputHandler {
        { [self] stream, bytes in try await self.accept(bytes, from: stream) }
    }

    private func accept(_ bytes: [UInt8], from stream: LogStream) async throws {
        enum Next { case done, wait, fail(any Error) }
        let (next, storer) = shared.withLock { shared -> (Next, CheckedContinuation<Void, Never>?) in
            if let failure = shared.failure { return (.fail(failure), nil) }
            if shared.abandoned {
                shared.discarded += Int64(bytes.count)
                return (.done, nil)
            }
            let chunks = shared.chunker.append(bytes, to: stream)
            guard !chunks.isEmpty else { return (.done, nil) }
            shared.queue += chunks
            shared.queuedBytes += chunks.reduce(0) { $0 + $1.bytes.count }
            return (shared.queuedBytes >= queueLimit ? .wait : .done, shared.takeStorer())
        }
        storer?.resume()
        switch next {
        case .done: return
        case .fail(let error): throw error
        case .wait:
            try await withCheckedThrowingContinuation { (reader: CheckedContinuation<Void, any Error>) in
                // The storer may have taken the queue (or failed) since: look again under the lock.
                let now: Result<Void, any Error>? = shared.withLock { shared in
                    if let failure = shared.failure { return .failure(failure) }
                    if shared.abandoned || shared.queuedBytes < queueLimit { return .success(()) }
                    shared.readers.append(reader)
                    return nil
                }
                if let now { reader.resume(with: now) }
            }
        }
    }

    /// Cuts whatever is pending (called every flush interval).
    public func tick() {
        let storer = shared.withLock { shared -> CheckedContinuation<Void, Never>? in
            guard shared.failure == nil, !shared.abandoned, !shared.finished, shared.chunker.hasPending else { return nil }
            let chunks = shared.chunker.flush(final: false)
            guard !chunks.isEmpty else { return nil }
            shared.queue += chunks
            shared.queuedBytes += chunks.reduce(0) { $0 + $1.bytes.count }
            return shared.takeStorer()
        }
        storer?.resume()
    }

    /// No more output will come; the storer stores the rest and returns.
    public func finishInput() {
        let storer = shared.withLock { shared -> CheckedContinuation<Void, Never>? in
            guard !shared.finished else { return nil }
            shared.finished = true
            guard shared.failure == nil else { return shared.takeStorer() }
            let chunks = shared.chunker.flush(final: true)
            let bytes = chunks.reduce(0) { $0 + $1.bytes.count }
            if shared.abandoned {
                shared.discarded += Int64(bytes)
            } else {
                shared.queue += chunks
                shared.queuedBytes += bytes
            }
            return shared.takeStorer()
        }
        storer?.resume()
    }

    /// Stores output until ``finishInput()`` and returns what was stored.
    ///
    /// A full disk is waited out (see the type's summary). On any other storage failure every
    /// later read fails with the same error, and so does this.
    public func runWriter() async throws -> Summary {
        var writer = Writer(recorder: self)
        while let batch = await nextBatch() {
            do {
                try await writer.store(batch)
                // Room is waited for before more is taken; after the last batch nothing is.
                if !inputDrained { await writer.waitForRoom() }
            } catch {
                fail(error)
                throw error
            }
            release(batch)
        }
        let discarded = shared.withLock { $0.discarded }
        return Summary(
            stdout: writer.stored.stdout, stderr: writer.stored.stderr, stateDirectoryFull: writer.fullWhenStopped,
            discardedBytes: discarded)
    }

    /// Whether input has ended and nothing is left to store.
    var inputDrained: Bool { shared.withLock { $0.finished && $0.queue.isEmpty } }

    /// Takes everything queued, waiting for it; nil at the end of input with nothing left.
    private func nextBatch() async -> [OutputChunker.Chunk]? {
        while true {
            enum Next { case batch([OutputChunker.Chunk]), end, wait }
            let next = shared.withLock { shared -> Next in
                if !shared.queue.isEmpty {
                    defer { shared.queue = [] }
                    return .batch(shared.queue)
                }
                // Given-up output still ends only with the input, so what the pipes bring
                // until then is counted as discarded.
                return shared.finished ? .end : .wait
            }
            switch next {
            case .batch(let chunks): return chunks
            case .end: return nil
            case .wait:
                await withCheckedContinuation { (storer: CheckedContinuation<Void, Never>) in
                    let ready = shared.withLock { shared in
                        if !shared.queue.isEmpty || shared.finished { return true }
                        shared.storer = storer
                        return false
                    }
                    if ready { storer.resume() }
                }
            }
        }
    }

    /// The batch is stored (or given up): its bytes leave the queue's count, and readers held
    /// by the limit go on once it is under it.
    private func release(_ batch: [OutputChunker.Chunk]) {
        let readers = shared.withLock { shared -> [CheckedContinuation<Void, any Error>] in
            shared.queuedBytes -= batch.reduce(0) { $0 + $1.bytes.count }
            guard shared.queuedBytes < queueLimit || shared.abandoned else { return [] }
            defer { shared.readers = [] }
            return shared.readers
        }
        for reader in readers { reader.resume() }
    }

    /// Storing failed for good: every waiting and later read fails with `error`.
    private func fail(_ error: any Error) {
        let readers = shared.withLock { shared -> [CheckedContinuation<Void, any Error>] in
            shared.failure = error
            defer { shared.readers = [] }
            return shared.readers
        }
        for reader in readers { reader.resume(throwing: error) }
    }

    /// Output is given up: `unstored` bytes of the batch in hand, what is queued and what comes
    /// later only count as discarded.
    private func abandon(discarding unstored: Int64) {
        shared.withLock { shared in
            guard !shared.abandoned else { return }
            shared.abandoned = true
            let dropped = shared.queue.reduce(0) { $0 + $1.bytes.count }
            shared.queue = []
            shared.queuedBytes -= dropped
            shared.discarded += unstored + Int64(dropped)
        }
    }

    /// The storer's state; lives on the storer task only.
    private struct Writer {
        let recorder: OutputRecorder
        var abandoned = false
        var stored: (stdout: Int64, stderr: Int64)
        /// Free bytes of the disk stall in progress, if any.
        var stall: Int64?
        /// Free bytes when the process was stopped or output given up during a stall.
        var fullWhenStopped: Int64?
        var stopSeenAt: ContinuousClock.Instant?

        init(recorder: OutputRecorder) {
            self.recorder = recorder
            self.stored = recorder.startOffsets
        }

        /// Stores `chunks` in one commit, waiting while the disk is full; gives up (``abandoned``)
        /// only as the type's summary says.
        mutating func store(_ chunks: [OutputChunker.Chunk]) async throws {
            guard !abandoned, !chunks.isEmpty else { return }
            while true {
                do {
                    try await recorder.store.appendChunks(
                        recorder.commandId, chunks.map { ($0.stream, $0.offset, Data($0.bytes)) })
                    for chunk in chunks {
                        if chunk.stream == .stdout { stored.stdout += Int64(chunk.bytes.count) } else { stored.stderr += Int64(chunk.bytes.count) }
                    }
                    recorder.onChunk()
                    endStall()
                    return
                } catch AgentStoreError.stateDirectoryFull(let free) {
                    if shouldAbandon(free: free) {
                        abandon(discarding: chunks.reduce(0) { $0 + Int64($1.bytes.count) })
                        return
                    }
                    await recorder.store.budget.waitForChange()
                }
            }
        }

        /// Waits for room under the cap and on the disk before taking more from the queue; not
        /// once input has ended with nothing left to store (looked at on each re-check).
        mutating func waitForRoom() async {
            guard !abandoned else { return }
            let recorder = recorder
            let room = await recorder.store.budget.waitForRoom { room in
                if recorder.inputDrained { return true }
                guard case .diskFull(let free) = room else { return false }
                return shouldAbandon(free: free)
            }
            if room == .available || recorder.inputDrained { endStall() } else { abandon(discarding: 0) }
        }

        /// Notes a disk stall; true once the process was stopped and the disk stayed full for
        /// `abandonAfter` since.
        mutating func shouldAbandon(free: Int64) -> Bool {
            let now = ContinuousClock.now
            if stall == nil {
                recorder.logger?.warning(
                    "state dir full; output paused until space returns",
                    metadata: ["command_id": "\(recorder.commandId)", "free_bytes": "\(free)"])
            }
            stall = free
            guard recorder.stop?.reason != nil else { return false }
            if stopSeenAt == nil {
                stopSeenAt = now
                fullWhenStopped = free
            }
            return now - (stopSeenAt ?? now) >= recorder.abandonAfter
        }

        mutating func endStall() {
            guard stall != nil else { return }
            stall = nil
            recorder.logger?.notice("state dir has room again; output resumed", metadata: ["command_id": "\(recorder.commandId)"])
        }

        mutating func abandon(discarding bytes: Int64) {
            abandoned = true
            recorder.abandon(discarding: bytes)
            fullWhenStopped = stall ?? fullWhenStopped
            recorder.logger?.error(
                "state dir still full after the process was stopped; the rest of its output cannot be stored",
                metadata: ["command_id": "\(recorder.commandId)", "free_bytes": "\(fullWhenStopped ?? 0)"])
        }
    }
}
