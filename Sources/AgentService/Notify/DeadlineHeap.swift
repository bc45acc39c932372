/// Parked waits ordered by deadline, so the ticker touches only the ones that expired instead
/// of scanning all 10,000 held polls five times a second.
///
/// Entries are not removed when a wait ends early; they are dropped when their deadline comes
/// (the caller checks the waiter is still parked with that deadline).
struct DeadlineHeap<Deadline: Comparable> {
    struct Entry {
        var deadline: Deadline
        var key: String
        var id: UInt64
    }

    private var entries: [Entry] = []

    var count: Int { entries.count }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if its deadline is at or before `now`.
    mutating func popExpired(now: Deadline) -> Entry? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        guard !entries.isEmpty else { return first }
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].deadline < entries[smallest].deadline { smallest = left }
            if right < entries.count, entries[right].deadline < entries[smallest].deadline { smallest = right }
            guard smallest != parent else { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
