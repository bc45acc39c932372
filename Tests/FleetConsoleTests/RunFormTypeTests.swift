import FleetConsole
import FleetProtocol
import Foundation
import Testing

/// The Run form's three command types: switching, building each payload, refusing bad ones.
@Suite struct RunFormTypeTests {
    let nodes = [node("edge-1"), node("edge-2")]

    func typed(_ text: String, into input: inout TextInput) {
        for c in text { _ = input.handle(.char(c)) }
    }

    @Test func runCommandIsTheDefaultAndSwitchingAwayAndBackKeepsItsFields() {
        // setup
        var form = RunForm(targets: ["edge-1"])
        typed("uptime", into: &form.command)
        #expect(form.commandType == .runCommand)
        #expect(form.focus == .command)
        // act: ctrl-t order is CommandType.allCases; each type starts on its own first field
        form.cycleType()
        let agentFocus = form.focus
        form.cycleType()
        let packageFocus = form.focus
        #expect(form.timeout.text == "900")
        form.cycleType()
        // check
        #expect(agentFocus == .artifact)
        #expect(packageFocus == .packages)
        #expect(form.commandType == .runCommand)
        #expect(form.focus == .command)
        #expect(form.command.text == "uptime")
        #expect(form.timeout.text == "60")
        let expected = SubmitCommandRequest(targets: ["edge-1"], payload: .runCommand(RunCommandPayload(cmd: "uptime", timeoutSec: 60)))
        #expect(form.request(nodes: nodes) == .success(expected))
    }

    @Test func arrowsOnTheTypeRowChangeTheTypeAndLettersDoNothing() {
        var form = RunForm(targets: ["edge-1"])
        form.previousField()
        form.previousField()
        #expect(form.focus == .type)
        let right = form.edit(.right)
        #expect(right)
        #expect(form.commandType == .updateAgent)
        #expect(form.focus == .type, "the focus stays on the Type row while choosing")
        let left = form.edit(.left)
        #expect(left)
        #expect(form.commandType == .runCommand)
        let letter = form.edit(.char("x"))
        #expect(letter, "swallowed")
        #expect(form.commandType == .runCommand)
        let question = form.edit(.char("?"))
        #expect(question == false, "? falls through to help")
    }

    @Test func anUpdatePackageFormBuildsItsPayload() throws {
        // setup
        var form = RunForm(targets: ["edge-1", "edge-2"])
        form.select(.updatePackage)
        typed("vim curl,htop=3.2.2-2", into: &form.packages)
        form.focus = .action
        _ = form.edit(.right)  // install → remove
        form.focus = .manager
        _ = form.edit(.left)  // auto → zypper (wraps)
        form.focus = .timeout
        _ = form.edit(.backspace)
        _ = form.edit(.char("x"))  // not a digit: ignored
        // act
        let request = try form.request(nodes: nodes).get()
        // check
        #expect(request.targets == ["edge-1", "edge-2"])
        #expect(
            request.payload
                == .updatePackage(
                    UpdatePackagePayload(action: .remove, packages: ["vim", "curl", "htop=3.2.2-2"], manager: .zypper, timeoutSec: 90)))
    }

    @Test func upgradeWithoutPackagesUpgradesEverythingAndAnEmptyTimeoutMeansNone() throws {
        var form = RunForm(targets: ["edge-1"])
        form.select(.updatePackage)
        form.action = .upgrade
        form.timeout = TextInput()
        let request = try form.request(nodes: nodes).get()
        #expect(request.payload == .updatePackage(UpdatePackagePayload(action: .upgrade, packages: [], manager: nil, timeoutSec: nil)))
        #expect(request.payload.summaryText == "UpdatePackage upgrade (all packages)")
    }

    @Test func shellSyntaxInPackageNamesIsRefusedWithEveryProblem() {
        var form = RunForm(targets: ["edge-1"])
        form.select(.updatePackage)
        typed("vim; rm -rf /", into: &form.packages)
        guard case .failure(let error) = form.request(nodes: nodes) else {
            Issue.record("a package list with shell syntax was accepted")
            return
        }
        #expect(
            error.problems == [
                "packages: 'vim;' is not a valid package name", "packages: '-rf' is not a valid package name",
                "packages: '/' is not a valid package name",
            ])
    }

    @Test func anUpdateAgentFormByHandBuildsAURLPayload() throws {
        var form = RunForm(targets: ["edge-1"])
        form.select(.updateAgent)
        #expect(
            form.fields == [.type, .targets, .artifact, .url, .sha256, .version, .timeout, .maxConcurrency, .maxErrors],
            "no list yet: by hand")
        typed("https://example.org/node-agent", into: &form.url)
        typed(FormScenes.sha1.uppercased(), into: &form.sha256)
        typed("0.3.0", into: &form.version)
        let request = try form.request(nodes: nodes).get()
        #expect(
            request.payload
                == .updateAgent(
                    UpdateAgentPayload(version: "0.3.0", sha256: FormScenes.sha1, url: "https://example.org/node-agent", timeoutSec: nil)))
    }

    @Test func anEmptyByHandFormNamesEachMissingField() {
        var form = RunForm(targets: ["edge-1"])
        form.select(.updateAgent)
        typed("http://plain.example/agent", into: &form.url)
        #expect(
            form.problems(nodes: nodes) == [
                "version must be 1-64 characters of letters, digits, '.', '-', '+', '_'", "sha256 must be 64 hex digits",
                "url must be an https URL",
            ])
    }

    @Test func pickingAnArtifactFillsItsIdVersionAndDigest() throws {
        // setup
        var form = RunForm(targets: ["edge-1"])
        form.select(.updateAgent)
        let first = form.startLoadingArtifacts()
        let second = form.startLoadingArtifacts()
        #expect(first)
        #expect(second == false, "one fetch at a time")
        // act: the list arrives; the newest is picked
        form.setArtifacts(.success(FormScenes.artifacts))
        // check
        #expect(form.chosenArtifact == FormScenes.artifacts[0])
        #expect(form.version.text == "0.2.0")
        #expect(form.sha256.text == FormScenes.sha1)
        #expect(
            form.fields == [.type, .targets, .artifact, .timeout, .maxConcurrency, .maxErrors],
            "url, digest and version come from the artifact")
        #expect(form.focus == .artifact)
        _ = form.edit(.right)
        #expect(form.chosenArtifact == FormScenes.artifacts[1])
        #expect(form.version.text == "0.1.9")
        let request = try form.request(nodes: nodes).get()
        #expect(
            request.payload
                == .updateAgent(
                    UpdateAgentPayload(version: "0.1.9", sha256: FormScenes.sha2, artifactId: FormScenes.artifacts[1].artifactId)))
        // the last option is "by hand": the artifact's values go with it
        _ = form.edit(.right)
        #expect(form.chosenArtifact == nil)
        #expect(form.version.text.isEmpty && form.sha256.text.isEmpty)
        _ = form.edit(.right)
        #expect(form.chosenArtifact == FormScenes.artifacts[0], "the choice wraps around")
    }

    @Test func aReloadKeepsTheOperatorsChoice() {
        var form = RunForm(targets: ["edge-1"])
        form.select(.updateAgent)
        form.pick(nil)
        form.setArtifacts(.success(FormScenes.artifacts))
        #expect(form.chosenArtifact == nil, "by hand was chosen on purpose")
        form.pick(FormScenes.artifacts[1])
        form.setArtifacts(.success([FormScenes.artifacts[0]]))
        #expect(form.chosenArtifact == nil, "a vanished artifact is not swapped for another version")
        form.setArtifacts(.failure(.unreachable("connection refused")))
        #expect(form.artifacts == .failed("server unreachable: connection refused"))
    }

    @Test func summariesSayWhatTheUpdateTypesDo() {
        #expect(FormScenes.agentPayload.summaryText == "UpdateAgent → 0.2.0")
        #expect(FormScenes.packagePayload.summaryText == "UpdatePackage install nginx curl")
        let result = InvocationResult(agentVersion: "0.1.0")
        #expect(result.text(for: FormScenes.agentPayload) == "agent 0.1.0 (wanted 0.2.0)")
        #expect(result.isUnexpected(for: FormScenes.agentPayload))
        let packages = InvocationResult(packages: [
            PackageResult(name: "vim", installedVersion: "2:9.0"),
            PackageResult(name: "htop", installedVersion: nil),
        ])
        #expect(packages.text(for: FormScenes.packagePayload) == "vim 2:9.0 · htop not installed")
    }
}
