import FleetConsole
import Testing

/// Every view drawn as text at 80×24 and 120×40.
@Suite struct GoldenTests {
    @Test func nodes80x24() { expectGolden(Scenes.render(Scenes.nodesView(), 24, 80), Golden.nodes80, "nodes-80x24") }
    @Test func nodes120x40() { expectGolden(Scenes.render(Scenes.nodesView(), 40, 120), Golden.nodes120, "nodes-120x40") }
    @Test func commands80x24() { expectGolden(Scenes.render(Scenes.commandsView(), 24, 80), Golden.commands80, "commands-80x24") }
    @Test func command80x24() { expectGolden(Scenes.render(Scenes.commandView(), 24, 80), Golden.command80, "command-80x24") }
    @Test func command120x40() { expectGolden(Scenes.render(Scenes.commandView(), 40, 120), Golden.command120, "command-120x40") }
    @Test func logs80x24() { expectGolden(Scenes.render(Scenes.logsView(), 24, 80), Golden.logs80, "logs-80x24") }
    @Test func logsWrapped80x24() {
        expectGolden(Scenes.render(Scenes.logsView(wrap: true, search: "line 2"), 24, 80), Golden.logsWrapped80, "logs-wrapped-80x24")
    }
    @Test func run80x24() { expectGolden(Scenes.render(Scenes.runView(confirm: false), 24, 80), Golden.run80, "run-80x24") }
    @Test func confirm120x40() { expectGolden(Scenes.render(Scenes.runView(confirm: true), 40, 120), Golden.confirm120, "confirm-120x40") }
    @Test func help80x24() { expectGolden(Scenes.render(Scenes.helpView(), 24, 80), Golden.help80, "help-80x24") }
}
