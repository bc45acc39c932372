import FleetConsole
import FleetProtocol
import FleetTestSupport
import Foundation
import Synchronization
import Testing

/// The update types through the reducer and the loop: keys in, effects and screens out.
@Suite struct FormFlowTests {
    func screen(_ state: ConsoleState, rows: Int = 24, columns: Int = 80) -> String {
        Scenes.render(state, rows, columns)
    }

    @Test func badPackageNamesAreListedInTheFormAndNothingIsSent() {
        // setup
        var state = FormScenes.form(.updatePackage)
        FormScenes.type("vim; rm -rf /", into: &state)
        // act
        let effects = state.handle(.enter, now: testNow)
        // check
        #expect(effects.isEmpty)
        #expect(state.confirm == nil)
        #expect(state.screen == .run)
        let text = screen(state)
        #expect(text.contains("✗ packages: 'vim;' is not a valid package name"))
        #expect(text.contains("✗ packages: '-rf' is not a valid package name"))
        #expect(text.contains("not sent: packages: 'vim;' is not a valid package name (and 2 more)"))
        // fixing the field clears the list as it is typed, and the send goes through
        _ = state.handle(.ctrl("u"), now: testNow)
        FormScenes.type("vim curl", into: &state)
        #expect(!screen(state).contains("✗"))
        #expect(state.handle(.enter, now: testNow).isEmpty)
        #expect(state.confirm?.lines.first == "UpdatePackage install vim curl on 2 nodes")
        let expected = SubmitCommandRequest(
            targets: ["edge-1", "edge-2"],
            payload: .updatePackage(
                UpdatePackagePayload(action: .install, packages: ["vim", "curl"], timeoutSec: 900)))
        #expect(state.handle(.char("y"), now: testNow) == [.submit(expected)])
    }

    @Test func choosingUpdateAgentFetchesTheArtifactsOnceAndCtrlRAgain() {
        var state = FormScenes.form(.runCommand)
        #expect(state.handle(.ctrl("t"), now: testNow) == [.loadArtifacts])
        #expect(state.form?.artifacts == .loading)
        #expect(state.handle(.ctrl("r"), now: testNow) == [.refresh], "a fetch is already running")
        _ = state.apply(.artifacts(.success(FormScenes.artifacts)), now: testNow)
        #expect(state.handle(.right, now: testNow).isEmpty, "choosing does not fetch again")
        #expect(state.form?.chosenArtifact == FormScenes.artifacts[1])
        #expect(state.handle(.ctrl("r"), now: testNow) == [.refresh, .loadArtifacts])
    }

    @Test func anArtifactPickedInTheFormIsWhatIsSent() {
        var state = FormScenes.agentForm(confirm: true)
        #expect(state.confirm?.title == "Update agent")
        #expect(state.confirm?.lines.first == "UpdateAgent → 0.2.0 on 2 nodes")
        let expected = SubmitCommandRequest(
            targets: ["edge-1", "edge-2"],
            payload: .updateAgent(
                UpdateAgentPayload(version: "0.2.0", sha256: FormScenes.sha1, artifactId: FormScenes.artifacts[0].artifactId)))
        #expect(state.handle(.char("y"), now: testNow) == [.submit(expected)])
    }

    @Test func anEmptyArtifactListSaysHowToUploadOne() {
        let text = screen(FormScenes.agentForm(artifacts: []))
        #expect(text.contains("no agent binary uploaded yet"))
        #expect(text.contains("--data-binary @node-agent"))
        #expect(text.contains("\"$AGENT_SVC_URL/v1/artifacts?name=node-agent&version=X\""))
        #expect(text.contains("(•) by hand"))
    }

    @Test func questionMarkIsTextInACommandAndHelpOnAChoiceRow() {
        var state = FormScenes.form(.runCommand)
        FormScenes.type("ls ?", into: &state)
        #expect(state.form?.command.text == "ls ?")
        #expect(!state.showHelp)
        _ = state.handle(.up, now: testNow)
        _ = state.handle(.up, now: testNow)
        _ = state.handle(.char("?"), now: testNow)
        #expect(state.showHelp)
    }

    @Test func theLoopFetchesArtifactsFromTheServer() async {
        // setup
        let api = FakeAPI()
        api.state.withLock {
            $0.nodes = [node("edge-1")]
            $0.artifacts = FormScenes.artifacts
        }
        let terminal = MemoryTerminal(size: TerminalSize(rows: 24, columns: 80))
        let clock = ManualClock()
        let app = ConsoleApp(terminal: terminal, api: api, serverURL: "http://fake", clock: clock, now: { testNow })
        app.start()
        defer { app.shutdown() }
        await clock.waitForSleepers()
        app.step(key: nil)
        // act
        app.step(key: .char("r"))
        app.step(key: .ctrl("t"))
        for _ in 0..<50 where !terminal.text.contains("node-agent 0.1.9") {
            await app.waitForEvents(timeout: .seconds(5))
            app.step(key: nil)
        }
        // check
        #expect(terminal.text.contains("(•) node-agent 0.2.0"))
        #expect(terminal.text.contains("( ) node-agent 0.1.9"))
        #expect(api.state.withLock { $0.artifactCalls } == 1)
    }
}
