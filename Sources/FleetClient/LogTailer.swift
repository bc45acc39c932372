import FleetProtocol
import FleetSupport
import Foundation

/// What the tail loop reports.
public enum LogTailEvent: Sendable {
    /// The next page, in cursor order.
    case page(LogPage)
    /// A request failed; the tail retries it unless the server refused it for good.
    case failed(FleetAPIError)
    /// The server said complete: every invocation finished and every byte is in.
    case finished
}

/// Follows a command's output page by page with the server's cursor.
///
/// Each request passes the cursor returned by the previous page, and a failed request is
/// retried with the same cursor, so output arrives without gaps or duplicates. It stops
/// when a page says `complete`.
public struct LogTailer: Sendable {
    /// Where the pages come from.
    public let api: any FleetAPI
    /// The command followed.
    public let commandId: UUID
    /// The node followed, or nil for every target.
    public let nodeId: String?
    /// Chunks asked for per page.
    public var pageLimit = 1000
    /// Seconds the server may hold an empty page.
    public var wait = 10
    /// Pause after an empty page, in case the server did not hold it.
    public var idleDelay: Duration = .milliseconds(200)
    /// Delays between retries of a failed page; a page that arrives resets it.
    public var backoff = Backoff(base: .seconds(1), cap: .seconds(5))
    /// What the pauses and retry delays are timed on (a test clock in tests).
    public var clock: any Clock<Duration>
    /// Stop at the first page without chunks instead of waiting for more: a one-off read of
    /// what is stored so far (`fleet logs` without `--follow`).
    public var stopsWhenCaughtUp = false

    /// A tail of `commandId`'s output on `nodeId` (all targets when nil).
    public init(api: any FleetAPI, commandId: UUID, nodeId: String?, clock: any Clock<Duration> = ContinuousClock()) {
        self.api = api
        self.commandId = commandId
        self.nodeId = nodeId
        self.clock = clock
    }

    /// Runs until complete or cancelled; `sink` gets every page and failure in order, and
    /// `backPressure` is awaited after each page (the console waits there while it is behind).
    public func run(sink: @Sendable (LogTailEvent) -> Void, backPressure: @Sendable () async -> Void = {}) async {
        var cursor: String?
        var backoff = self.backoff
        while !Task.isCancelled {
            do {
                let page = try await api.logs(commandId, nodeId: nodeId, cursor: cursor, limit: pageLimit, wait: wait)
                backoff.reset()
                cursor = page.nextCursor
                sink(.page(page))
                await backPressure()
                if page.complete {
                    sink(.finished)
                    return
                }
                if page.chunks.isEmpty {
                    if stopsWhenCaughtUp { return }
                    try await clock.sleep(for: idleDelay)
                }
            } catch let error as FleetAPIError {
                sink(.failed(error))
                // A request the server refuses will be refused again: stop instead of spinning.
                if case .giveUp = error.disposition { return }
                do { try await clock.sleep(for: backoff.next()) } catch { return }
            } catch {
                return  // cancelled while sleeping
            }
        }
    }
}
