import FleetProtocol
import Foundation

/// One line of output as shown in the Logs view.
public struct LogLine: Hashable, Sendable {
    /// The node that printed it (set when tailing all targets).
    public var node: String?
    /// stdout or stderr.
    public var stream: LogStream
    /// The line without its newline, cleaned for the screen.
    public var text: String
    /// A line the console inserted (a gap notice), not output.
    public var isNotice = false

    /// A line of `node`'s `stream`.
    public init(node: String?, stream: LogStream, text: String, isNotice: Bool = false) {
        self.node = node
        self.stream = stream
        self.text = text
        self.isNotice = isNotice
    }
}

/// The live tail of one command's output: lines cut from chunks, bounded scrollback, and the
/// viewer's state (follow, scroll position, wrap, search).
///
/// Chunks are placed by their byte offset per (node, stream): a chunk seen before is skipped,
/// an overlap is trimmed, and a hole is shown as a notice, so a retried page can never
/// duplicate output.
public struct LogTailModel: Sendable {
    /// The command tailed.
    public let commandId: UUID
    /// The node tailed, or nil for every target.
    public let nodeId: String?
    /// Most lines kept; older ones are dropped (counted in `droppedLines`).
    public let capacity: Int
    /// Longest partial line held before it is shown as a line of its own.
    public let maxLineBytes: Int

    private var storage: [LogLine] = []
    private var head = 0
    /// Lines dropped from the front to stay within `capacity`.
    public private(set) var droppedLines = 0
    /// Output bytes taken in (duplicates and overlaps not counted).
    public private(set) var bytesReceived: Int64 = 0
    /// Chunks skipped because they had been seen before (retried pages).
    public private(set) var duplicateChunks = 0
    /// The server said every invocation finished and every byte is in.
    public private(set) var complete = false
    /// The last error of the tail loop, cleared by the next page.
    public var error: String?
    /// How many targets the command has; more than one shows node prefixes.
    public var targetCount = 1

    private struct StreamKey: Hashable, Sendable {
        var node: String
        var stream: LogStream
    }
    private var nextOffset: [StreamKey: Int64] = [:]
    private var partial: [StreamKey: [UInt8]] = [:]
    private var nodesSeen: Set<String> = []

    // Viewer state.
    /// Whether the view sticks to the newest line.
    public private(set) var follow = true
    /// Absolute number (counting dropped lines) of the first line shown when not following.
    public private(set) var top = 0
    /// Whether long lines wrap instead of being cut at the edge.
    public var wrap = false
    /// The search text, or nil when not searching.
    public private(set) var search: String?

    /// An empty tail of `commandId` on `nodeId` (every target when nil).
    public init(commandId: UUID, nodeId: String?, capacity: Int = 50_000, maxLineBytes: Int = 16 * 1024) {
        self.commandId = commandId
        self.nodeId = nodeId
        self.capacity = max(1, capacity)
        self.maxLineBytes = maxLineBytes
    }

    // MARK: lines

    /// Lines currently held.
    public var count: Int { storage.count - head }
    /// Line `index` of the held ones (0 is the oldest kept).
    public subscript(index: Int) -> LogLine { storage[head + index] }
    /// Whether lines carry their node's name.
    public var showsNodes: Bool { nodeId == nil && (targetCount > 1 || nodesSeen.count > 1) }

    /// Adds a page of chunks in the order the server produced them.
    public mutating func apply(_ page: LogPage) {
        error = nil
        for chunk in page.chunks { append(chunk) }
        if page.complete { markComplete() }
    }

    /// Adds one chunk.
    public mutating func append(_ chunk: LogChunk) {
        let node = chunk.nodeId ?? nodeId ?? ""
        let key = StreamKey(node: node, stream: chunk.stream)
        guard var bytes = chunk.decodedBytes() else {
            push(LogLine(node: node, stream: chunk.stream, text: "[undecodable chunk at offset \(chunk.offset)]", isNotice: true))
            return
        }
        let expected = nextOffset[key] ?? 0
        let end = chunk.offset + Int64(bytes.count)
        if end <= expected, !(bytes.isEmpty && chunk.offset == expected) {
            duplicateChunks += 1
            return
        }
        if chunk.offset < expected {
            bytes.removeFirst(Int(expected - chunk.offset))
        } else if chunk.offset > expected {
            flush(key)
            push(LogLine(node: node, stream: chunk.stream, text: "[\(chunk.offset - expected) bytes missing]", isNotice: true))
        }
        nextOffset[key] = end
        nodesSeen.insert(node)
        bytesReceived += Int64(bytes.count)
        split(bytes, key: key)
    }

    /// The output is finished: unterminated last lines become lines.
    public mutating func markComplete() {
        complete = true
        for key in partial.keys.sorted(by: { ($0.node, $0.stream.rawValue) < ($1.node, $1.stream.rawValue) }) {
            flush(key)
        }
    }

    /// Unfinished lines, shown after the held lines while the tail is live.
    public var partialLines: [LogLine] {
        partial.filter { !$0.value.isEmpty }
            .sorted { ($0.key.node, $0.key.stream.rawValue) < ($1.key.node, $1.key.stream.rawValue) }
            .map { LogLine(node: $0.key.node, stream: $0.key.stream, text: Self.text($0.value)) }
    }

    private mutating func split(_ bytes: [UInt8], key: StreamKey) {
        var start = 0
        while let newline = bytes[start...].firstIndex(of: 10) {
            var line = partial.removeValue(forKey: key) ?? []
            line.append(contentsOf: bytes[start..<newline])
            push(LogLine(node: key.node, stream: key.stream, text: Self.text(line)))
            start = newline + 1
        }
        if start < bytes.count {
            partial[key, default: []].append(contentsOf: bytes[start...])
            if let held = partial[key], held.count >= maxLineBytes { flush(key) }
        }
    }

    private mutating func flush(_ key: StreamKey) {
        guard let bytes = partial.removeValue(forKey: key), !bytes.isEmpty else { return }
        push(LogLine(node: key.node, stream: key.stream, text: Self.text(bytes)))
    }

    private mutating func push(_ line: LogLine) {
        storage.append(line)
        if storage.count - head > capacity {
            head += 1
            droppedLines += 1
        }
        // Compact once the dead prefix is as large as the live part: amortised O(1).
        if head >= capacity {
            storage.removeFirst(head)
            head = 0
        }
    }

    private static func text(_ bytes: [UInt8]) -> String {
        TextWidth.sanitize(String(decoding: bytes, as: UTF8.self))
    }

    // MARK: viewer

    /// Scrolls towards older lines; leaves follow mode.
    public mutating func scrollUp(_ lines: Int, viewport: Int) {
        if follow {
            top = droppedLines + max(0, count - viewport)
            follow = false
        }
        top = max(droppedLines, top - lines)
    }

    /// Scrolls towards newer lines; reaching the end turns follow mode back on.
    public mutating func scrollDown(_ lines: Int, viewport: Int) {
        guard !follow else { return }
        top = max(top, droppedLines) + lines
        if top - droppedLines + viewport >= count { follow = true }
    }

    /// Jumps to the newest line and follows.
    public mutating func jumpToEnd() { follow = true }

    /// Jumps to the oldest line held.
    public mutating func jumpToStart() {
        follow = false
        top = droppedLines
    }

    /// Index (into the held lines) of the first line shown when not following.
    public var firstShown: Int { min(max(0, top - droppedLines), max(0, count - 1)) }

    /// Sets the search text (nil clears it) and jumps to the first match at or after the view.
    public mutating func setSearch(_ text: String?, viewport: Int) {
        search = (text?.isEmpty ?? true) ? nil : text
        if search != nil { nextMatch(forward: true, viewport: viewport, includeCurrent: true) }
    }

    /// Moves the view to the next (or previous) line containing the search text.
    /// Returns false when there is none.
    @discardableResult
    public mutating func nextMatch(forward: Bool, viewport: Int, includeCurrent: Bool = false) -> Bool {
        guard let search, count > 0 else { return false }
        let needle = search.lowercased()
        let from = follow ? max(0, count - viewport) : firstShown
        let indices: [Int] =
            forward
            ? Array((includeCurrent ? from : from + 1)..<count) : Array((0..<from).reversed())
        for index in indices where self[index].text.lowercased().contains(needle) {
            follow = false
            top = droppedLines + index
            return true
        }
        return false
    }
}
