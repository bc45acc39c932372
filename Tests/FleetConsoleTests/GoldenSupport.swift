import FleetConsole
import FleetProtocol
import Foundation

/// The states drawn by the golden tests: a small fleet with some history.
enum Scenes {
    static let nodes = [
        node("edge-1", attrs: ["region": "eu-west", "role": "web", "arch": "x86_64"], seen: 3),
        node("edge-2", attrs: ["region": "eu-west", "role": "db", "arch": "x86_64"], seen: 12),
        node("edge-3", online: false, attrs: ["region": "us-east", "role": "web", "arch": "aarch64"], seen: 420, version: "0.0.9"),
        node("edge-4", revoked: true, attrs: ["region": "us-east", "role": "cache"], seen: 90_000),
    ]

    static let commands = [
        summary(3, cmd: "sleep 300", targets: 2, counts: [.running: 1, .cancelled: 1], age: 20),
        summary(2, cmd: "for i in 1 2 3; do echo line $i; done", targets: 3, counts: [.succeeded: 2, .failed: 1], age: 400),
        summary(1, cmd: "uname -a", targets: 1, counts: [.succeeded: 1], age: 7_200),
    ]

    static func base() -> ConsoleState {
        var state = ConsoleState(serverURL: "http://127.0.0.1:8080")
        _ = state.apply(.reachable, now: testNow)
        _ = state.apply(.nodes(nodes), now: testNow)
        _ = state.apply(.commands(commands), now: testNow)
        return state
    }

    static func nodesView() -> ConsoleState {
        var state = base()
        _ = state.handle(.char(" "), now: testNow)
        _ = state.handle(.char(" "), now: testNow)
        return state
    }

    static func commandsView() -> ConsoleState {
        var state = base()
        _ = state.handle(.char("2"), now: testNow)
        _ = state.handle(.down, now: testNow)
        return state
    }

    static func commandView() -> ConsoleState {
        var state = commandsView()
        _ = state.handle(.enter, now: testNow)
        let invocations = [
            InvocationInfo(
                nodeId: "edge-1", state: .succeeded, exitCode: 0, deliveryCount: 1, createdAt: testNow.addingTimeInterval(-400),
                startedAt: testNow.addingTimeInterval(-399), finishedAt: testNow.addingTimeInterval(-396.5), stdoutBytes: 21),
            InvocationInfo(
                nodeId: "edge-2", state: .succeeded, exitCode: 0, deliveryCount: 1, createdAt: testNow.addingTimeInterval(-400),
                startedAt: testNow.addingTimeInterval(-399), finishedAt: testNow.addingTimeInterval(-396.4), stdoutBytes: 21),
            InvocationInfo(
                nodeId: "edge-3", state: .failed, exitCode: 2, deliveryCount: 2, createdAt: testNow.addingTimeInterval(-400),
                startedAt: testNow.addingTimeInterval(-300), finishedAt: testNow.addingTimeInterval(-100), stdoutBytes: 1_500_000,
                stderrBytes: 2048),
        ]
        _ = state.apply(.command(CommandDetail(command: commands[1], invocations: invocations)), now: testNow)
        return state
    }

    static func logsView(wrap: Bool = false, search: String? = nil) -> ConsoleState {
        var state = commandView()
        _ = state.handle(.char("l"), now: testNow)
        var chunks: [LogChunk] = []
        var offsets: [String: Int64] = [:]
        func add(_ node: String, _ text: String, _ stream: LogStream = .stdout) {
            let key = node + stream.rawValue
            chunks.append(chunk(text, at: offsets[key, default: 0], stream, node: node))
            offsets[key, default: 0] += Int64(text.utf8.count)
        }
        for i in 1...3 {
            add("edge-1", "line \(i)\n")
            add("edge-2", "line \(i)\n")
        }
        add("edge-3", "fetching https://example.invalid/packages/index.json with a long line that needs wrapping to fit\n")
        add("edge-3", "error: cannot resolve example.invalid\n", .stderr)
        add("edge-1", "done\n")
        let page = LogPage(commandId: uuid(2), nodeId: nil, chunks: chunks, nextCursor: "c1", complete: false)
        _ = state.apply(.log(generation: 1, .page(page)), now: testNow)
        if wrap { _ = state.handle(.char("w"), now: testNow) }
        if let search {
            _ = state.handle(.char("/"), now: testNow)
            for c in search { _ = state.handle(.char(c), now: testNow) }
            _ = state.handle(.enter, now: testNow)
        }
        return state
    }

    static func runView(confirm: Bool) -> ConsoleState {
        var state = base()
        _ = state.handle(.char(" "), now: testNow)
        _ = state.handle(.char(" "), now: testNow)
        _ = state.handle(.char("r"), now: testNow)
        for c in "uptime" { _ = state.handle(.char(c), now: testNow) }
        if confirm { _ = state.handle(.enter, now: testNow) }
        return state
    }

    static func helpView() -> ConsoleState {
        var state = base()
        _ = state.handle(.char("?"), now: testNow)
        return state
    }

    static func render(_ state: ConsoleState, _ rows: Int, _ columns: Int) -> String {
        var state = state
        let size = TerminalSize(rows: rows, columns: columns)
        state.layout(size: size)
        return ConsoleRenderer.render(state, size: size, now: testNow).plainText
    }
}
