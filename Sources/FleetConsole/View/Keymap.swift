import FleetProtocol

/// What a key does; the reducer gives each its meaning per screen.
public enum Action: Hashable, Sendable {
    case quit, back, backOrQuit, help, refresh, showNodes, showCommands
    case up, down, pageUp, pageDown, top, bottom
    case open, mark, markAll, clearMarks, filter, sort, run, revoke
    case cancel, logsAll, logsOne
    case follow, wrap, search, nextMatch, previousMatch
    case nextField, previousField, send, cycleType
    /// Listed in help only: the Run form's choice rows take ←/→ and space themselves.
    case choose
}

/// One key binding: data, so the menu and the help screen are generated from the same table.
public struct KeyBinding: Hashable, Sendable {
    /// The keys that trigger it.
    public var keys: [Key]
    /// How the key is written in the menu and help ("enter", "space", "/").
    public var label: String
    /// The menu row's name for it.
    public var short: String
    /// The help screen's line for it.
    public var help: String
    /// What it does.
    public var action: Action
    /// Shown in the one-line menu (help always lists it).
    public var inMenu: Bool
    /// Destructive: drawn in red, and always confirmed.
    public var dangerous: Bool

    /// A binding of `keys` to `action`, listed as `label` `short` (menu) and `help`.
    public init(
        _ keys: [Key], _ label: String, _ short: String, _ help: String, _ action: Action, menu: Bool = true,
        dangerous: Bool = false
    ) {
        self.keys = keys
        self.label = label
        self.short = short
        self.help = help
        self.action = action
        self.inMenu = menu
        self.dangerous = dangerous
    }
}

/// The key bindings of every screen.
public enum Keymap {
    static let movement: [KeyBinding] = [
        KeyBinding([.up, .char("k")], "↑/k", "Move up", "Move up", .up, menu: false),
        KeyBinding([.down, .char("j")], "↓/j", "Move down", "Move down", .down, menu: false),
        KeyBinding([.pageUp, .ctrl("b")], "pgup", "Page up", "Page up", .pageUp, menu: false),
        KeyBinding([.pageDown, .ctrl("f")], "pgdn", "Page down", "Page down", .pageDown, menu: false),
        KeyBinding([.home, .char("g")], "g/home", "First row", "First row", .top, menu: false),
        KeyBinding([.end, .char("G")], "G/end", "Last row", "Last row", .bottom, menu: false),
    ]

    /// Keys that work on every screen except inside the Run form.
    public static let global: [KeyBinding] = [
        KeyBinding([.char("1")], "1", "Nodes", "Nodes", .showNodes, menu: false),
        KeyBinding([.char("2")], "2", "Commands", "Commands", .showCommands, menu: false),
        KeyBinding([.ctrl("r")], "ctrl-r", "Refresh", "Refresh now", .refresh, menu: false),
        KeyBinding([.char("?")], "?", "Help", "Help", .help),
        KeyBinding([.escape], "esc", "Back", "Back (clears the filter at the top)", .back),
        KeyBinding([.char("q")], "q", "Quit", "Back; quits from the top view", .backOrQuit),
        KeyBinding([.ctrl("c")], "ctrl-c", "Quit", "Quit", .quit, menu: false),
    ]

    /// The bindings of `screen`, most useful first (the menu shows as many as fit).
    public static func bindings(for screen: Screen) -> [KeyBinding] {
        switch screen {
        case .nodes:
            [
                KeyBinding([.char(" ")], "space", "Mark", "Mark / unmark node", .mark),
                KeyBinding([.char("r"), .enter], "r", "Run", "Run on marked nodes (or this one)", .run),
                KeyBinding([.char("/")], "/", "Filter", "Filter: text or k=v attributes", .filter),
                KeyBinding([.char("s")], "s", "Sort", "Sort by id, status, seen, version", .sort),
                KeyBinding([.char("a")], "a", "Mark all", "Mark all shown / unmark all", .markAll),
                KeyBinding([.char("X")], "X", "Revoke", "Revoke marked nodes (or this one)", .revoke, dangerous: true),
                KeyBinding([.tab], "tab", "Commands", "Commands", .showCommands),
                KeyBinding([.char("u")], "u", "Unmark", "Clear marks", .clearMarks, menu: false),
            ] + movement
        case .commands:
            [
                KeyBinding([.enter], "enter", "Open", "Open: every target's invocation", .open),
                KeyBinding([.char("l")], "l", "Logs", "Logs of all targets", .logsAll),
                KeyBinding([.char("r")], "r", "Run", "Run a command on marked nodes", .run),
                KeyBinding([.char("c")], "c", "Cancel", "Cancel the command", .cancel, dangerous: true),
                KeyBinding([.tab], "tab", "Nodes", "Nodes", .showNodes),
            ] + movement
        case .command:
            [
                KeyBinding([.enter], "enter", "Logs", "Logs of this node", .logsOne),
                KeyBinding([.char("l")], "l", "Logs", "Logs of all targets", .logsAll),
                KeyBinding([.char("c")], "c", "Cancel", "Cancel the command", .cancel, dangerous: true),
            ] + movement
        case .logs:
            [
                KeyBinding([.char("f"), .end, .char("G")], "f/end", "Follow", "Follow: jump to the end", .follow),
                KeyBinding([.char("w")], "w", "Wrap", "Wrap long lines on/off", .wrap),
                KeyBinding([.char("/")], "/", "Search", "Search", .search),
                KeyBinding([.char("n")], "n", "Next", "Next match", .nextMatch),
                KeyBinding([.char("N")], "N", "Prev", "Previous match", .previousMatch),
                KeyBinding([.char("c")], "c", "Cancel", "Cancel the command", .cancel, dangerous: true),
                KeyBinding([.up, .char("k")], "↑/k", "Scroll up (pauses follow)", "Scroll up (pauses follow)", .up, menu: false),
                KeyBinding([.down, .char("j")], "↓/j", "Scroll down", "Scroll down", .down, menu: false),
                KeyBinding([.pageUp, .ctrl("b")], "pgup", "Page up", "Page up", .pageUp, menu: false),
                KeyBinding([.pageDown, .ctrl("f")], "pgdn", "Page down", "Page down", .pageDown, menu: false),
                KeyBinding([.home, .char("g")], "g/home", "Oldest line", "Oldest line", .top, menu: false),
            ]
        case .run:
            [
                KeyBinding([.enter], "enter", "Send", "Check, then send (asks first)", .send),
                KeyBinding([.ctrl("t")], "ctrl-t", "Type", "Next type: RunCommand, UpdateAgent, UpdatePackage", .cycleType),
                KeyBinding([.tab, .down], "tab/↓", "Next", "Next field", .nextField),
                KeyBinding([.backTab, .up], "shift-tab/↑", "Prev", "Previous field", .previousField),
                KeyBinding([.escape], "esc", "Close", "Close the form", .back),
                // No keys: the focused choice row consumes them before bindings are looked up.
                KeyBinding([], "←/→", "Choose", "Change a choice (space too): type, action, …", .choose, menu: false),
                KeyBinding([.ctrl("r")], "ctrl-r", "Refresh", "Reload nodes and the artifact list", .refresh, menu: false),
                KeyBinding([.char("?")], "?", "Help", "Help, from a choice row (in text it is text)", .help, menu: false),
            ]
        }
    }

    /// The binding for `key` on `screen`: the screen's own first, then the global ones.
    public static func binding(for key: Key, on screen: Screen) -> KeyBinding? {
        let own = bindings(for: screen)
        if let match = own.first(where: { $0.keys.contains(key) }) { return match }
        if screen == .run { return nil }
        return global.first { $0.keys.contains(key) }
    }

    /// The menu row's entries for `screen`: the screen's menu keys, then the global ones;
    /// with a known `role`, only what it may do (a hidden key still says why when pressed).
    public static func menu(for screen: Screen, role: OperatorRole? = nil) -> [KeyBinding] {
        let own = bindings(for: screen).filter { binding in
            guard binding.inMenu else { return false }
            guard let role, let needed = binding.action.requiredRole else { return true }
            return role.allows(needed)
        }
        return screen == .run ? own : own + global.filter(\.inMenu)
    }
}
