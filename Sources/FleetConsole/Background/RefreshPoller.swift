import FleetClient
import FleetProtocol
import FleetSupport
import Foundation
import Synchronization

/// What the poller should fetch for the screen on top.
public enum Focus: Hashable, Sendable {
    case nodes, commands
    /// A command, and the page of its invocations the cursor is on (nil: the first, always fetched).
    case command(UUID, page: String?)

    /// The same view, whatever page of it is shown: moving between pages is not worth a poll.
    func sameView(as other: Focus) -> Bool {
        switch (self, other) {
        case (.command(let a, _), .command(let b, _)): a == b
        default: self == other
        }
    }
}

/// Keeps the list on screen fresh: polls what the current view shows every `interval`,
/// or at once when kicked, and reports reachability.
public final class RefreshPoller: Sendable {
    private let api: any FleetAPI
    private let inbox: EventInbox
    private let interval: Duration
    private let clock: any Clock<Duration>
    /// Rung by a kick; the wait between polls ends on it, so a kick costs no polling loop.
    private let wakeup: Wakeup
    private let focus = Mutex<Focus>(.nodes)

    /// A poller posting to `inbox`, timing its interval on `clock` (a test clock in tests).
    public init(
        api: any FleetAPI, inbox: EventInbox, interval: Duration = .seconds(2),
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.api = api
        self.inbox = inbox
        self.interval = interval
        self.clock = clock
        self.wakeup = Wakeup(clock: clock)
    }

    /// Changes what is polled; a change of view polls at once (a change of page waits for the next poll).
    public func setFocus(_ newFocus: Focus) {
        let changed = focus.withLock { current in
            defer { current = newFocus }
            return !current.sameView(as: newFocus)
        }
        if changed { kick() }
    }

    /// Polls now instead of at the end of the interval (a kick during a poll polls again after it).
    public func kick() { wakeup.ring() }

    /// Polls at once, then every `interval` after the previous poll began, until cancelled.
    public func run() async {
        // `self.` keeps Glibc's `clock()` out of the overloads, which would stop the opening.
        await run(on: self.clock)
    }

    private func run<C: Clock<Duration>>(on clock: C) async {
        while !Task.isCancelled {
            let started = clock.now
            await pollOnce()
            let left = interval - started.duration(to: clock.now)
            await wakeup.wait(timeout: max(left, .zero))
        }
    }

    /// One poll of the current focus.
    public func pollOnce() async {
        let current = focus.withLock { $0 }
        do {
            switch current {
            case .nodes: inbox.post(.nodes(try await api.allNodes()))
            case .commands: inbox.post(.commands(try await api.listCommands(limit: 200, cursor: nil).commands))
            case .command(let id, let page): try await pollCommand(id, page: page)
            }
            inbox.post(.reachable)
        } catch {
            inbox.post(.unreachable(error))
        }
    }

    /// Nodes named on the Command view's waiting line, at most.
    static let waitingShown = 8

    /// The first page (it carries the counts), the page the cursor is on, and for a rollout with
    /// work still queued, the first nodes waiting for a slot.
    private func pollCommand(_ id: UUID, page: String?) async throws(FleetAPIError) {
        let first = try await api.command(InvocationPageRequest(commandId: id))
        inbox.post(.command(first))
        if let page {
            let request = InvocationPageRequest(commandId: id, cursor: page)
            inbox.post(.invocations(request, .success(try await api.command(request))))
        }
        if first.command.boundedRollout != nil, first.command.counts.queued > 0 {
            let request = InvocationPageRequest(commandId: id, state: .queued, limit: Self.waitingShown)
            inbox.post(.invocations(request, .success(try await api.command(request))))
        }
    }
}
