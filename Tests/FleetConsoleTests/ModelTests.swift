import FleetConsole
import FleetProtocol
import Foundation
import Testing

@Suite struct NodesModelTests {
    func model() -> NodesModel {
        var model = NodesModel()
        model.replace([
            node("edge-1", attrs: ["region": "eu-west", "role": "web"], seen: 5),
            node("edge-2", online: false, attrs: ["region": "eu-west", "role": "db"], seen: 300),
            node("edge-3", revoked: true, attrs: ["region": "us-east", "role": "web"], seen: 90),
        ])
        return model
    }

    @Test func filterMatchesTextAndAttributeSelectors() {
        var model = model()
        model.setFilter("region=eu-west")
        #expect(model.visible.map { model.nodes[$0].nodeId } == ["edge-1", "edge-2"])
        model.setFilter("region=eu-west role=db")
        #expect(model.visible.map { model.nodes[$0].nodeId } == ["edge-2"])
        model.setFilter("revoked")
        #expect(model.visible.map { model.nodes[$0].nodeId } == ["edge-3"])
        model.setFilter("nothing-matches")
        #expect(model.visible.isEmpty)
        #expect(model.current == nil)
    }

    @Test func sortCyclesAndTheCursorStaysOnItsNode() {
        var model = model()
        model.cursor.moveTo(2)
        #expect(model.current?.nodeId == "edge-3")
        model.cycleSort()  // status: online, offline, revoked
        #expect(model.sort == .status)
        #expect(model.current?.nodeId == "edge-3")
        #expect(model.cursor.index == 2)
        model.cycleSort()  // last seen, newest first
        #expect(model.visible.map { model.nodes[$0].nodeId } == ["edge-1", "edge-3", "edge-2"])
        #expect(model.current?.nodeId == "edge-3")
    }

    @Test func marksSurviveARefreshAndBecomeTheTargets() {
        var model = model()
        #expect(model.targets == ["edge-1"])
        model.toggleSelection()  // marks edge-1, cursor moves to edge-2
        model.cursor.moveTo(2)
        model.toggleSelection()
        #expect(model.targets == ["edge-1", "edge-3"])
        model.replace(Array(model.nodes.prefix(2)))  // edge-3 disappeared
        #expect(model.targets == ["edge-1"])
    }
}

@Suite struct RunFormTests {
    let nodes = [
        node("edge-1", attrs: ["region": "eu-west", "role": "web"]),
        node("edge-2", attrs: ["region": "eu-west", "role": "db"]),
        node("edge-3", revoked: true, attrs: ["region": "eu-west", "role": "web"]),
    ]

    func form(targets: String, command: String = "uptime") -> RunForm {
        var form = RunForm(targets: [])
        for c in targets { _ = form.targets.handle(.char(c)) }
        for c in command { _ = form.command.handle(.char(c)) }
        return form
    }

    @Test func targetsAreIdsOrASelectorInTheServersGrammar() {
        #expect(form(targets: "edge-2,edge-1 edge-2").resolveTargets(in: nodes) == ["edge-2", "edge-1"])
        #expect(form(targets: "region=eu-west").resolveTargets(in: nodes) == ["edge-1", "edge-2"], "revoked nodes are never picked")
        #expect(form(targets: "region=eu-west,role=web").resolveTargets(in: nodes) == ["edge-1"])
        #expect(form(targets: "role notin (web)").resolveTargets(in: nodes) == ["edge-2"])
        #expect(form(targets: "*").resolveTargets(in: nodes) == ["edge-1", "edge-2"])
        // Space-separated k=v was the console's own syntax; the shared grammar wants commas.
        let spaced = form(targets: "region=eu-west role=web").targetSpec
        guard case .invalid(let error) = spaced else {
            Issue.record("space-separated requirements parsed: \(spaced)")
            return
        }
        #expect(error.position == 15)
        #expect(form(targets: "all").targetSpec == .ids(["all"]), "a word is a node id; '*' is every node")
    }

    @Test func aCompleteFormBecomesARunCommandRequest() throws {
        let request = try form(targets: "edge-1").request(nodes: nodes).get()
        #expect(request.targets == ["edge-1"])
        #expect(request.payload == .runCommand(RunCommandPayload(cmd: "uptime", timeoutSec: 60)))
        #expect(throws: FormError.self) { try form(targets: "").request(nodes: nodes).get() }
        #expect(throws: FormError.self) { try form(targets: "edge-1", command: "  ").request(nodes: nodes).get() }
    }

    @Test func textInputEditsLikeAShellPrompt() {
        var input = TextInput("hello")
        _ = input.handle(.left)
        _ = input.handle(.backspace)
        _ = input.handle(.char("L"))
        #expect(input.text == "helLo")
        _ = input.handle(.ctrl("u"))
        #expect(input.text == "o")
        #expect(input.position == 0)
    }
}
