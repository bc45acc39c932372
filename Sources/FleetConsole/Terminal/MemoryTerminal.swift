/// An in-memory terminal for tests and benchmarks: keeps the last frame, feeds queued keys.
public final class MemoryTerminal: Terminal {
    public var size: TerminalSize
    public let supportsColor: Bool
    /// Keys `readKey` hands out, first to last.
    public var pendingKeys: [Key] = []
    /// The last frame drawn.
    public private(set) var lastFrame: Frame?
    /// How many frames were drawn.
    public private(set) var drawCount = 0
    /// Whether `restore()` was called.
    public private(set) var restored = false

    /// A terminal of `size`, with or without colour.
    public init(size: TerminalSize, supportsColor: Bool = true) {
        self.size = size
        self.supportsColor = supportsColor
    }

    public func draw(_ frame: Frame) {
        lastFrame = frame
        drawCount += 1
    }

    public func readKey(timeoutMilliseconds: Int) -> Key? {
        pendingKeys.isEmpty ? nil : pendingKeys.removeFirst()
    }

    public func restore() { restored = true }

    /// The screen as plain text.
    public var text: String { lastFrame?.plainText ?? "" }
}
