import FleetConsole
import FleetProtocol
import FleetTestSupport
import Foundation
import Testing

/// Keys in, effects out: the reducer without a terminal or a network.
@Suite struct ConsoleFlowTests {
    func state() -> ConsoleState {
        var state = ConsoleState(serverURL: "http://127.0.0.1:8080")
        _ = state.apply(.nodes([node("edge-1", attrs: ["region": "eu-west"]), node("edge-2", attrs: ["region": "us-east"])]), now: testNow)
        _ = state.apply(.commands([summary(1, cmd: "sleep 300", targets: 2, counts: [.running: 2], age: 30)]), now: testNow)
        return state
    }

    func type(_ text: String, into state: inout ConsoleState) {
        for c in text { _ = state.handle(.char(c), now: testNow) }
    }

    @Test func runFormSubmitsOnlyAfterConfirmation() {
        // setup
        var state = state()
        // act
        _ = state.handle(.char("r"), now: testNow)
        #expect(state.screen == .run)
        type("echo hi", into: &state)
        let beforeConfirm = state.handle(.enter, now: testNow)
        let confirmation = state.confirm
        let effects = state.handle(.char("y"), now: testNow)
        // check
        #expect(beforeConfirm.isEmpty)
        #expect(confirmation?.lines.first == "Run \"echo hi\"")
        let expected = SubmitCommandRequest(targets: ["edge-1"], payload: .runCommand(RunCommandPayload(cmd: "echo hi", timeoutSec: 60)))
        #expect(effects == [.submit(expected)])
        #expect(state.confirm == nil)
    }

    @Test func answeringNoSendsNothing() {
        var state = state()
        _ = state.handle(.char("r"), now: testNow)
        type("reboot", into: &state)
        _ = state.handle(.enter, now: testNow)
        #expect(state.handle(.char("n"), now: testNow).isEmpty)
        #expect(state.confirm == nil)
        #expect(state.screen == .run)
    }

    @Test func submittingOpensTheLogsOfTheNewCommand() {
        var state = state()
        _ = state.handle(.char("r"), now: testNow)
        let effects = state.apply(
            .submitted(SubmitCommandResponse(commandId: uuid(5), commandType: .runCommand, targets: ["edge-1"], createdAt: testNow)),
            now: testNow)
        #expect(state.stack == [.nodes, .logs(uuid(5), node: nil)])
        #expect(effects.contains(.startTail(generation: 1, commandId: uuid(5), nodeId: nil)))
    }

    @Test func cancelAndRevokeAskFirst() {
        var state = state()
        _ = state.handle(.char("2"), now: testNow)
        #expect(state.handle(.char("c"), now: testNow).isEmpty)
        #expect(state.confirm?.dangerous == true)
        #expect(state.handle(.char("y"), now: testNow) == [.cancel(uuid(1))])

        _ = state.handle(.char("1"), now: testNow)
        _ = state.handle(.char(" "), now: testNow)
        _ = state.handle(.char(" "), now: testNow)
        _ = state.handle(.char("X"), now: testNow)
        #expect(state.confirm?.lines.first == "Revoke 2 nodes: edge-1, edge-2?")
        #expect(state.handle(.char("y"), now: testNow) == [.revoke(["edge-1", "edge-2"])])
    }

    @Test func filterPromptNarrowsTheListLiveAndEscapeClearsIt() {
        var state = state()
        _ = state.handle(.char("/"), now: testNow)
        type("us-east", into: &state)
        #expect(state.nodes.visible.count == 1)
        _ = state.handle(.escape, now: testNow)
        #expect(state.prompt == nil)
        #expect(state.nodes.visible.count == 2)
    }

    @Test func backLeavesLogsAndStopsTheTailAndQuitsFromTheTop() {
        var state = state()
        _ = state.handle(.char("2"), now: testNow)
        let open = state.handle(.char("l"), now: testNow)
        #expect(open.contains(.startTail(generation: 1, commandId: uuid(1), nodeId: nil)))
        #expect(state.handle(.escape, now: testNow).contains(.stopTail))
        #expect(state.logs == nil)
        _ = state.handle(.char("q"), now: testNow)
        #expect(state.quitRequested)
    }

    @Test func pagesOfAnOldTailAreIgnored() {
        var state = state()
        _ = state.handle(.char("2"), now: testNow)
        _ = state.handle(.char("l"), now: testNow)
        _ = state.handle(.escape, now: testNow)
        _ = state.handle(.char("l"), now: testNow)  // generation 2
        let stale = LogPage(commandId: uuid(1), nodeId: nil, chunks: [chunk("old\n", at: 0, node: "edge-1")], nextCursor: "x", complete: false)
        _ = state.apply(.log(generation: 1, .page(stale)), now: testNow)
        #expect(state.logs?.count == 0)
    }

    @Test func unreachableServerIsReportedAndClearsWhenItAnswers() {
        var state = state()
        _ = state.apply(.unreachable(.unreachable("connection refused")), now: testNow)
        let frame = ConsoleRenderer.render(state, size: TerminalSize(rows: 24, columns: 80), now: testNow.addingTimeInterval(5))
        #expect(frame.lines[23].plainText.contains("server unreachable: connection refused — retrying every 2s (for 5s)"))
        _ = state.apply(.reachable, now: testNow)
        #expect(state.connection == .connected)
    }
}

/// The whole loop with the in-memory terminal and a fake server.
@Suite struct ConsoleAppTests {
    @Test func nodesAppearAndAnOutageShowsOnTheStatusLine() async {
        // setup
        let api = FakeAPI()
        api.state.withLock { $0.nodes = [node("edge-1"), node("edge-2")] }
        let terminal = MemoryTerminal(size: TerminalSize(rows: 24, columns: 80))
        let clock = ManualClock()
        let app = ConsoleApp(terminal: terminal, api: api, serverURL: "http://fake", pollInterval: .seconds(2), clock: clock)
        app.start()
        defer { app.shutdown() }
        // act: the first poll runs at once; the poller then sleeps until the next
        await clock.waitForSleepers()
        app.step(key: nil)
        // check
        #expect(terminal.text.contains("edge-2"))
        #expect(terminal.text.contains("● connected"))

        api.state.withLock { $0.unreachable = true }
        clock.advance(by: .seconds(2))
        await clock.waitForSleepers()
        app.step(key: nil)
        #expect(terminal.text.contains("server unreachable: connection refused"))
        #expect(terminal.text.contains("edge-2"), "the last list stays on screen")
        app.step(key: .ctrl("c"))
        #expect(app.state.quitRequested)
    }

    @Test func everyFrameHasExactlyTheScreenSize() {
        var state = ConsoleState(serverURL: "http://x")
        _ = state.apply(.nodes((0..<100).map { node("n\($0)-" + String(repeating: "日", count: $0 % 30)) }), now: testNow)
        for size in [
            TerminalSize(rows: 24, columns: 80), TerminalSize(rows: 40, columns: 120), TerminalSize(rows: 8, columns: 40),
            TerminalSize(rows: 5, columns: 20),
        ] {
            let frame = ConsoleRenderer.render(state, size: size, now: testNow)
            #expect(frame.lines.count == size.rows)
            #expect(frame.lines.allSatisfy { $0.width == size.columns }, "\(size)")
        }
    }
}
