/// A modal yes/no question guarding a dangerous or outgoing action.
public struct Confirmation: Hashable, Sendable {
    /// The frame's title.
    public var title: String
    /// What will happen, a line each.
    public var lines: [String]
    /// What a yes runs.
    public var effect: Effect
    /// Drawn in red: the action destroys or interrupts something.
    public var dangerous: Bool
}

/// A one-line input at the bottom: the node filter or the log search.
public struct Prompt: Hashable, Sendable {
    /// The node filter or the log search.
    public enum Kind: Hashable, Sendable { case filter, search }
    /// Which input it is.
    public var kind: Kind
    /// The text typed so far.
    public var input: TextInput
}
