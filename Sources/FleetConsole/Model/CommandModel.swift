import FleetClient
import FleetProtocol
import Foundation

/// One command and its invocations, loaded a page at a time as the operator scrolls.
///
/// A command may have 10,000 targets, so the server pages its invocations in node order.
/// The model keeps every page fetched so far, each with the cursor that asked for it, so a
/// poll can refresh a page in place instead of throwing the scrolled-to rows away.
public struct CommandModel: Sendable {
    /// One fetched page: the cursor that asked for it (nil for the first) and what came back.
    struct Page: Sendable {
        var cursor: String?
        var invocations: [InvocationInfo]
        var nextCursor: String?
    }

    /// The command shown.
    public let commandId: UUID
    /// The command and every invocation loaded so far (a summary only until the first page);
    /// `nextCursor` is the cursor of the next page to load, nil once all are loaded.
    public private(set) var detail: CommandDetail?
    /// The selected invocation row.
    public var cursor = ListCursor()
    /// The first few nodes still waiting for a slot (from a `state=queued` fetch), for a rollout.
    public private(set) var waiting: [String]?
    /// The cursor of the page being fetched: set while it is on its way, so a page is asked for once.
    public private(set) var loadingCursor: String?
    private var pages: [Page] = []

    /// A view of `commandId`, showing `summary` until its detail arrives.
    public init(commandId: UUID, summary: CommandSummary? = nil) {
        self.commandId = commandId
        if let summary { detail = CommandDetail(command: summary, invocations: []) }
    }

    /// Takes a fresh first page (a poll); the later pages stay, the cursor stays on its node.
    public mutating func replace(_ newDetail: CommandDetail) {
        let page = Page(cursor: nil, invocations: newDetail.invocations, nextCursor: newDetail.nextCursor)
        // A first page without a cursor holds everything: pages loaded before are gone.
        if pages.isEmpty || newDetail.nextCursor == nil { pages = [page] } else { pages[0] = page }
        rebuild(newDetail.command)
    }

    /// Takes the page fetched for `request`: a page loaded before is refreshed in place, the
    /// one being loaded is appended, anything else (a page of a list since reloaded) is dropped.
    public mutating func apply(_ request: InvocationPageRequest, _ page: CommandDetail) {
        if request.state == .queued {
            waiting = page.invocations.map(\.nodeId)
            rebuild(page.command)
            return
        }
        let fetched = Page(cursor: request.cursor, invocations: page.invocations, nextCursor: page.nextCursor)
        if let index = pages.firstIndex(where: { $0.cursor == request.cursor }) {
            pages[index] = fetched
        } else if request.cursor != nil, request.cursor == loadingCursor {
            pages.append(fetched)
        } else {
            return
        }
        if request.cursor == loadingCursor { loadingCursor = nil }
        rebuild(page.command)
    }

    /// A page fetch failed: a page being loaded may be asked for again.
    public mutating func loadFailed(_ request: InvocationPageRequest) {
        if request.cursor == loadingCursor { loadingCursor = nil }
    }

    /// The next page to fetch when the cursor is within `rows` of the last loaded row, marked
    /// as loading; nil while one is on its way, or when every page is loaded.
    public mutating func nextPageToLoad(within rows: Int) -> InvocationPageRequest? {
        guard loadingCursor == nil, let next = pages.last?.nextCursor, cursor.index >= cursor.count - max(1, rows) else {
            return nil
        }
        loadingCursor = next
        return InvocationPageRequest(commandId: commandId, cursor: next)
    }

    /// The cursor of the page holding the cursor row, nil on the first page (the poll refreshes that one anyway).
    public var cursorPage: String? {
        var end = 0
        for page in pages {
            end += page.invocations.count
            if cursor.index < end { return page.cursor }
        }
        return nil
    }

    /// The invocation under the cursor.
    public var current: InvocationInfo? {
        guard let invocations = detail?.invocations, invocations.indices.contains(cursor.index) else { return nil }
        return invocations[cursor.index]
    }

    /// The nodes to name as waiting: the queued fetch, or until it came, the queued rows loaded.
    public var waitingNodes: [String] {
        waiting ?? (detail?.invocations.filter { $0.state == .queued }.map(\.nodeId) ?? [])
    }

    /// The detail from `summary` and every page, in order; the cursor stays on the same node.
    private mutating func rebuild(_ summary: CommandSummary) {
        let currentNode = current?.nodeId
        let invocations = pages.flatMap(\.invocations)
        detail = CommandDetail(command: summary, invocations: invocations, nextCursor: pages.last?.nextCursor)
        if summary.counts.queued == 0 { waiting = [] }
        cursor.setCount(invocations.count)
        if let currentNode, let row = invocations.firstIndex(where: { $0.nodeId == currentNode }) {
            cursor.moveTo(row)
        }
    }
}

extension CommandSummary {
    /// The rollout settings when they bound anything: agent-svc reports a delivery window for
    /// every command, and a progress line for an unthrottled one would only be noise.
    var boundedRollout: RolloutSettings? {
        rollout.flatMap { $0.maxConcurrency != nil || $0.maxErrors != nil ? $0 : nil }
    }
}
