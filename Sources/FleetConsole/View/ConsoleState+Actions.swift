import FleetProtocol
import Foundation

/// What each bound action does, by the part of the console it acts on.
extension ConsoleState {
    /// Runs a bound action; returns what must happen outside.
    mutating func perform(_ action: Action, now: Date) -> [Effect] {
        if let needed = action.requiredRole, let role, !role.allows(needed) {
            say("\(action.verb) needs the \(needed.rawValue) role; this token has role \(role.rawValue)", error: true, now: now)
            return []
        }
        switch action {
        case .quit, .back, .backOrQuit, .help, .refresh, .showNodes, .showCommands:
            return navigate(action)
        case .up, .down, .pageUp, .pageDown, .top, .bottom:
            scroll(action)
        case .follow, .wrap, .search, .nextMatch, .previousMatch:
            browseLogs(action, now: now)
        case .mark, .markAll, .clearMarks, .filter, .sort, .run, .revoke:
            return actOnNodes(action, now: now)
        case .open, .logsAll, .logsOne, .cancel:
            return actOnCommand(action, now: now)
        case .nextField, .previousField, .send, .cycleType, .choose:
            return actOnForm(action, now: now)
        }
        return []
    }

    /// Leaving, switching and refreshing views.
    private mutating func navigate(_ action: Action) -> [Effect] {
        switch action {
        case .quit:
            quitRequested = true
        case .back:
            if stack.count > 1 { return pop() }
            if !nodes.filter.isEmpty { nodes.setFilter("") } else if !nodes.selected.isEmpty { nodes.clearSelection() }
        case .backOrQuit:
            return pop()
        case .help:
            showHelp = true
        case .refresh:
            if screen == .run, form?.commandType == .updateAgent, form?.startLoadingArtifacts(force: true) == true {
                return [.refresh, .loadArtifacts]
            }
            return [.refresh]
        case .showNodes:
            return switchTo(.nodes)
        case .showCommands:
            return switchTo(.commands)
        default: break
        }
        return []
    }

    /// Cursor and scroll keys, on whichever list or log is shown.
    private mutating func scroll(_ action: Action) {
        let page = max(1, viewportRows - 1)
        switch action {
        case .up: move(-1)
        case .down: move(1)
        case .pageUp: move(-page)
        case .pageDown: move(page)
        case .top:
            if screen.isLogs { logs?.jumpToStart() } else { move(Int.min / 2) }
        case .bottom:
            if screen.isLogs { logs?.jumpToEnd() } else { move(Int.max / 2) }
        default: break
        }
    }

    /// Following, wrapping and searching the Logs view.
    private mutating func browseLogs(_ action: Action, now: Date) {
        switch action {
        case .follow:
            logs?.jumpToEnd()
        case .wrap:
            logs?.wrap.toggle()
        case .search:
            prompt = Prompt(kind: .search, input: TextInput(logs?.search ?? ""))
        case .nextMatch, .previousMatch:
            if logs?.search == nil {
                say("no search: press / first", now: now)
            } else if logs?.nextMatch(forward: action == .nextMatch, viewport: viewportRows) == false {
                say("no more matches", now: now)
            }
        default: break
        }
    }

    /// Marking, filtering and sorting nodes, and what is done to the marked ones.
    private mutating func actOnNodes(_ action: Action, now: Date) -> [Effect] {
        switch action {
        case .mark:
            nodes.toggleSelection()
        case .markAll:
            nodes.toggleAllVisible()
        case .clearMarks:
            nodes.clearSelection()
        case .filter:
            prompt = Prompt(kind: .filter, input: TextInput(nodes.filter))
        case .sort:
            nodes.cycleSort()
            say("sorted by \(nodes.sort.rawValue)", now: now)
        case .run:
            form = RunForm(targets: nodes.targets)
            return push(.run)
        case .revoke:
            return askRevoke(now: now)
        default: break
        }
        return []
    }

    /// Opening a command, its logs, or cancelling it.
    private mutating func actOnCommand(_ action: Action, now: Date) -> [Effect] {
        switch action {
        case .open:
            if let current = commands.current { return push(.command(current.commandId)) }
        case .logsAll:
            if let id = selectedCommandId { return push(.logs(id, node: nil)) }
        case .logsOne:
            if let id = command?.commandId, let node = command?.current?.nodeId { return push(.logs(id, node: node)) }
        case .cancel:
            return askCancel(now: now)
        default: break
        }
        return []
    }

    /// Moving through the Run form and sending it; `.choose` is only listed in help (the
    /// focused choice row has taken the key before bindings are looked up).
    private mutating func actOnForm(_ action: Action, now: Date) -> [Effect] {
        switch action {
        case .nextField:
            form?.nextField()
        case .previousField:
            form?.previousField()
        case .send:
            return askSubmit(now: now)
        case .cycleType:
            form?.cycleType()
        default: break
        }
        return []
    }

    /// The command the current screen is about.
    var selectedCommandId: UUID? {
        switch screen {
        case .commands: commands.current?.commandId
        case .command(let id), .logs(let id, _): id
        default: nil
        }
    }

    private mutating func move(_ delta: Int) {
        switch screen {
        case .nodes: nodes.cursor.move(by: delta)
        case .commands: commands.cursor.move(by: delta)
        case .command: command?.cursor.move(by: delta)
        case .logs:
            let amount = min(abs(delta), 1_000_000)
            if delta < 0 { logs?.scrollUp(amount, viewport: viewportRows) } else { logs?.scrollDown(amount, viewport: viewportRows) }
        case .run: break
        }
    }

    private mutating func askSubmit(now: Date) -> [Effect] {
        guard let form else { return [] }
        switch form.request(nodes: nodes.nodes) {
        case .failure(let error):
            // The form lists every problem; the status line says why nothing happened.
            self.form?.showProblems = true
            let more = error.problems.count > 1 ? " (and \(error.problems.count - 1) more)" : ""
            say("not sent: \(error.problems.first ?? "the form is incomplete")\(more)", error: true, now: now)
            return []
        case .success(let request):
            self.form?.showProblems = false
            confirm = .submit(request, matched: form.resolveTargets(in: nodes.nodes))
            return []
        }
    }

    private mutating func askCancel(now: Date) -> [Effect] {
        guard let id = selectedCommandId else { return [] }
        let counts = command?.commandId == id ? command?.detail?.command.counts : commands.commands.first { $0.commandId == id }?.counts
        if let counts, counts.pending == 0 {
            say("nothing to cancel: every invocation has finished", now: now)
            return []
        }
        let pending = counts.map { " (\($0.pending) not finished)" } ?? ""
        confirm = Confirmation(
            title: "Cancel command",
            lines: [
                "Cancel command \(Format.shortId(id))\(pending)?",
                "Running invocations get SIGTERM, then SIGKILL.",
            ],
            effect: .cancel(id), dangerous: true)
        return []
    }

    private mutating func askRevoke(now: Date) -> [Effect] {
        let ids = nodes.targets.filter { id in nodes.nodes.first { $0.nodeId == id }?.status != .revoked }
        guard !ids.isEmpty else {
            say("nothing to revoke", now: now)
            return []
        }
        let names = ids.prefix(5).joined(separator: ", ") + (ids.count > 5 ? ", …" : "")
        confirm = Confirmation(
            title: "Revoke",
            lines: [
                "Revoke \(ids.count) node\(ids.count == 1 ? "" : "s"): \(names)?",
                "Their tokens stop working at once.",
            ],
            effect: .revoke(ids), dangerous: true)
        return []
    }
}
