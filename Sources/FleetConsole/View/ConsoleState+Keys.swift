import FleetProtocol
import Foundation

extension ConsoleState {
    /// Applies one key press; returns what must happen outside.
    public mutating func handle(_ key: Key, now: Date) -> [Effect] {
        let effects = handleKey(key, now: now)
        // Whichever key made the form show UpdateAgent, its artifact list is fetched once.
        if screen == .run, form?.commandType == .updateAgent, form?.startLoadingArtifacts() == true {
            return effects + [.loadArtifacts]
        }
        return effects
    }

    private mutating func handleKey(_ key: Key, now: Date) -> [Effect] {
        if key == .resize { return [] }
        if let confirm {
            switch key {
            case .char("y"), .char("Y"):
                self.confirm = nil
                return [confirm.effect]
            case .char("n"), .char("N"), .escape, .char("q"):
                self.confirm = nil
                say("not sent", now: now)
            default: break
            }
            return []
        }
        if showHelp {
            showHelp = false
            return []
        }
        if prompt != nil { return handlePrompt(key, now: now) }
        if screen == .run, form != nil {
            // A character is text in a text field even when bound (`?` is help only from a choice row).
            let isCharacter = if case .char = key { true } else { false }
            let bound = Keymap.bindings(for: .run).contains { $0.keys.contains(key) }
            if isCharacter || !bound, form?.edit(key) == true { return [] }
        }
        guard let binding = Keymap.binding(for: key, on: screen) else { return [] }
        return perform(binding.action, now: now)
    }

    private mutating func handlePrompt(_ key: Key, now: Date) -> [Effect] {
        guard var prompt else { return [] }
        switch key {
        case .enter:
            self.prompt = nil
            if prompt.kind == .search, logs != nil {
                logs?.setSearch(prompt.input.text, viewport: viewportRows)
                if prompt.input.text.isEmpty == false, logs?.search != nil, logs?.follow == true {
                    say("no match for \"\(prompt.input.text)\"", now: now)
                }
            }
        case .escape:
            self.prompt = nil
            if prompt.kind == .filter { nodes.setFilter("") }
            if prompt.kind == .search { logs?.setSearch(nil, viewport: viewportRows) }
        default:
            _ = prompt.input.handle(key)
            self.prompt = prompt
            if prompt.kind == .filter { nodes.setFilter(prompt.input.text) }
        }
        return []
    }

    private mutating func perform(_ action: Action, now: Date) -> [Effect] {
        let page = max(1, viewportRows - 1)
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
        case .up: move(-1)
        case .down: move(1)
        case .pageUp: move(-page)
        case .pageDown: move(page)
        case .top:
            if screen.isLogs { logs?.jumpToStart() } else { move(Int.min / 2) }
        case .bottom:
            if screen.isLogs { logs?.jumpToEnd() } else { move(Int.max / 2) }
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
        case .open:
            if let current = commands.current { return push(.command(current.commandId)) }
        case .logsAll:
            if let id = selectedCommandId { return push(.logs(id, node: nil)) }
        case .logsOne:
            if let id = command?.commandId, let node = command?.current?.nodeId { return push(.logs(id, node: node)) }
        case .cancel:
            return askCancel(now: now)
        case .nextField:
            form?.nextField()
        case .previousField:
            form?.previousField()
        case .send:
            return askSubmit(now: now)
        case .cycleType:
            form?.cycleType()
        case .choose:
            break
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
            confirm = .submit(request)
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
            title: "Cancel command", lines: ["Cancel command \(Format.shortId(id))\(pending)?",
                "Running invocations get SIGTERM, then SIGKILL."],
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
            title: "Revoke", lines: ["Revoke \(ids.count) node\(ids.count == 1 ? "" : "s"): \(names)?",
                "Their tokens stop working at once."],
            effect: .revoke(ids), dangerous: true)
        return []
    }
}

extension Screen {
    var isLogs: Bool {
        if case .logs = self { return true }
        return false
    }
}
