import PostgresNIO

/// Runs the claims of polls woken together in one statement (``GroupCommit``). A command
/// submitted to 10,000 nodes wakes 10,000 held polls with one NOTIFY; one statement each made
/// Postgres pay parse, plan-cache lookup, executor start-up and commit 10,000 times. A batch is
/// one ``CommandQueue/ClaimAgainStatement``, the statement a lone claim runs too.
///
/// If a batch's statement fails, each of its claims runs again alone, so a failure answers only
/// the polls it belongs to (and a batch too large for some limit still gets through).
struct ClaimBatcher: Sendable {
    /// What one claim found: the poll's work, or nil when a newer poll of the node superseded it.
    typealias Outcome = Result<CommandQueue.ClaimRows?, any Error>
    typealias Poll = (nodeId: String, pollSeq: Int64)

    /// Work items handed to one poll at a time.
    static let limit = 32
    static let maxBatch = 512

    private let queue: GroupCommit<Poll, Outcome>

    init(database: Database, leaseSeconds: Int) {
        queue = GroupCommit(maxBatch: Self.maxBatch) { batch in
            let outcomes = await Self.claim(batch, database: database, leaseSeconds: leaseSeconds)
            guard batch.count > 1, case .failure = outcomes[0] else { return outcomes }
            var alone: [Outcome] = []
            for poll in batch { alone += await Self.claim([poll], database: database, leaseSeconds: leaseSeconds) }
            return alone
        }
    }

    func claim(nodeId: String, pollSeq: Int64) async -> Outcome {
        await queue.submit((nodeId: nodeId, pollSeq: pollSeq))
    }

    /// One statement for `batch`: an outcome per poll, or the same failure for all.
    private static func claim(_ batch: [Poll], database: Database, leaseSeconds: Int) async -> [Outcome] {
        do {
            let rows = try await database.execute(
                "claim invocations", CommandQueue.ClaimAgainStatement(batch, leaseSeconds: leaseSeconds, limit: limit))
            return try CommandQueue.decodeClaims(rows, polls: batch.count).map { .success($0) }
        } catch {
            return Array(repeating: .failure(error), count: batch.count)
        }
    }
}
