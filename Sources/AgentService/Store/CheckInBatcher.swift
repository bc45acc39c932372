import PostgresNIO

/// Runs idle check-ins that arrive together in one statement (``GroupCommit``). After a
/// fan-out every node polls again at once: 10,000 check-ins that were 10,000 statements.
///
/// What a batch cannot decide is ``Outcome/retryAlone``: a node's second check-in in the same
/// batch (an agent that restarted while its old poll was in flight), and every check-in of a
/// batch whose statement failed.
struct CheckInBatcher: Sendable {
    enum Outcome: Sendable {
        /// Seen: the poll's number, and whether anything of the node is pending.
        case checkedIn(pollSeq: Int64, pending: Bool)
        /// The node is unknown or revoked, or the token of an older generation.
        case refused
        /// Not decided here: the caller checks in alone.
        case retryAlone
    }

    typealias CheckIn = (nodeId: String, tokenVersion: Int, agentVersion: String?)

    static let maxBatch = 512

    private let queue: GroupCommit<CheckIn, Outcome>

    init(database: Database) {
        queue = GroupCommit(maxBatch: Self.maxBatch) { batch in await Self.write(batch, to: database) }
    }

    func checkIn(nodeId: String, tokenVersion: Int, agentVersion: String?) async -> Outcome {
        await queue.submit((nodeId: nodeId, tokenVersion: tokenVersion, agentVersion: agentVersion))
    }

    /// Checks `batch` in, each node once; an answer per check-in, in order.
    static func write(_ batch: [CheckIn], to database: Database) async -> [Outcome] {
        var outcomes = [Outcome](repeating: .retryAlone, count: batch.count)
        var firsts: [Int] = []
        var seen: Set<String> = []
        for (index, checkIn) in batch.enumerated() where seen.insert(checkIn.nodeId).inserted { firsts.append(index) }
        // A failure, or a row that cannot be read, must not turn into a refusal: the single path decides.
        guard let answered = try? await run(firsts.map { batch[$0] }, on: database) else { return outcomes }
        for (position, index) in firsts.enumerated() { outcomes[index] = answered[position] }
        return outcomes
    }

    /// One statement for `checkIns`, whose nodes must be distinct: `checkedIn` or `refused` for each.
    static func run(_ checkIns: [CheckIn], on database: Database) async throws -> [Outcome] {
        let rows = try await database.execute("check in", CommandQueue.IdleCheckInStatement(checkIns))
        var outcomes = [Outcome](repeating: .refused, count: checkIns.count)
        for row in rows {
            let (position, pollSeq, pending) = try row.decode((Int, Int64, Bool).self)
            guard (1...checkIns.count).contains(position) else {
                throw DatabaseError.unexpected(operation: "check in", detail: "answer for check-in \(position) of \(checkIns.count)")
            }
            outcomes[position - 1] = .checkedIn(pollSeq: pollSeq, pending: pending)
        }
        return outcomes
    }
}
