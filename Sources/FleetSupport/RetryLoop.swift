import Logging
import ServiceLifecycle

/// What one round of a ``RetryLoop`` found.
public enum RoundOutcome: Sendable, Equatable {
    /// Work remains: start the next round at once.
    case more
    /// Nothing left: wait for a ring of the loop's ``Wakeup`` or its idle interval.
    case idle
    /// Wait this long (or for a ring) before the next round.
    case pause(Duration)
}

/// The one retrying loop of every background service: run a round, back off with jitter on
/// failures that may pass, log health only when it changes, sleep on a doorbell, and end on
/// graceful shutdown (ringing the doorbell, so no sleep delays a SIGTERM).
///
/// Services keep their work in a `round` closure; what happens to a failure is the failure's
/// ``FailureDisposition``: `fatal` ends the loop with its error, anything else backs off.
public struct RetryLoop: Sendable {
    /// Wait after an ``RoundOutcome/idle`` round.
    public var idleInterval: Duration
    /// The delays after failures.
    public var backoff: Backoff
    let wakeup: Wakeup
    let clock: any Clock<Duration>
    let logger: Logger
    let what: String
    let peer: String

    /// A loop named `what` (for its log lines) that talks to `peer`, waking on `wakeup` (a
    /// private doorbell when nil) and timing its waits on `clock`.
    public init(
        _ what: String, peer: String, logger: Logger, idleInterval: Duration = .seconds(5), backoff: Backoff = Backoff(),
        wakeup: Wakeup? = nil, clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.what = what
        self.peer = peer
        self.logger = logger
        self.idleInterval = idleInterval
        self.backoff = backoff
        self.clock = clock
        self.wakeup = wakeup ?? Wakeup(clock: clock)
    }

    /// Runs rounds until the task is cancelled or the service group shuts down gracefully.
    /// Rethrows only fatal failures.
    public func run(
        isolation: isolated (any Actor)? = #isolation, _ round: () async throws -> RoundOutcome
    ) async throws {
        var backoff = self.backoff
        var log = FailureLog(logger: logger, what: what, peer: peer)
        while !Self.stopping {
            let delay: Duration
            do {
                let outcome = try await round()
                log.succeeded()
                backoff.reset()
                switch outcome {
                case .more: continue
                case .idle: delay = idleInterval
                case .pause(let pause): delay = pause
                }
            } catch {
                if case .fatal(let fatal) = FailureDisposition(of: error) { throw fatal }
                if Self.stopping { return }
                delay = backoff.next()
                log.failed(error, retryIn: delay)
            }
            await sleep(delay)
        }
    }

    /// Calls `operation` until it succeeds, backing off between failures that may pass;
    /// a failure that is fatal or given up is thrown. Cancellation ends the wait with
    /// `CancellationError`.
    public func retrying<T>(
        isolation: isolated (any Actor)? = #isolation, _ operation: () async throws -> T
    ) async throws -> T {
        var backoff = self.backoff
        var log = FailureLog(logger: logger, what: what, peer: peer)
        while true {
            do {
                let value = try await operation()
                return value
            } catch {
                switch FailureDisposition(of: error) {
                case .fatal(let fatal): throw fatal
                case .giveUp: throw error
                case .retry: break
                }
                let delay = backoff.next()
                log.failed(error, retryIn: delay)
                try await clock.sleep(for: delay)
            }
        }
    }

    /// The bounded last rounds before the process exits: repeats `round` while it reports
    /// progress, until `timeout` has passed on the loop's clock. Returns the failure that ended
    /// it early, if any, so the caller can say what stays behind.
    public func drain(
        isolation: isolated (any Actor)? = #isolation, within timeout: Duration, _ round: () async throws -> Bool
    ) async -> (any Error)? {
        await drain(isolation: isolation, on: clock, within: timeout, round)
    }

    private func drain<C: Clock<Duration>>(
        isolation: isolated (any Actor)?, on clock: C, within timeout: Duration, _ round: () async throws -> Bool
    ) async -> (any Error)? {
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline, !Task.isCancelled {
            do {
                guard try await round() else { return nil }
            } catch {
                return error
            }
        }
        return nil
    }

    /// Waits for the doorbell or `delay`, whichever comes first; a graceful shutdown rings it.
    private func sleep(isolation: isolated (any Actor)? = #isolation, _ delay: Duration) async {
        await withGracefulShutdownHandler {
            await wakeup.wait(timeout: delay)
        } onGracefulShutdown: { [wakeup] in
            wakeup.ring()
        }
    }

    private static var stopping: Bool { Task.isShuttingDownGracefully || Task.isCancelled }
}
