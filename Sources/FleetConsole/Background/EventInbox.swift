import FleetClient
import FleetProtocol
import FleetSupport
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
    /// Rung by every post, for a caller waiting for events (tests).
    private let arrived = Wakeup()
    /// Rung by every drain, for the tail waiting for room.
    private let room = Wakeup()
    /// How long a wait for room sleeps without a drain before it looks again; drains ring,
    /// so this is only a backstop.
    private static let roomRecheck = Duration.seconds(1)

    /// An empty inbox.
    public init() {}

    /// Queues an event for the next tick.
    public func post(_ event: ConsoleEvent) {
        queue.withLock {
            $0.events.append(event)
            $0.logBytes += Self.logBytes(event)
        }
        arrived.ring()
    }

    /// Whether nothing is waiting.
    public var isEmpty: Bool { queue.withLock { $0.events.isEmpty } }

    /// Bytes of log output queued and not yet taken.
    public var pendingLogBytes: Int { queue.withLock { $0.logBytes } }

    /// Takes every waiting event.
    public func drain() -> [ConsoleEvent] {
        let events = queue.withLock { queue in
            defer {
                queue.events.removeAll(keepingCapacity: true)
                queue.logBytes = 0
            }
            return queue.events
        }
        room.ring()
        return events
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
    /// Only one task may wait at a time.
    public func waitForRoom(limit: Int) async {
        while pendingLogBytes > limit, !Task.isCancelled {
            await room.wait(timeout: Self.roomRecheck)
        }
    }

    /// Waits until an event is queued or `timeout` has passed on the real clock.
    /// Only one task may wait at a time.
    public func waitForEvents(timeout: Duration) async {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while isEmpty, clock.now < deadline, !Task.isCancelled {
            await arrived.wait(timeout: clock.now.duration(to: deadline))
        }
    }

    private static func logBytes(_ event: ConsoleEvent) -> Int {
        guard case .log(_, .page(let page)) = event else { return 0 }
        return max(1, page.chunks.reduce(0) { $0 + $1.data.utf8.count })
    }
}
