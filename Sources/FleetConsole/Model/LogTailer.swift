import FleetProtocol
import Foundation

/// What the tail loop reports.
public enum LogTailEvent: Sendable {
    case page(LogPage)
    case failed(APIError)
    /// The server said complete: every invocation finished and every byte is in.
    case finished
}

/// Follows a command's output page by page with the server's cursor.
///
/// Each request passes the cursor returned by the previous page, and a failed request is
/// retried with the same cursor, so output arrives without gaps or duplicates. It stops
/// when a page says `complete`.
public struct LogTailer: Sendable {
    public let api: any FleetAPI
    public let commandId: UUID
    public let nodeId: String?
    public var pageLimit = 1000
    /// Seconds the server may hold an empty page.
    public var wait = 10
    /// Pause after an empty page, in case the server did not hold it.
    public var idleDelay: Duration = .milliseconds(200)
    /// First retry delay; it grows with each failure up to `maxRetryDelay`.
    public var retryDelay: Duration = .seconds(1)
    public var maxRetryDelay: Duration = .seconds(5)

    public init(api: any FleetAPI, commandId: UUID, nodeId: String?) {
        self.api = api
        self.commandId = commandId
        self.nodeId = nodeId
    }

    /// Runs until complete or cancelled; `sink` gets every page and failure in order, and
    /// `backPressure` is awaited after each page (the console waits there while it is behind).
    public func run(sink: @Sendable (LogTailEvent) -> Void, backPressure: @Sendable () async -> Void = {}) async {
        var cursor: String?
        var failures = 0
        while !Task.isCancelled {
            do {
                let page = try await api.logs(commandId, nodeId: nodeId, cursor: cursor, limit: pageLimit, wait: wait)
                failures = 0
                cursor = page.nextCursor
                sink(.page(page))
                await backPressure()
                if page.complete {
                    sink(.finished)
                    return
                }
                if page.chunks.isEmpty { try await Task.sleep(for: idleDelay) }
            } catch let error as APIError {
                failures += 1
                sink(.failed(error))
                // A request the server refuses will be refused again: stop instead of spinning.
                if case .server(let status, _, _) = error, (400..<500).contains(status), status != 429 { return }
                let delay = min(retryDelay * failures, maxRetryDelay)
                do { try await Task.sleep(for: delay) } catch { return }
            } catch {
                return  // cancelled while sleeping
            }
        }
    }
}
