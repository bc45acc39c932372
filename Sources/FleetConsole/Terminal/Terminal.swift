/// A screen size in character cells.
public struct TerminalSize: Hashable, Sendable {
    /// Rows, top to bottom.
    public var rows: Int
    /// Cells per row.
    public var columns: Int

    /// A size of `rows` by `columns` cells.
    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }
}

/// One key press, decoded from whatever the terminal driver reads.
public enum Key: Hashable, Sendable {
    case char(Character)
    case ctrl(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, backspace, delete, tab, backTab
    /// The terminal changed size (SIGWINCH).
    case resize
}

/// What a span of text means; the driver picks a colour (or, without colour, an attribute).
public enum Role: Hashable, Sendable, CaseIterable {
    case normal, dim, header, title, menuKey, menuDanger, tableHeader
    case ok, warn, error, info, stderr, match, marked, crumb, flashInfo, flashError
    /// The row under the cursor in a table.
    case cursor
}

/// Attributes that apply on top of a role's colour.
public struct TextAttributes: OptionSet, Hashable, Sendable {
    /// The attribute bits.
    public let rawValue: UInt8
    /// Attributes from their bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Bold text.
    public static let bold = TextAttributes(rawValue: 1)
    /// Foreground and background swapped.
    public static let reverse = TextAttributes(rawValue: 2)
    /// Underlined text.
    public static let underline = TextAttributes(rawValue: 4)
}

/// A run of text in one style.
public struct Span: Hashable, Sendable {
    /// The characters.
    public var text: String
    /// What the text means (the driver picks its colour).
    public var role: Role
    /// Attributes on top of the role's colour.
    public var attributes: TextAttributes

    /// A span of `text` in `role`.
    public init(_ text: String, _ role: Role = .normal, _ attributes: TextAttributes = []) {
        self.text = text
        self.role = role
        self.attributes = attributes
    }
}

/// One screen row: spans laid out left to right, never wider than the screen.
public struct StyledLine: Hashable, Sendable {
    /// The spans, left to right.
    public var spans: [Span]

    /// A row of these spans.
    public init(_ spans: [Span] = []) { self.spans = spans }
    public init(_ text: String, _ role: Role = .normal, _ attributes: TextAttributes = []) {
        self.spans = [Span(text, role, attributes)]
    }

    /// The row's characters without styles.
    public var plainText: String { spans.map(\.text).joined() }
    /// Display width in cells.
    public var width: Int { spans.reduce(0) { $0 + TextWidth.width($1.text) } }
}

/// A whole screen: exactly `size.rows` lines, each clipped to `size.columns`.
public struct Frame: Hashable, Sendable {
    /// The screen the frame is for.
    public var size: TerminalSize
    /// The rows, top to bottom.
    public var lines: [StyledLine]

    /// A frame of `lines` for a screen of `size`.
    public init(size: TerminalSize, lines: [StyledLine]) {
        self.size = size
        self.lines = lines
    }

    /// The frame as plain text, one row per line, padded to the width: golden-test material.
    public var plainText: String {
        lines.map { TextWidth.pad($0.plainText, to: size.columns) }.joined(separator: "\n")
    }
}

/// A character-cell display with a keyboard: curses in production, memory in tests.
///
/// Drivers are used from one thread (the console's loop); they are not `Sendable`.
public protocol Terminal: AnyObject {
    /// The current size in cells.
    var size: TerminalSize { get }
    /// Whether colours are available; without them roles map to bold/underline/dim.
    var supportsColor: Bool { get }
    /// Replaces the screen's content with `frame`.
    func draw(_ frame: Frame)
    /// Waits up to `timeoutMilliseconds` for a key; nil when none came.
    func readKey(timeoutMilliseconds: Int) -> Key?
    /// Gives the terminal back in the state it was found; safe to call twice.
    func restore()
}
