import FleetClient
import FleetConsole
import FleetProtocol
import Foundation

/// The Run form with a selector and rollout bounds, and a throttled command sent to a selector.
enum RolloutScenes {
    static let selector = "region=eu-west,role in (web,db)"

    /// The Run form opened on the cursor's node, its targets replaced by `targets`, with the bounds typed.
    static func form(targets: String = selector, concurrency: String = "1", errors: String = "10%") -> ConsoleState {
        var state = Scenes.base()
        _ = state.handle(.char("r"), now: testNow)
        FormScenes.type("uptime", into: &state)
        _ = state.handle(.up, now: testNow)  // Command → Targets
        _ = state.handle(.ctrl("u"), now: testNow)
        FormScenes.type(targets, into: &state)
        for _ in 0..<3 { _ = state.handle(.tab, now: testNow) }  // → Command → Timeout → Max concurrency
        FormScenes.type(concurrency, into: &state)
        _ = state.handle(.tab, now: testNow)
        FormScenes.type(errors, into: &state)
        return state
    }

    static let rollout = RolloutSettings(
        maxConcurrency: 2, maxConcurrencySpec: .percent(20), maxErrors: 1, maxErrorsSpec: .count(1), deliverWithinSec: 600)

    /// Ten web nodes at max 2 at once: two done, one failed, two running, five waiting.
    static let states: [InvocationState] = [.succeeded, .succeeded, .failed, .running, .running] + Array(repeating: .queued, count: 5)

    static let summary = CommandSummary(
        commandId: uuid(7), payload: .runCommand(RunCommandPayload(cmd: "systemctl restart nginx", timeoutSec: 120)),
        createdBy: "alice", createdAt: testNow.addingTimeInterval(-90), targetCount: states.count,
        counts: FormScenes.counts(Dictionary(states.map { ($0, 1) }, uniquingKeysWith: +)), selector: "role=web",
        rollout: rollout)

    static let detail = CommandDetail(
        command: summary,
        invocations: states.enumerated().map { index, state in
            let started = state == .queued ? nil : testNow.addingTimeInterval(-80 + Double(index) * 10)
            return InvocationInfo(
                nodeId: String(format: "web-%02d", index + 1), state: state, exitCode: state.isTerminal ? (state == .failed ? 1 : 0) : nil,
                deliveryCount: state == .queued ? 0 : 1, createdAt: testNow.addingTimeInterval(-90), startedAt: started,
                finishedAt: state.isTerminal ? started?.addingTimeInterval(8) : nil, stdoutBytes: state == .queued ? 0 : 120)
        })

    /// The history with the throttled command on top.
    static func commandsView() -> ConsoleState {
        var state = Scenes.base()
        _ = state.apply(.commands([summary] + Scenes.commands), now: testNow)
        _ = state.handle(.char("2"), now: testNow)
        _ = state.handle(.home, now: testNow)
        return state
    }

    /// The throttled command opened; the poll brought its first page and the waiting nodes.
    static func commandView() -> ConsoleState {
        var state = commandsView()
        _ = state.handle(.enter, now: testNow)
        _ = state.apply(.command(detail), now: testNow)
        let waiting = InvocationPageRequest(commandId: summary.commandId, state: .queued, limit: 3)
        _ = state.apply(.invocations(waiting, .success(FakeAPI.page(of: detail, waiting))), now: testNow)
        return state
    }
}
