import FleetConsole
import FleetProtocol
import Foundation

/// States of the Run form in each command type, and commands of the update types with results.
enum FormScenes {
    static let sha1 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    static let sha2 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

    static let artifacts = [
        ArtifactInfo(
            artifactId: "3f1c2a9e-5b7d-4c1e-9a8b-0d6e2f4a1b3c", name: "node-agent", version: "0.2.0", sha256: sha1,
            sizeBytes: 17_620_000, uploadedBy: "alice", createdAt: testNow.addingTimeInterval(-7_200)),
        ArtifactInfo(
            artifactId: "8d2e4b6a-1c3f-4e5d-8f7a-9b0c1d2e3f4a", name: "node-agent", version: "0.1.9", sha256: sha2,
            sizeBytes: 17_410_000, uploadedBy: "bob", createdAt: testNow.addingTimeInterval(-3 * 86_400)),
    ]

    static func type(_ text: String, into state: inout ConsoleState) {
        for c in text { _ = state.handle(.char(c), now: testNow) }
    }

    /// The Run form on the two marked nodes, switched to `type` with ctrl-t.
    static func form(_ type: CommandType) -> ConsoleState {
        var state = Scenes.base()
        _ = state.handle(.char(" "), now: testNow)
        _ = state.handle(.char(" "), now: testNow)
        _ = state.handle(.char("r"), now: testNow)
        while state.form?.commandType != type { _ = state.handle(.ctrl("t"), now: testNow) }
        return state
    }

    static func packageForm(packages: String = "nginx curl", confirm: Bool = false) -> ConsoleState {
        var state = form(.updatePackage)
        type(packages, into: &state)
        _ = state.handle(.tab, now: testNow)  // to Manager
        _ = state.handle(.right, now: testNow)  // auto → apt
        if confirm { _ = state.handle(.enter, now: testNow) }
        return state
    }

    static func agentForm(artifacts: [ArtifactInfo] = artifacts, confirm: Bool = false) -> ConsoleState {
        var state = form(.updateAgent)
        _ = state.apply(.artifacts(.success(artifacts)), now: testNow)
        if confirm { _ = state.handle(.enter, now: testNow) }
        return state
    }

    static let packagePayload = CommandPayload.updatePackage(
        UpdatePackagePayload(action: .install, packages: ["nginx", "curl"], manager: .apt, timeoutSec: 900))
    static let agentPayload = CommandPayload.updateAgent(
        UpdateAgentPayload(version: "0.2.0", sha256: sha1, artifactId: artifacts[0].artifactId, timeoutSec: 300))

    static let mixedCommands =
        [
            CommandSummary(
                commandId: uuid(6), payload: agentPayload, createdBy: "alice", createdAt: testNow.addingTimeInterval(-30),
                targetCount: 3, counts: counts([.succeeded: 2, .failed: 1])),
            CommandSummary(
                commandId: uuid(5), payload: packagePayload, createdBy: "alice", createdAt: testNow.addingTimeInterval(-600),
                targetCount: 2, counts: counts([.succeeded: 1, .failed: 1])),
        ] + Scenes.commands

    static func counts(_ counts: [InvocationState: Int]) -> StateCounts {
        var result = StateCounts()
        for (state, count) in counts { result.add(state, count) }
        return result
    }

    static func commandsView() -> ConsoleState {
        var state = ConsoleState(serverURL: "http://127.0.0.1:8080")
        _ = state.apply(.reachable, now: testNow)
        _ = state.apply(.nodes(Scenes.nodes), now: testNow)
        _ = state.apply(.commands(mixedCommands), now: testNow)
        _ = state.handle(.char("2"), now: testNow)
        return state
    }

    static func invocation(
        _ node: String, _ state: InvocationState, exit: Int, result: InvocationResult?, reason: String? = nil
    )
        -> InvocationInfo
    {
        InvocationInfo(
            nodeId: node, state: state, exitCode: exit, reason: reason, deliveryCount: 1,
            createdAt: testNow.addingTimeInterval(-600), startedAt: testNow.addingTimeInterval(-590),
            finishedAt: testNow.addingTimeInterval(-548), stdoutBytes: 48_213, stderrBytes: state == .failed ? 212 : 0, result: result)
    }

    /// The UpdatePackage command opened, its two invocations reported with results.
    static func packageCommandView() -> ConsoleState {
        var state = commandsView()
        _ = state.handle(.down, now: testNow)
        _ = state.handle(.enter, now: testNow)
        let invocations = [
            invocation(
                "edge-1", .succeeded, exit: 0,
                result: InvocationResult(packages: [
                    PackageResult(name: "nginx", installedVersion: "1.22.1-9+deb12u1"),
                    PackageResult(name: "curl", installedVersion: "7.88.1-10+deb12u8"),
                ])),
            invocation(
                "edge-2", .failed, exit: 100,
                result: InvocationResult(packages: [
                    PackageResult(name: "nginx", installedVersion: nil), PackageResult(name: "curl", installedVersion: "7.88.1-10+deb12u8"),
                ]), reason: "apt-get exited with 100"),
        ]
        _ = state.apply(.command(CommandDetail(command: mixedCommands[1], invocations: invocations)), now: testNow)
        return state
    }

    /// The UpdateAgent command opened: two nodes on the new version, one rolled back.
    static func agentCommandView() -> ConsoleState {
        var state = commandsView()
        _ = state.handle(.enter, now: testNow)
        let invocations = [
            invocation("edge-1", .succeeded, exit: 0, result: InvocationResult(agentVersion: "0.2.0")),
            invocation("edge-2", .succeeded, exit: 0, result: InvocationResult(agentVersion: "0.2.0")),
            invocation(
                "edge-3", .failed, exit: 1, result: InvocationResult(agentVersion: "0.1.0"),
                reason: "new agent not healthy after 30 s; rolled back"),
        ]
        _ = state.apply(.command(CommandDetail(command: mixedCommands[0], invocations: invocations)), now: testNow)
        _ = state.handle(.char("G"), now: testNow)
        return state
    }

    static func helpView() -> ConsoleState {
        var state = form(.runCommand)
        _ = state.handle(.up, now: testNow)
        _ = state.handle(.up, now: testNow)  // the Type row, where `?` is not text
        _ = state.handle(.char("?"), now: testNow)
        return state
    }
}
