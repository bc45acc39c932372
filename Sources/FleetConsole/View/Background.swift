import FleetProtocol
import Foundation
import Synchronization

/// Where background tasks leave events for the console loop, which drains them once per tick
/// (so a burst of log pages causes one redraw, not one per page).
///
/// Log pages are metered: the loop applies output for a bounded time per tick and puts the
/// rest back, and the tail waits while too much is queued, so a fast server can neither
/// stall the screen nor grow memory.
public final class EventInbox: Sendable {
    private struct Queue {
        var events: [ConsoleEvent] = []
        var logBytes = 0
    }
    private let queue = Mutex(Queue())

    public init() {}

    public func post(_ event: ConsoleEvent) {
        queue.withLock {
            $0.events.append(event)
            $0.logBytes += Self.logBytes(event)
        }
    }

    /// Whether nothing is waiting.
    public var isEmpty: Bool { queue.withLock { $0.events.isEmpty } }

    /// Bytes of log output queued and not yet taken.
    public var pendingLogBytes: Int { queue.withLock { $0.logBytes } }

    /// Takes every waiting event.
    public func drain() -> [ConsoleEvent] {
        queue.withLock { queue in
            defer {
                queue.events.removeAll(keepingCapacity: true)
                queue.logBytes = 0
            }
            return queue.events
        }
    }

    /// Puts events the loop had no time for back in front of the queue, in order.
    public func requeueFront(_ events: [ConsoleEvent]) {
        guard !events.isEmpty else { return }
        queue.withLock { queue in
            queue.events.insert(contentsOf: events, at: 0)
            queue.logBytes += events.reduce(0) { $0 + Self.logBytes($1) }
        }
    }

    /// Waits while more than `limit` log bytes are queued (the tail's back-pressure).
    public func waitForRoom(limit: Int) async {
        while pendingLogBytes > limit, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    private static func logBytes(_ event: ConsoleEvent) -> Int {
        guard case .log(_, .page(let page)) = event else { return 0 }
        return max(1, page.chunks.reduce(0) { $0 + $1.data.utf8.count })
    }
}

/// Keeps the list on screen fresh: polls what the current view shows every `interval`,
/// or at once when kicked, and reports reachability.
public final class Poller: Sendable {
    private let api: any FleetAPI
    private let inbox: EventInbox
    private let interval: Duration
    private let focus = Mutex<Focus>(.nodes)
    private let kicked = Atomic<Bool>(true)

    public init(api: any FleetAPI, inbox: EventInbox, interval: Duration = .seconds(2)) {
        self.api = api
        self.inbox = inbox
        self.interval = interval
    }

    /// Changes what is polled; a change polls at once.
    public func setFocus(_ newFocus: Focus) {
        let changed = focus.withLock { current in
            defer { current = newFocus }
            return current != newFocus
        }
        if changed { kick() }
    }

    public func kick() { kicked.store(true, ordering: .relaxed) }

    /// Polls until cancelled.
    public func run() async {
        let clock = ContinuousClock()
        var last = clock.now - interval
        while !Task.isCancelled {
            if kicked.exchange(false, ordering: .relaxed) || clock.now - last >= interval {
                last = clock.now
                await pollOnce()
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// One poll of the current focus.
    public func pollOnce() async {
        let current = focus.withLock { $0 }
        do {
            switch current {
            case .nodes: inbox.post(.nodes(try await api.allNodes()))
            case .commands: inbox.post(.commands(try await api.listCommands(limit: 200, cursor: nil).commands))
            case .command(let id): inbox.post(.command(try await api.command(id)))
            }
            inbox.post(.reachable)
        } catch {
            inbox.post(.unreachable(error))
        }
    }
}

/// Set by SIGINT/SIGTERM/SIGHUP; the console loop checks it every tick and exits cleanly,
/// so the terminal is restored by the normal path.
let stopRequested = Atomic<Bool>(false)

/// Installs the handlers that set the stop flag (curses itself handles SIGWINCH).
public enum StopSignals {
    public static func install() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber) { _ in stopRequested.store(true, ordering: .relaxed) }
        }
    }

    public static var requested: Bool { stopRequested.load(ordering: .relaxed) }
}
