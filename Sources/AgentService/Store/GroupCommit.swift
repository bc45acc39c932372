/// Runs requests that arrive together as one batch (group commit). A request that arrives while
/// no batch is in flight is written at once, alone; requests that arrive while one is in flight
/// wait for it and then go together, up to `maxBatch`. No timer: at one request at a time this
/// is one statement per request; at 10,000 nodes acting at once, each statement carries
/// hundreds, so Postgres pays its per-statement cost (protocol, executor start-up, commit, WAL,
/// NOTIFY) once per batch.
///
/// `write` answers every request of a batch, in order; it must not throw: what it cannot decide
/// for one request is an outcome of its own (the callers' "retry alone").
actor GroupCommit<Request: Sendable, Outcome: Sendable> {
    typealias Write = @Sendable ([Request]) async -> [Outcome]

    private struct Pending {
        var request: Request
        var continuation: CheckedContinuation<Outcome, Never>
    }

    let maxBatch: Int
    private let write: Write
    private var queued: [Pending] = []
    private var writing = false

    init(maxBatch: Int, write: @escaping Write) {
        precondition(maxBatch > 0, "a batch holds at least one request")
        self.maxBatch = maxBatch
        self.write = write
    }

    /// Queues `request` and returns its outcome once the batch that carried it is written.
    func submit(_ request: Request) async -> Outcome {
        await withCheckedContinuation { continuation in
            queued.append(Pending(request: request, continuation: continuation))
            guard !writing else { return }
            writing = true
            Task { await self.drain() }
        }
    }

    private func drain() async {
        while !queued.isEmpty {
            let batch = Array(queued.prefix(maxBatch))
            queued.removeFirst(batch.count)
            let outcomes = await write(batch.map(\.request))
            precondition(outcomes.count == batch.count, "a batch write answers every request")
            for (pending, outcome) in zip(batch, outcomes) { pending.continuation.resume(returning: outcome) }
        }
        writing = false
    }
}
