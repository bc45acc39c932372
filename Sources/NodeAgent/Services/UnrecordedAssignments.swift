import FleetProtocol
import Foundation
import Synchronization

/// Assignments the agent received but could not record (a full state dir). Until they are
/// recorded they are listed in the poll's `active`, so the server keeps their lease instead of
/// delivering them again on every check-in (a hot loop on both sides); they are recorded on a
/// later poll, or, after `giveUpAfter`, reported `failed` with the reason.
final class UnrecordedAssignments: Sendable {
    struct Entry: Sendable {
        var assignment: Assignment
        var since: ContinuousClock.Instant
        var error: String
    }

    let giveUpAfter: Duration
    private let entries = Mutex<[UUID: Entry]>([:])

    init(giveUpAfter: Duration) { self.giveUpAfter = giveUpAfter }

    /// Ids to list as active.
    var ids: [UUID] { entries.withLock { Array($0.keys) } }

    var isEmpty: Bool { entries.withLock { $0.isEmpty } }

    /// Remembers a failed record; true the first time for this id (log it once).
    @discardableResult
    func failed(_ assignment: Assignment, error: String) -> Bool {
        entries.withLock { entries in
            if entries[assignment.commandId] != nil {
                entries[assignment.commandId]?.error = error
                return false
            }
            entries[assignment.commandId] = Entry(assignment: assignment, since: .now, error: error)
            return true
        }
    }

    func contains(_ id: UUID) -> Bool { entries.withLock { $0[id] != nil } }

    /// Every waiting entry, and whether it has waited past `giveUpAfter`.
    func pending(now: ContinuousClock.Instant = .now) -> [(entry: Entry, overdue: Bool)] {
        let giveUpAfter = self.giveUpAfter
        return entries.withLock { entries in
            entries.values.sorted { $0.since < $1.since }.map { ($0, now - $0.since >= giveUpAfter) }
        }
    }

    func remove(_ id: UUID) { _ = entries.withLock { $0.removeValue(forKey: id) } }
}
