import CNCursesW
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Set while curses owns the terminal, so the exit hook knows whether to call `endwin`.
private let cursesActive = Atomic<Bool>(false)

/// The production driver: ncursesw, the only file that imports it.
///
/// Sets the locale (UTF-8 and box drawing need it), uses colours when the terminal has them
/// (roles fall back to bold/underline/dim otherwise), turns SIGWINCH into `.resize`, and
/// gives the terminal back with `endwin` on `restore()`, on `exit()` and on deinit.
public final class CursesTerminal: Terminal {
    public let supportsColor: Bool
    private var restored = false

    /// Takes over the terminal. Throws when stdin/stdout is not a terminal curses can drive.
    public init() throws(ConsoleError) {
        setlocale(LC_ALL, "")
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw .notATerminal
        }
        // ncurses waits this long after Esc for the rest of an escape sequence.
        set_escdelay(25)
        guard initscr() != nil else { throw .notATerminal }
        cursesActive.store(true, ordering: .sequentiallyConsistent)
        atexit {
            if cursesActive.exchange(false, ordering: .sequentiallyConsistent) { endwin() }
        }
        cbreak()
        noecho()
        nonl()
        keypad(fleet_stdscr(), true)
        curs_set(0)
        if has_colors() {
            start_color()
            use_default_colors()
            supportsColor = true
            for (index, role) in Role.allCases.enumerated() {
                let (fg, bg) = Self.colors(role)
                init_pair(Int16(index + 1), fg, bg)
            }
        } else {
            supportsColor = false
        }
    }

    deinit { restore() }

    public var size: TerminalSize {
        TerminalSize(rows: Int(getmaxy(fleet_stdscr())), columns: Int(getmaxx(fleet_stdscr())))
    }

    public func draw(_ frame: Frame) {
        guard !restored else { return }
        erase()
        let rows = min(frame.lines.count, Int(getmaxy(fleet_stdscr())))
        let columns = Int(getmaxx(fleet_stdscr()))
        for row in 0..<rows {
            var x = 0
            for span in frame.lines[row].spans where x < columns {
                let text = TextWidth.clip(span.text, to: columns - x, ellipsis: false)
                fleet_put(Int32(row), Int32(x), text, attributes(span))
                x += TextWidth.width(text)
            }
        }
        refresh()
    }

    public func readKey(timeoutMilliseconds: Int) -> Key? {
        guard !restored else { return nil }
        timeout(Int32(timeoutMilliseconds))
        var code: Int32 = 0
        let rc = fleet_get_wch(&code)
        if rc == fleet_key_code_yes() { return Self.functionKey(code) }
        guard rc == OK else { return nil }
        switch code {
        case 10, 13: return .enter
        case 27: return .escape
        case 9: return .tab
        case 8, 127: return .backspace
        case 1...26: return Unicode.Scalar(UInt32(code) + 96).map { .ctrl(Character($0)) }
        default: return Unicode.Scalar(UInt32(bitPattern: code)).map { .char(Character($0)) }
        }
    }

    public func restore() {
        guard !restored else { return }
        restored = true
        if cursesActive.exchange(false, ordering: .sequentiallyConsistent) {
            curs_set(1)
            endwin()
        }
    }

    private static func functionKey(_ code: Int32) -> Key? {
        switch code {
        case fleet_key_up(): .up
        case fleet_key_down(): .down
        case fleet_key_left(): .left
        case fleet_key_right(): .right
        case fleet_key_npage(): .pageDown
        case fleet_key_ppage(): .pageUp
        case fleet_key_home(): .home
        case fleet_key_end(): .end
        case fleet_key_backspace(): .backspace
        case fleet_key_dc(): .delete
        case fleet_key_enter(): .enter
        case fleet_key_btab(): .backTab
        case fleet_key_resize(): .resize
        default: nil
        }
    }

    private func attributes(_ span: Span) -> Int32 {
        var attrs: Int32 = 0
        if span.attributes.contains(.bold) { attrs |= fleet_attr_bold() }
        if span.attributes.contains(.reverse) { attrs |= fleet_attr_reverse() }
        if span.attributes.contains(.underline) { attrs |= fleet_attr_underline() }
        if supportsColor, let index = Role.allCases.firstIndex(of: span.role) {
            attrs |= fleet_color_pair(Int32(index + 1))
            if [.header, .title, .menuKey, .menuDanger, .tableHeader, .error, .flashError].contains(span.role) {
                attrs |= fleet_attr_bold()
            }
            if span.role == .dim { attrs |= fleet_attr_dim() }
        } else {
            switch span.role {
            case .header, .title, .menuKey, .menuDanger, .tableHeader, .error, .flashError: attrs |= fleet_attr_bold()
            case .dim, .crumb: attrs |= fleet_attr_dim()
            case .stderr, .warn: attrs |= fleet_attr_underline()
            case .match, .marked, .cursor: attrs |= fleet_attr_reverse()
            default: break
            }
        }
        return attrs
    }

    /// Foreground and background per role; -1 is the terminal's default.
    private static func colors(_ role: Role) -> (Int16, Int16) {
        switch role {
        case .normal, .dim: (-1, -1)
        case .header: (Int16(COLOR_CYAN), -1)
        case .title: (Int16(COLOR_CYAN), -1)
        case .menuKey: (Int16(COLOR_BLUE), -1)
        case .menuDanger: (Int16(COLOR_RED), -1)
        case .tableHeader: (-1, -1)
        case .ok: (Int16(COLOR_GREEN), -1)
        case .warn: (Int16(COLOR_YELLOW), -1)
        case .error: (Int16(COLOR_RED), -1)
        case .info: (Int16(COLOR_CYAN), -1)
        case .stderr: (Int16(COLOR_MAGENTA), -1)
        case .match: (Int16(COLOR_BLACK), Int16(COLOR_YELLOW))
        case .marked: (Int16(COLOR_YELLOW), -1)
        case .crumb: (Int16(COLOR_BLACK), Int16(COLOR_CYAN))
        case .flashInfo: (Int16(COLOR_GREEN), -1)
        case .flashError: (Int16(COLOR_WHITE), Int16(COLOR_RED))
        case .cursor: (Int16(COLOR_BLACK), Int16(COLOR_CYAN))
        }
    }
}

/// Why the console could not start or had to stop.
public enum ConsoleError: Error, CustomStringConvertible {
    case notATerminal
    case configuration(String)

    public var description: String {
        switch self {
        case .notATerminal: "fleet-tui needs an interactive terminal (stdin and stdout must be a tty)"
        case .configuration(let message): message
        }
    }
}
