import FleetClient
import FleetConsole
import FleetProtocol
import FleetTestSupport
import Foundation
import Testing

/// What the Run form sends for a selector and rollout bounds.
@Suite struct RolloutRequestTests {
    let run = CommandPayload.runCommand(RunCommandPayload(cmd: "uptime", timeoutSec: 60))

    @Test func aTypedSelectorIsSentAsTheSelectorAndIdsAsTargets() throws {
        // setup
        var state = RolloutScenes.form()
        // act
        _ = state.handle(.enter, now: testNow)
        let confirmation = state.confirm
        let effects = state.handle(.char("y"), now: testNow)
        // check: the selector as typed, not the two nodes it matches here
        let expected = SubmitCommandRequest(
            targets: [], selector: RolloutScenes.selector, payload: run, maxConcurrency: .count(1), maxErrors: .percent(10))
        #expect(effects == [.submit(expected)])
        #expect(confirmation?.lines.contains("on 2 nodes matching \(RolloutScenes.selector): edge-1, edge-2") == true)
        let json = try #require(String(data: try FleetJSON.makeEncoder().encode(expected), encoding: .utf8))
        #expect(json.contains(#""selector":"region=eu-west,role in (web,db)""#))
        #expect(json.contains(#""max_errors":"10%""#) && json.contains(#""max_concurrency":1"#))
        #expect(!json.contains("targets"), "a selector goes without targets: both at once is a 400")

        var ids = RolloutScenes.form(targets: "edge-2, edge-1", concurrency: "", errors: "")
        _ = ids.handle(.enter, now: testNow)
        #expect(ids.handle(.char("y"), now: testNow) == [.submit(SubmitCommandRequest(targets: ["edge-2", "edge-1"], payload: run))])
    }

    @Test func aSelectorThatDoesNotParseOrMatchesNothingIsNotSent() {
        for (targets, problem) in [("role in (web", "selector error at position"), ("region=mars", "no node matches the selector")] {
            var state = RolloutScenes.form(targets: targets)
            #expect(state.handle(.enter, now: testNow).isEmpty)
            #expect(state.confirm == nil)
            #expect(state.form?.problems(nodes: state.nodes.nodes).first?.hasPrefix(problem) == true, "\(targets)")
        }
    }

    @Test func boundsAreCheckedAsTheServerChecksThem() {
        func problems(_ concurrency: String, _ errors: String) -> [String] {
            let state = RolloutScenes.form(targets: "edge-1", concurrency: concurrency, errors: errors)
            return state.form?.problems(nodes: state.nodes.nodes) ?? ["no form"]
        }
        #expect(problems("0", "101%") == ["max concurrency must be at least 1, got 0", "max errors must be 0%–100%, got 101%"])
        #expect(problems("3%%", "") == ["max concurrency must be a number or a percentage such as 10%"])
        #expect(problems("100%", "0").isEmpty, "0 errors tolerated is a bound, not a mistake")
        var form = RunForm(targets: ["edge-1"])
        form.focus = .maxConcurrency
        for key in [Key.char("-"), .char("x"), .char("5")] { _ = form.edit(key) }
        #expect(form.maxConcurrency.text == "5", "only digits and % are typed")
    }
}

/// The Command view pages its invocations as the cursor nears the end of those loaded.
@Suite struct CommandPagingTests {
    static let id = uuid(8)

    static func big(_ count: Int, queued: Int = 0) -> CommandDetail {
        var counts = StateCounts()
        counts.add(.succeeded, count - queued)
        counts.add(.queued, queued)
        let summary = CommandSummary(
            commandId: id, payload: .runCommand(RunCommandPayload(cmd: "true", timeoutSec: 60)), createdBy: "alice",
            createdAt: testNow, targetCount: count, counts: counts, selector: "*",
            rollout: queued > 0 ? RolloutSettings(maxConcurrency: 5, deliverWithinSec: 600) : nil)
        let invocations = (0..<count).map { n in
            InvocationInfo(nodeId: String(format: "node-%04d", n), state: n >= count - queued ? .queued : .succeeded, createdAt: testNow)
        }
        return CommandDetail(command: summary, invocations: invocations)
    }

    /// The Command view of `detail` with its first page applied, laid out at 80×24.
    func opened(_ detail: CommandDetail) -> ConsoleState {
        var state = Scenes.base()
        _ = state.apply(.commands([detail.command]), now: testNow)
        _ = state.handle(.char("2"), now: testNow)
        _ = state.handle(.enter, now: testNow)
        state.layout(size: TerminalSize(rows: 24, columns: 80))
        _ = state.apply(.command(FakeAPI.page(of: detail, InvocationPageRequest(commandId: Self.id))), now: testNow)
        return state
    }

    @Test func scrollingFetchesEachPageOnceWithItsCursor() {
        // setup: 450 invocations, pages of 200
        let detail = Self.big(450)
        var state = opened(detail)
        var asked: [InvocationPageRequest] = []
        var inFlight: [(InvocationPageRequest, keysLeft: Int)] = []
        // act: walk down every row; each page arrives five keys after it was asked for
        for _ in 0..<460 {
            for case .loadInvocations(let request) in state.handle(.down, now: testNow) {
                asked.append(request)
                inFlight.append((request, 5))
            }
            inFlight = inFlight.map { ($0.0, $0.keysLeft - 1) }
            for (request, _) in inFlight.filter({ $0.keysLeft == 0 }) {
                _ = state.apply(.invocations(request, .success(FakeAPI.page(of: detail, request))), now: testNow)
            }
            inFlight.removeAll { $0.keysLeft == 0 }
        }
        // check
        #expect(asked.map(\.cursor) == ["200", "400"])
        #expect(asked.allSatisfy { $0.commandId == Self.id && $0.state == nil && $0.limit == 200 })
        #expect(state.command?.detail?.invocations.map(\.nodeId) == detail.invocations.map(\.nodeId))
        #expect(state.command?.current?.nodeId == "node-0449")
        #expect(state.focus == .command(Self.id, page: "400"), "the poll refreshes the page the cursor is on")
        // a refresh of the first page keeps the pages loaded after it
        _ = state.apply(.command(FakeAPI.page(of: detail, InvocationPageRequest(commandId: Self.id))), now: testNow)
        #expect(state.command?.detail?.invocations.count == 450)
        #expect(state.command?.current?.nodeId == "node-0449")
    }

    @Test func aFailedPageIsAskedForAgainOnTheNextKey() {
        let detail = Self.big(300)
        var state = opened(detail)
        let first = state.handle(.end, now: testNow)
        guard case .loadInvocations(let request) = first.last else {
            Issue.record("the end of the first page did not ask for the next: \(first)")
            return
        }
        #expect(state.handle(.up, now: testNow).isEmpty, "one request at a time")
        _ = state.apply(.invocations(request, .failure(.unreachable("connection refused"))), now: testNow)
        #expect(state.flash?.text == "loading invocations failed: server unreachable: connection refused")
        #expect(state.handle(.down, now: testNow) == [.loadInvocations(request)])
    }

    @Test func theLoopFetchesPagesAndTheWaitingNodesFromTheServer() async {
        // setup: a throttled command of 450, the last 30 waiting
        let api = FakeAPI()
        let detail = Self.big(450, queued: 30)
        api.state.withLock {
            $0.commands = [detail.command]
            $0.details[Self.id] = detail
        }
        let terminal = MemoryTerminal(size: TerminalSize(rows: 24, columns: 80))
        let app = ConsoleApp(terminal: terminal, api: api, serverURL: "http://fake", clock: ManualClock(), now: { testNow })
        app.start()
        defer { app.shutdown() }
        func step(until done: () -> Bool, key: Key? = nil) async {
            app.step(key: key)
            for _ in 0..<50 where !done() {
                await app.waitForEvents(timeout: .seconds(5))
                app.step(key: nil)
            }
        }
        // act
        await step(until: { app.state.commands.loaded }, key: .char("2"))
        await step(until: { app.state.command?.waiting != nil }, key: .enter)
        for _ in 0..<3 { await step(until: { app.state.command?.loadingCursor == nil }, key: .end) }
        // check
        let calls = api.state.withLock { $0.commandCalls }
        #expect(calls.compactMap(\.cursor) == ["200", "400"], "each page once")
        #expect(calls.contains(InvocationPageRequest(commandId: Self.id, state: .queued, limit: 8)))
        #expect(app.state.command?.current?.nodeId == "node-0449")
        #expect(terminal.text.contains("waiting   node-0420, node-0421"))
    }
}

/// What the Command view says about how a command was targeted.
@Suite struct TargetingLinesTests {
    @Test func aDeliveryWindowAloneDrawsNoProgressLine() {
        // setup: agent-svc reports a window for every command, bounded or not
        var summary = RolloutScenes.summary
        summary.rollout = RolloutSettings(deliverWithinSec: 600)
        var state = Scenes.base()
        _ = state.apply(.commands([summary]), now: testNow)
        _ = state.handle(.char("2"), now: testNow)
        _ = state.handle(.enter, now: testNow)
        // act
        _ = state.apply(.command(CommandDetail(command: summary, invocations: RolloutScenes.detail.invocations)), now: testNow)
        let screen = Scenes.render(state, 24, 80)
        // check
        #expect(screen.contains("selector  role=web  → 10 nodes"))
        #expect(!screen.contains("rollout") && !screen.contains("waiting "))
    }
}
