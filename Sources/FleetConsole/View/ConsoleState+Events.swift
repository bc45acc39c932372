import FleetClient
import FleetProtocol
import Foundation

extension ConsoleState {
    /// Whether the Logs view is open on the tail of `generation` (older tails' pages are dropped).
    public func hasLogs(_ generation: Int) -> Bool { logs != nil && generation == logGeneration }

    /// The next page of the Command view's invocations, when its cursor nears the end of those loaded.
    mutating func pageEffects() -> [Effect] {
        guard case .command = screen, let request = command?.nextPageToLoad(within: viewportRows) else { return [] }
        return [.loadInvocations(request)]
    }

    /// Applies what a background task reported; returns follow-up effects.
    public mutating func apply(_ event: ConsoleEvent, now: Date) -> [Effect] {
        switch event {
        case .nodes(let list):
            nodes.replace(list)
        case .commands(let list):
            commands.replace(list)
        case .command(let detail):
            if command?.commandId == detail.command.commandId { command?.replace(detail) }
            if logs?.commandId == detail.command.commandId { logs?.targetCount = detail.command.targetCount }
            return pageEffects()
        case .invocations(let request, let result):
            guard command?.commandId == request.commandId else { return [] }
            switch result {
            case .success(let page): command?.apply(request, page)
            case .failure(let error):
                // Asked again on the next key or poll, not at once: a server that is down would loop.
                command?.loadFailed(request)
                say("loading invocations failed: \(error.description)", error: true, now: now, seconds: 8)
                return []
            }
            return pageEffects()
        case .log(let generation, let tailEvent):
            guard generation == logGeneration, logs != nil else { return [] }
            switch tailEvent {
            case .page(let page): logs?.apply(page)
            case .failed(let error): logs?.error = error.description
            case .finished: break
            }
        case .submitted(let response):
            say("submitted \(Format.shortId(response.commandId)) to \(response.targets.count) node(s)", now: now)
            if screen == .run { _ = pop() }
            form = nil
            nodes.clearSelection()
            return push(.logs(response.commandId, node: nil))
        case .cancelled(let response):
            say("cancel: \(response.cancelled) cancelled, \(response.cancelling) stopping", now: now)
            return [.refresh]
        case .revoked(let done, let failed):
            if failed.isEmpty {
                say("revoked \(done.count) node(s)", now: now)
            } else {
                let first = failed.sorted { $0.key < $1.key }.first.map { "\($0.key): \($0.value)" } ?? ""
                say("revoked \(done.count), failed \(failed.count): \(first)", error: true, now: now, seconds: 8)
            }
            nodes.clearSelection()
            return [.refresh]
        case .artifacts(let result):
            // A form closed meanwhile has nobody to show the list to.
            form?.setArtifacts(result)
        case .actionFailed(let what, let error):
            say("\(what) failed: \(error.description)", error: true, now: now, seconds: 8)
        case .identity(let me):
            role = me.role
        case .reachable:
            connection = .connected
        case .unreachable(let error):
            if case .unreachable(_, let since) = connection {
                connection = .unreachable(error.description, since: since)
            } else {
                connection = .unreachable(error.description, since: now)
            }
        }
        return []
    }
}
