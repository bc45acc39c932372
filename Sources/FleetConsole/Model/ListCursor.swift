/// A cursor over a list of `count` rows plus the first row shown: shared by every table.
public struct ListCursor: Hashable, Sendable {
    /// The selected row.
    public private(set) var index = 0
    /// The first row shown.
    public private(set) var top = 0
    /// How many rows the list has.
    public private(set) var count = 0

    /// A cursor over an empty list.
    public init() {}

    /// Updates the row count, keeping the cursor inside it.
    public mutating func setCount(_ newCount: Int) {
        count = max(0, newCount)
        index = min(index, max(0, count - 1))
        top = min(top, max(0, count - 1))
    }

    /// Moves by `delta` rows, stopping at the ends.
    public mutating func move(by delta: Int) {
        guard count > 0 else { return }
        index = min(max(0, index + delta), count - 1)
    }

    /// Puts the cursor on `row`.
    public mutating func moveTo(_ row: Int) {
        guard count > 0 else { return }
        index = min(max(0, row), count - 1)
    }

    /// Puts the cursor on the first row.
    public mutating func home() { moveTo(0) }
    /// Puts the cursor on the last row.
    public mutating func end() { moveTo(count - 1) }

    /// Scrolls just enough that the cursor row is among `rows` visible rows.
    public mutating func scrollIntoView(rows: Int) {
        guard rows > 0 else { return }
        if index < top { top = index }
        if index >= top + rows { top = index - rows + 1 }
        top = max(0, min(top, max(0, count - rows)))
    }
}
