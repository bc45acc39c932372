import FleetProtocol
import Foundation

/// Turns one process's output into chunks in SQLite, in the order it was read.
///
/// Readers of both pipes hand bytes to ``handler``; a single writer (``runWriter()``) cuts and
/// stores them, so offsets and storage order never race. A reader returns only once its bytes
/// are stored and there is room under the buffer cap: a full buffer stops the pipe.
public final class OutputRecorder: Sendable {
    enum Event: Sendable {
        case output(LogStream, [UInt8], CheckedContinuation<Void, any Error>)
        case tick
    }

    let commandId: UUID
    let store: AgentStore
    let chunkSize: Int
    let startOffsets: (stdout: Int64, stderr: Int64)
    let onChunk: @Sendable () -> Void
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    /// A recorder for `commandId` whose streams continue at the given offsets; `onChunk` runs
    /// after each stored chunk (to wake the uploader).
    public init(
        commandId: UUID, store: AgentStore, chunkSize: Int, stdoutOffset: Int64 = 0, stderrOffset: Int64 = 0,
        onChunk: @escaping @Sendable () -> Void = {}
    ) {
        self.commandId = commandId
        self.store = store
        self.chunkSize = chunkSize
        self.startOffsets = (stdoutOffset, stderrOffset)
        self.onChunk = onChunk
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
    }

    /// The output handler to give the process runner.
    public var handler: OutputHandler {
        { [store, continuation] stream, bytes in
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                if case .terminated = continuation.yield(.output(stream, bytes, done)) {
                    done.resume(throwing: CancellationError())
                }
            }
            // Stored; before the runner reads the pipe again, wait for room under the cap.
            await store.budget.waitForRoom()
        }
    }

    /// Asks the writer to cut whatever is pending (called every flush interval).
    public func tick() { continuation.yield(.tick) }

    /// No more output will come; the writer flushes the rest and returns.
    public func finishInput() { continuation.finish() }

    /// Consumes output until ``finishInput()``; returns the bytes stored per stream.
    ///
    /// On a storage failure every later write fails with the same error, and so does this.
    public func runWriter() async throws -> (stdout: Int64, stderr: Int64) {
        var chunker = OutputChunker(maxChunkSize: chunkSize, stdoutOffset: startOffsets.stdout, stderrOffset: startOffsets.stderr)
        var failure: (any Error)?
        for await event in events {
            switch event {
            case .output(let stream, let bytes, let done):
                if let failure {
                    done.resume(throwing: failure)
                    continue
                }
                do {
                    try await store(chunker.append(bytes, to: stream))
                    done.resume()
                } catch {
                    failure = error
                    done.resume(throwing: error)
                }
            case .tick:
                guard failure == nil, chunker.hasPending else { continue }
                do { try await store(chunker.flush(final: false)) } catch { failure = error }
            }
        }
        if let failure { throw failure }
        try await store(chunker.flush(final: true))
        return (chunker.cutBytes(.stdout), chunker.cutBytes(.stderr))
    }

    private func store(_ chunks: [OutputChunker.Chunk]) async throws {
        for chunk in chunks {
            try await store.appendChunk(commandId, stream: chunk.stream, offset: chunk.offset, bytes: Data(chunk.bytes))
            onChunk()
        }
    }
}
