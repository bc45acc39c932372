import Foundation

/// A short message on the bottom row.
public struct Flash: Hashable, Sendable {
    /// The message.
    public var text: String
    /// Drawn as an error.
    public var isError: Bool
    /// When it disappears.
    public var until: Date
}

/// Whether the last poll got through.
public enum Connection: Hashable, Sendable {
    /// No poll has answered yet.
    case connecting
    /// The last poll got through.
    case connected
    /// Polls have failed since `since`; the text says why.
    case unreachable(String, since: Date)
}
