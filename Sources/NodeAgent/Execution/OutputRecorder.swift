import FleetProtocol
import Foundation
import Logging
import Synchronization

/// Turns one process's output into chunks in SQLite, in the order it was read.
///
/// Readers of both pipes hand bytes to ``handler``; a single writer (``runWriter()``) cuts and
/// stores them, so offsets and storage order never race. A reader returns only once its bytes
/// are stored and there is room under the buffer cap and on the disk: no room stops the pipe,
/// and the process blocks (back-pressure, never dropped bytes).
///
/// One exception: once the process was told to stop (timeout, cancel, shutdown) and the state
/// directory stays full for `abandonAfter`, the rest of its output cannot be stored anywhere.
/// The recorder then gives it up, lets the pipes drain so the process can be reaped, and says
/// so in ``Summary/stateDirectoryFull``; everything stored before is still delivered.
public final class OutputRecorder: Sendable {
    enum Event: Sendable {
        case output(LogStream, [UInt8], CheckedContinuation<Void, any Error>)
        case tick
    }

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

    let commandId: UUID
    let store: AgentStore
    let chunkSize: Int
    let startOffsets: (stdout: Int64, stderr: Int64)
    let onChunk: @Sendable () -> Void
    let stop: StopSignal?
    let abandonAfter: Duration
    let logger: Logger?
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    /// A recorder for `commandId` whose streams continue at the given offsets; `onChunk` runs
    /// after each stored chunk (to wake the uploader). `stop` is the process's stop signal: after
    /// it, a full disk is waited out for `abandonAfter` only.
    public init(
        commandId: UUID, store: AgentStore, chunkSize: Int, stdoutOffset: Int64 = 0, stderrOffset: Int64 = 0,
        stop: StopSignal? = nil, abandonAfter: Duration = .seconds(5), logger: Logger? = nil,
        onChunk: @escaping @Sendable () -> Void = {}
    ) {
        self.commandId = commandId
        self.store = store
        self.chunkSize = chunkSize
        self.startOffsets = (stdoutOffset, stderrOffset)
        self.stop = stop
        self.abandonAfter = abandonAfter
        self.logger = logger
        self.onChunk = onChunk
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
    }

    /// The output handler to give the process runner: returns once the bytes are stored and
    /// there is room for more.
    public var handler: OutputHandler {
        { [continuation] stream, bytes in
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                if case .terminated = continuation.yield(.output(stream, bytes, done)) {
                    done.resume(throwing: CancellationError())
                }
            }
        }
    }

    /// Asks the writer to cut whatever is pending (called every flush interval).
    public func tick() { continuation.yield(.tick) }

    /// No more output will come; the writer flushes the rest and returns.
    public func finishInput() { continuation.finish() }

    /// Consumes output until ``finishInput()``; returns what was stored.
    ///
    /// A full disk is waited out (see the type's summary). On any other storage failure every
    /// later write fails with the same error, and so does this.
    public func runWriter() async throws -> Summary {
        var writer = Writer(recorder: self)
        for await event in events {
            switch event {
            case .output(let stream, let bytes, let done):
                if let failure = writer.failure {
                    done.resume(throwing: failure)
                    continue
                }
                if writer.abandoned {
                    writer.discarded += Int64(bytes.count)
                    done.resume()
                    continue
                }
                do {
                    try await writer.store(writer.chunker.append(bytes, to: stream))
                    await writer.waitForRoom()
                    done.resume()
                } catch {
                    writer.failure = error
                    done.resume(throwing: error)
                }
            case .tick:
                guard writer.failure == nil, !writer.abandoned, writer.chunker.hasPending else { continue }
                do { try await writer.store(writer.chunker.flush(final: false)) } catch { writer.failure = error }
            }
        }
        if let failure = writer.failure { throw failure }
        if !writer.abandoned { try await writer.store(writer.chunker.flush(final: true)) }
        return writer.summary
    }

    /// The writer's state; lives on the writer task only.
    private struct Writer {
        let recorder: OutputRecorder
        var chunker: OutputChunker
        var failure: (any Error)?
        var abandoned = false
        var discarded: Int64 = 0
        var stored: (stdout: Int64, stderr: Int64)
        /// Free bytes of the disk stall in progress, if any.
        var stall: Int64?
        /// Free bytes when the process was stopped or output given up during a stall.
        var fullWhenStopped: Int64?
        var stopSeenAt: ContinuousClock.Instant?

        init(recorder: OutputRecorder) {
            self.recorder = recorder
            self.chunker = OutputChunker(
                maxChunkSize: recorder.chunkSize, stdoutOffset: recorder.startOffsets.stdout,
                stderrOffset: recorder.startOffsets.stderr)
            self.stored = recorder.startOffsets
        }

        var summary: Summary {
            Summary(stdout: stored.stdout, stderr: stored.stderr, stateDirectoryFull: fullWhenStopped, discardedBytes: discarded)
        }

        /// Stores `chunks` in order, waiting while the disk is full; gives up (``abandoned``)
        /// only as the type's summary says.
        mutating func store(_ chunks: [OutputChunker.Chunk]) async throws {
            for (index, chunk) in chunks.enumerated() {
                while true {
                    do {
                        try await recorder.store.appendChunk(
                            recorder.commandId, stream: chunk.stream, offset: chunk.offset, bytes: Data(chunk.bytes))
                        if chunk.stream == .stdout { stored.stdout += Int64(chunk.bytes.count) } else { stored.stderr += Int64(chunk.bytes.count) }
                        recorder.onChunk()
                        endStall()
                        break
                    } catch AgentStoreError.stateDirectoryFull(let free) {
                        if shouldAbandon(free: free) {
                            abandon(discarding: chunks[index...].reduce(0) { $0 + Int64($1.bytes.count) })
                            return
                        }
                        await recorder.store.budget.waitForChange()
                    }
                }
            }
        }

        /// Waits for room under the cap and on the disk before the reader may read again.
        mutating func waitForRoom() async {
            let room = await recorder.store.budget.waitForRoom { room in
                guard case .diskFull(let free) = room else { return false }
                return shouldAbandon(free: free)
            }
            if room == .available { endStall() } else { abandon(discarding: 0) }
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
            discarded += bytes
            fullWhenStopped = stall ?? fullWhenStopped
            recorder.logger?.error(
                "state dir still full after the process was stopped; the rest of its output cannot be stored",
                metadata: ["command_id": "\(recorder.commandId)", "free_bytes": "\(fullWhenStopped ?? 0)"])
        }
    }
}
