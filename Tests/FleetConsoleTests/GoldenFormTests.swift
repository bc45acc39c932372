import FleetConsole
import Testing

/// The Run form in each command type, and the views of the update types, at 80×24 and 120×40.
@Suite struct GoldenFormTests {
    @Test func runPackage80x24() { expectGolden(Scenes.render(FormScenes.packageForm(), 24, 80), GoldenForms.runPackage80, "run-package-80x24") }
    @Test func runPackage120x40() {
        expectGolden(Scenes.render(FormScenes.packageForm(), 40, 120), GoldenForms.runPackage120, "run-package-120x40")
    }
    @Test func runPackageProblems80x24() {
        var state = FormScenes.packageForm(packages: "vim; rm -rf /")
        _ = state.handle(.enter, now: testNow)
        expectGolden(Scenes.render(state, 24, 80), GoldenForms.runPackageProblems80, "run-package-problems-80x24")
    }
    @Test func confirmPackage80x24() {
        expectGolden(Scenes.render(FormScenes.packageForm(confirm: true), 24, 80), GoldenForms.confirmPackage80, "confirm-package-80x24")
    }
    @Test func runAgent80x24() { expectGolden(Scenes.render(FormScenes.agentForm(), 24, 80), GoldenAgentForms.runAgent80, "run-agent-80x24") }
    @Test func runAgent120x40() { expectGolden(Scenes.render(FormScenes.agentForm(), 40, 120), GoldenAgentForms.runAgent120, "run-agent-120x40") }
    @Test func runAgentNoArtifacts80x24() {
        expectGolden(Scenes.render(FormScenes.agentForm(artifacts: []), 24, 80), GoldenAgentForms.runAgentEmpty80, "run-agent-empty-80x24")
    }
    @Test func confirmAgent120x40() {
        expectGolden(Scenes.render(FormScenes.agentForm(confirm: true), 40, 120), GoldenAgentForms.confirmAgent120, "confirm-agent-120x40")
    }
    @Test func run120x40() { expectGolden(Scenes.render(FormScenes.form(.runCommand), 40, 120), GoldenForms.run120, "run-120x40") }
    @Test func helpRun80x24() { expectGolden(Scenes.render(FormScenes.helpView(), 24, 80), GoldenForms.helpRun80, "help-run-80x24") }
}

/// Commands of the update types: the history and one command with its results.
@Suite struct GoldenResultTests {
    @Test func commandsMixed80x24() {
        expectGolden(Scenes.render(FormScenes.commandsView(), 24, 80), GoldenResults.commandsMixed80, "commands-mixed-80x24")
    }
    @Test func commandsMixed120x40() {
        expectGolden(Scenes.render(FormScenes.commandsView(), 40, 120), GoldenResults.commandsMixed120, "commands-mixed-120x40")
    }
    @Test func commandPackage80x24() {
        expectGolden(Scenes.render(FormScenes.packageCommandView(), 24, 80), GoldenResults.commandPackage80, "command-package-80x24")
    }
    @Test func commandPackage120x40() {
        expectGolden(Scenes.render(FormScenes.packageCommandView(), 40, 120), GoldenResults.commandPackage120, "command-package-120x40")
    }
    @Test func commandAgent80x24() {
        expectGolden(Scenes.render(FormScenes.agentCommandView(), 24, 80), GoldenResults.commandAgent80, "command-agent-80x24")
    }
}
