import FleetConsole
import Testing

/// Selectors and rollout bounds: the Run form's preview and problems, and a throttled command.
@Suite struct GoldenRolloutTests {
    @Test func runSelector80x24() { expectGolden(Scenes.render(RolloutScenes.form(), 24, 80), GoldenRollout.runSelector80, "run-selector-80x24") }
    @Test func runSelectorProblems80x24() {
        var state = RolloutScenes.form(targets: "region=eu-west role=db", concurrency: "0", errors: "150%")
        _ = state.handle(.enter, now: testNow)
        expectGolden(Scenes.render(state, 24, 80), GoldenRollout.runSelectorProblems80, "run-selector-problems-80x24")
    }
    @Test func confirmSelector80x24() {
        var state = RolloutScenes.form()
        _ = state.handle(.enter, now: testNow)
        expectGolden(Scenes.render(state, 24, 80), GoldenRollout.confirmSelector80, "confirm-selector-80x24")
    }
    @Test func commandsSelector80x24() {
        expectGolden(Scenes.render(RolloutScenes.commandsView(), 24, 80), GoldenRollout.commandsSelector80, "commands-selector-80x24")
    }
    @Test func commandRollout80x24() {
        expectGolden(Scenes.render(RolloutScenes.commandView(), 24, 80), GoldenRollout.commandRollout80, "command-rollout-80x24")
    }
}
