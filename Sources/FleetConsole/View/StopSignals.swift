import Foundation
import Synchronization

/// The stop request of SIGINT/SIGTERM/SIGHUP: the console loop checks it every tick and exits
/// cleanly, so the terminal is restored by the normal path (curses itself handles SIGWINCH).
public enum StopSignals {
    /// Set by the handlers. A signal handler is a C function that cannot capture, so the flag
    /// must be a static; nothing else writes it.
    private static let flag = Atomic<Bool>(false)

    /// Installs the handlers that set the stop flag.
    public static func install() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber) { _ in StopSignals.flag.store(true, ordering: .relaxed) }
        }
    }

    /// Whether a stop signal has arrived.
    public static var requested: Bool { flag.load(ordering: .relaxed) }
}
