import FleetProtocol
import Foundation
import Synchronization

/// Turns chunks of many nodes' output into whole lines, each prefixed by its node id.
///
/// Chunks are cut anywhere (mid-line, mid-character), so each (node, stream) keeps its unfinished
/// line until the newline arrives. stdout lines go to stdout as `edge-1 | …`, stderr lines to
/// stderr as `edge-1 ! …`; ids are padded to the longest target so the text lines up. The
/// bytes after the prefix are the node's, unchanged.
final class NodeLinePrinter: Sendable {
    /// An unfinished line longer than this is written out as it is, so memory stays bounded.
    static let maxPendingLine = 64 * 1024
    static let palette = ["36", "33", "35", "32", "34", "96", "93", "95"]

    private struct Key: Hashable {
        var node: String
        var stream: LogStream
    }

    private struct State {
        var pending: [Key: [UInt8]] = [:]
    }

    private let writer: StatusWriter
    private let width: Int
    private let colours: [String: String]
    private let colourOut: Bool
    private let colourErr: Bool
    private let state = Mutex(State())

    /// `nodes` are the command's targets, in the order their colours are handed out.
    init(nodes: [String], writer: StatusWriter, colourOut: Bool, colourErr: Bool) {
        self.writer = writer
        self.width = nodes.map(\.count).max() ?? 0
        var colours: [String: String] = [:]
        for (index, node) in nodes.enumerated() { colours[node] = Self.palette[index % Self.palette.count] }
        self.colours = colours
        self.colourOut = colourOut
        self.colourErr = colourErr
    }

    /// Prints the whole lines `bytes` completes for `node`'s `stream`.
    func append(_ bytes: [UInt8], node: String, stream: LogStream) {
        let key = Key(node: node, stream: stream)
        let lines: [[UInt8]] = state.withLock { state in
            var buffer = state.pending[key, default: []]
            buffer += bytes
            var lines: [[UInt8]] = []
            var start = 0
            for index in buffer.indices where buffer[index] == UInt8(ascii: "\n") {
                lines.append(Array(buffer[start...index]))
                start = index + 1
            }
            buffer.removeFirst(start)
            if buffer.count > Self.maxPendingLine {
                lines.append(buffer + [UInt8(ascii: "\n")])
                buffer = []
            }
            state.pending[key] = buffer.isEmpty ? nil : buffer
            return lines
        }
        guard !lines.isEmpty else { return }
        let prefix = self.prefix(node: node, stream: stream)
        var text: [UInt8] = []
        for line in lines { text += prefix + line }
        writer.write(text, toError: stream == .stderr)
    }

    /// Prints every unfinished line, each closed with a newline: the output has ended.
    func flush() {
        let rest = state.withLock { state in
            defer { state.pending = [:] }
            return state.pending.sorted { ($0.key.node, $0.key.stream.rawValue) < ($1.key.node, $1.key.stream.rawValue) }
        }
        for (key, bytes) in rest {
            writer.write(prefix(node: key.node, stream: key.stream) + bytes + [UInt8(ascii: "\n")], toError: key.stream == .stderr)
        }
    }

    func prefix(node: String, stream: LogStream) -> [UInt8] {
        let padded = node.padding(toLength: max(width, node.count), withPad: " ", startingAt: 0)
        let mark = stream == .stdout ? "|" : "!"
        let coloured = stream == .stdout ? colourOut : colourErr
        guard coloured else { return Array("\(padded) \(mark) ".utf8) }
        let colour = colours[node] ?? "37"
        let markColour = stream == .stdout ? "2" : "31"
        return Array("\u{1B}[\(colour)m\(padded)\u{1B}[0m \u{1B}[\(markColour)m\(mark)\u{1B}[0m ".utf8)
    }
}
