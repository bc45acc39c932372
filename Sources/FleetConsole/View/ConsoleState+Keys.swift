import FleetProtocol
import Foundation

extension ConsoleState {
    /// Applies one key press; returns what must happen outside.
    public mutating func handle(_ key: Key, now: Date) -> [Effect] {
        let effects = handleKey(key, now: now) + pageEffects()
        // Whichever key made the form show UpdateAgent, its artifact list is fetched once.
        if screen == .run, form?.commandType == .updateAgent, form?.startLoadingArtifacts() == true {
            return effects + [.loadArtifacts]
        }
        return effects
    }

    private mutating func handleKey(_ key: Key, now: Date) -> [Effect] {
        if key == .resize { return [] }
        if let confirm { return answer(confirm, with: key, now: now) }
        if showHelp {
            showHelp = false
            return []
        }
        if prompt != nil { return handlePrompt(key, now: now) }
        if screen == .run, form != nil, formTakes(key) { return [] }
        guard let binding = Keymap.binding(for: key, on: screen) else { return [] }
        return perform(binding.action, now: now)
    }

    /// A key while a confirmation is open: yes runs its effect, no (or leaving) drops it,
    /// anything else is ignored.
    private mutating func answer(_ confirm: Confirmation, with key: Key, now: Date) -> [Effect] {
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

    /// Whether the Run form used `key` itself. A character is text in a text field even when
    /// bound (`?` is help only from a choice row); other bound keys go to the bindings.
    private mutating func formTakes(_ key: Key) -> Bool {
        let isCharacter = if case .char = key { true } else { false }
        let bound = Keymap.bindings(for: .run).contains { $0.keys.contains(key) }
        return (isCharacter || !bound) && form?.edit(key) == true
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
}
