/// A one-line text field: characters, a cursor, and the editing keys of a shell prompt.
public struct TextInput: Hashable, Sendable {
    /// The text typed.
    public private(set) var text: String
    /// Cursor position in characters.
    public private(set) var position: Int

    /// A field holding `text`, the cursor after it.
    public init(_ text: String = "") {
        self.text = text
        self.position = text.count
    }

    /// Applies an editing key; returns false when the key is not an editing key.
    public mutating func handle(_ key: Key) -> Bool {
        switch key {
        case .char(let character):
            guard !character.isNewline else { return false }
            let index = text.index(text.startIndex, offsetBy: position)
            text.insert(character, at: index)
            position += 1
        case .backspace:
            guard position > 0 else { return true }
            let index = text.index(text.startIndex, offsetBy: position - 1)
            text.remove(at: index)
            position -= 1
        case .delete, .ctrl("d"):
            guard position < text.count else { return true }
            text.remove(at: text.index(text.startIndex, offsetBy: position))
        case .left: position = max(0, position - 1)
        case .right: position = min(text.count, position + 1)
        case .home, .ctrl("a"): position = 0
        case .end, .ctrl("e"): position = text.count
        case .ctrl("u"):
            text.removeFirst(position)
            position = 0
        case .ctrl("k"): text = String(text.prefix(position))
        default: return false
        }
        return true
    }
}
