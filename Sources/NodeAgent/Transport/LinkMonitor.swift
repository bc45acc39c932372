import FleetSupport
import Logging
import ServiceLifecycle
import Synchronization

/// Whether the last call reached agent-svc at all (any HTTP answer counts; only a failure to
/// get one — refused, reset, timed out — means the link is down).
///
/// Every loop backs off on its own after failures, so after a long outage each would sleep
/// out its own delay and the node stay dark well after the link is back. Instead, while the link
/// is down one cheap probe (``LinkProbe``) looks for it every second, and the moment any call
/// gets through again every loop is woken to retry at once.
public final class LinkMonitor: Sendable {
    private struct State {
        var down = false
        var failures = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let onRestored: @Sendable () -> Void

    /// `onRestored` runs whenever a call gets through after the link was down.
    public init(onRestored: @escaping @Sendable () -> Void = {}) {
        self.onRestored = onRestored
    }

    /// Whether the last call failed to reach the server.
    public var isDown: Bool { state.withLock { $0.down } }

    /// A call got an HTTP answer.
    public func answered() {
        let restored = state.withLock { state -> Bool in
            defer {
                state.down = false
                state.failures = 0
            }
            return state.down
        }
        if restored { onRestored() }
    }

    /// A call got no answer.
    public func failed() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.failures += 1
            state.down = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the link is marked down (at once when it already is).
    func waitUntilDown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.down { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Wakes a ``waitUntilDown()`` without a failure (shutdown).
    func release() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// While the link is down, asks `GET /healthz` every `interval` (with a short timeout) so that
/// the moment the link is back is noticed within about a second, not after every loop's backoff.
/// Costs nothing while the link is up.
public struct LinkProbe: Service {
    let api: AgentAPI
    let link: LinkMonitor
    let interval: Duration
    let timeout: Duration
    let clock: any Clock<Duration>

    public init(
        api: AgentAPI, link: LinkMonitor, interval: Duration = .seconds(1), timeout: Duration = .milliseconds(1500),
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.api = api
        self.link = link
        self.interval = interval
        self.timeout = timeout
        self.clock = clock
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await withTaskCancellationHandler {
                    await link.waitUntilDown()
                } onCancel: {
                    link.release()
                }
                while link.isDown, !Task.isCancelled {
                    await api.probe(timeout: timeout)
                    if link.isDown { try? await clock.sleep(for: interval) }
                }
            }
        }
    }
}

extension LinkProbe: CustomStringConvertible {
    public var description: String { "LinkProbe" }
}
