import Foundation
import Synchronization

/// Serialises everything written while a command is followed, and keeps a progress line at the
/// bottom of stderr when stderr is a terminal: it is erased before other text and drawn again after.
final class StatusWriter: Sendable {
    private let sink: any OutputSink
    private let showsProgress: Bool
    private let progress = Mutex("")

    init(sink: any OutputSink, showsProgress: Bool) {
        self.sink = sink
        self.showsProgress = showsProgress
    }

    /// Writes `bytes` to stdout or stderr, around the progress line.
    func write(_ bytes: [UInt8], toError: Bool) {
        progress.withLock { line in
            let erase = showsProgress && !line.isEmpty
            if erase { sink.write(Array("\r\u{1B}[K".utf8), toError: true) }
            sink.write(bytes, toError: toError)
            if erase { sink.write(Array(line.utf8), toError: true) }
        }
    }

    /// A note for the operator on stderr (never mixed into stdout).
    func note(_ text: String) { write(Array((text + "\n").utf8), toError: true) }

    /// Replaces the progress line; does nothing unless stderr is a terminal.
    func setProgress(_ text: String) {
        guard showsProgress else { return }
        progress.withLock { line in
            sink.write(Array(("\r\u{1B}[K" + text).utf8), toError: true)
            line = text
        }
    }

    /// Removes the progress line for good.
    func clearProgress() {
        guard showsProgress else { return }
        progress.withLock { line in
            if !line.isEmpty { sink.write(Array("\r\u{1B}[K".utf8), toError: true) }
            line = ""
        }
    }
}
