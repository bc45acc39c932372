import FleetProtocol
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import NodeAgent

/// The whole agent in-process against ``FakeAgentService``.
@Suite("NodeAgentApp", .timeLimit(.minutes(2)))
struct NodeAgentAppTests {
    /// Runs the agent in a ServiceGroup; returns the group and the task running it.
    func start(_ app: NodeAgentApp) -> (ServiceGroup, Task<Void, any Error>) {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [.init(service: app)], logger: Fixtures.logger))
        return (group, Task { try await group.run() })
    }

    @Test func registersRunsACommandAndDeliversOutputAndResult() async throws {
        // setup
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = FakeAgentService()
        var configuration = Fixtures.configuration(directory.path)
        configuration.nodeAttrs = ["rack": "r7"]
        let app = NodeAgentApp(configuration: configuration, logger: Fixtures.logger, transport: server)
        let id = server.queue(.runCommand(RunCommandPayload(cmd: "printf hello; printf oops >&2; exit 2", timeoutSec: 30)))
        // act
        let (group, task) = start(app)
        // check
        #expect(await Fixtures.eventually { server.finalStatus(id) != nil })
        let final = try #require(server.finalStatus(id))
        #expect(final.state == .failed)
        #expect(final.exitCode == 2)
        #expect(final.stdoutBytes == 5)
        #expect(final.stderrBytes == 4)
        #expect(server.output(id, .stdout) == Array("hello".utf8))
        #expect(server.output(id, .stderr) == Array("oops".utf8))
        #expect(server.statuses(id).first?.state == .running)
        let registration = try #require(server.state.withLock { $0.registrations.first })
        #expect(registration.nodeId == "test-node")
        #expect(registration.attrs["rack"] == "r7")
        #expect(registration.attrs["os"] == "linux")
        let identityPath = IdentityFile(stateDirectory: directory.path).path
        let mode = try FileManager.default.attributesOfItem(atPath: identityPath)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        // the finished invocation leaves `active` once its final state is acknowledged
        #expect(await Fixtures.eventually { server.state.withLock { $0.polls.last?.active == [] } })
        await group.triggerGracefulShutdown()
        try await task.value
    }

    @Test func redeliveryIsNeverExecutedTwice() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = FakeAgentService()
        let app = NodeAgentApp(configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger, transport: server)
        let marker = directory.path + "/runs"
        let payload = CommandPayload.runCommand(RunCommandPayload(cmd: "echo run >> '\(marker)'"))
        let id = server.queue(payload)
        let (group, task) = start(app)
        #expect(await Fixtures.eventually { server.finalStatus(id) != nil })
        // the lease "lapsed": the server delivers the same command again
        _ = server.queue(payload, id: id)
        #expect(await Fixtures.eventually { server.statuses(id).filter { $0.state.isTerminal }.count >= 2 })
        let runs = try String(contentsOfFile: marker, encoding: .utf8)
        #expect(runs == "run\n")
        await group.triggerGracefulShutdown()
        try await task.value
    }

    @Test func gracefulShutdownStopsRunningCommandsAndReportsThem() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = FakeAgentService()
        let app = NodeAgentApp(configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger, transport: server)
        let marker = UUID().uuidString
        let id = server.queue(
            .runCommand(RunCommandPayload(cmd: "echo begun; sleep 100 & sleep 100", env: ["FLEET_TEST_MARKER": marker])))
        let (group, task) = start(app)
        #expect(await Fixtures.eventually { server.output(id, .stdout) == Array("begun\n".utf8) })
        // act
        await group.triggerGracefulShutdown()
        try await task.value
        // check
        let final = try #require(server.finalStatus(id))
        #expect(final.state == .lost)
        #expect(final.stdoutBytes == 6)
        #expect(ProcessProbe.processes(withMarker: marker).isEmpty)
        // the last poll told the server the agent is leaving, listing what it still ran
        let last = try #require(server.state.withLock { $0.polls.last })
        #expect(last.leaving == true)
        #expect(last.active?.contains(id) == true)
    }

    @Test func operatorCancelStopsTheCommand() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = FakeAgentService()
        let app = NodeAgentApp(configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger, transport: server)
        let id = server.queue(.runCommand(RunCommandPayload(cmd: "sleep 100")))
        let (group, task) = start(app)
        #expect(await Fixtures.eventually { server.statuses(id).contains { $0.state == .running } })
        server.state.withLock { _ = $0.cancels.insert(id) }
        #expect(await Fixtures.eventually { server.finalStatus(id) != nil })
        #expect(server.finalStatus(id)?.state == .cancelled)
        await group.triggerGracefulShutdown()
        try await task.value
    }

    @Test func afterACrashRunningInvocationsAreReportedLostWithTheirOutput() async throws {
        // setup: the state a killed agent leaves behind
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let id = UUID()
        let queued = UUID()
        do {
            let store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
            _ = try await store.record(Fixtures.assignment("sleep 100", id: id))
            _ = try await store.markStarted(id)
            try await store.appendChunk(id, stream: .stdout, offset: 0, bytes: Data("partial".utf8))
            _ = try await store.record(Fixtures.assignment("printf later", id: queued))
        }
        let server = FakeAgentService()
        let app = NodeAgentApp(configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger, transport: server)
        // act
        let (group, task) = start(app)
        // check
        #expect(await Fixtures.eventually { server.finalStatus(id) != nil && server.finalStatus(queued) != nil })
        #expect(server.finalStatus(id)?.state == .lost)
        #expect(server.finalStatus(id)?.reason?.contains("restarted") == true)
        #expect(server.finalStatus(id)?.stdoutBytes == 7)
        #expect(server.output(id, .stdout) == Array("partial".utf8))
        #expect(server.finalStatus(queued)?.state == .succeeded)
        #expect(server.output(queued, .stdout) == Array("later".utf8))
        await group.triggerGracefulShutdown()
        try await task.value
    }

    @Test func outputProducedWhileTheServerIsDownArrivesOnceItIsBack() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = FakeAgentService()
        let app = NodeAgentApp(configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger, transport: server)
        let id = server.queue(.runCommand(RunCommandPayload(cmd: "sleep 0.3; seq 1 20000")))
        let (group, task) = start(app)
        #expect(await Fixtures.eventually { server.statuses(id).contains { $0.state == .running } })
        server.state.withLock { $0.down = true }
        // down until the output exists and an upload of it has failed
        #expect(await Fixtures.eventually { server.state.withLock { $0.refusedWhileDown[FleetPaths.uploadLogs, default: 0] } >= 1 })
        server.state.withLock { $0.down = false }
        #expect(await Fixtures.eventually(timeout: .seconds(30)) { server.finalStatus(id) != nil })
        let expected = (1...20000).map { "\($0)\n" }.joined()
        #expect(server.output(id, .stdout) == Array(expected.utf8))
        #expect(server.finalStatus(id)?.stdoutBytes == Int64(expected.utf8.count))
        await group.triggerGracefulShutdown()
        try await task.value
    }

    @Test func aRevokedIdentityStopsTheAgentWithAClearError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = FakeAgentService()
        let app = NodeAgentApp(configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger, transport: server)
        let (_, task) = start(app)
        #expect(await Fixtures.eventually { !server.state.withLock { $0.polls.isEmpty } })
        server.state.withLock { $0.revoked = true }
        do {
            try await task.value
            Issue.record("the agent must stop on a revoked identity")
        } catch let error as AgentError {
            guard case .identityRejected = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
    }
}
