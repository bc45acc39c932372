import Crypto
import FleetProtocol
import Foundation
import Synchronization
import Testing

@testable import NodeAgent

/// A downloader that writes fixed bytes, so the update steps run against real files.
struct FixedDownloader: ArtifactDownloading {
    let bytes: Data

    func download(_ source: ArtifactSource, to path: String, token: String) async throws(UpdateError) -> DownloadedFile {
        guard FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o700]) else {
            throw .download("cannot write \(path)")
        }
        return DownloadedFile(bytes: Int64(bytes.count), sha256: AgentUpdateTests.hex(bytes))
    }
}

@Suite("Agent self-update", .timeLimit(.minutes(2)))
struct AgentUpdateTests {
    static func hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    /// A stand-in agent binary: a script that answers `--version` with `version`.
    static func script(version: String) -> Data {
        Data("#!/bin/sh\nif [ \"$1\" = --version ]; then echo \(version); exit 0; fi\nexit 0\n".utf8)
    }

    struct World {
        let directory: TemporaryDirectory
        let store: AgentStore
        let binary: AgentBinary
        let restart = RestartCoordinator()
        let id = UUID()

        init() async throws {
            directory = try TemporaryDirectory()
            store = try AgentStore(directory: directory.path + "/state", bufferCap: 1 << 20)
            binary = AgentBinary(path: directory.path + "/bin/node-agent")
            try FileManager.default.createDirectory(atPath: directory.path + "/bin", withIntermediateDirectories: true)
            _ = FileManager.default.createFile(
                atPath: binary.path, contents: AgentUpdateTests.script(version: NodeAgentVersion.current),
                attributes: [.posixPermissions: 0o755])
        }

        func updater(downloading bytes: Data) -> AgentUpdater {
            let binary = binary
            return AgentUpdater(
                store: store, downloader: FixedDownloader(bytes: bytes), token: { "node-token" },
                binary: { () throws(UpdateError) in binary }, restart: restart, stateDirectory: directory.path + "/state",
                healthTimeout: .seconds(30), logger: Fixtures.logger)
        }

        func start(_ payload: UpdateAgentPayload) async throws {
            _ = try await store.record(Assignment(commandId: id, payload: .updateAgent(payload), leaseExpiresAt: Date(), deliveryCount: 1))
            #expect(try await store.markStarted(id))
        }

        /// Runs a successful update to `version` up to the restart; returns the new binary's bytes.
        @discardableResult
        func swapInVersion(_ version: String) async throws -> Data {
            let bytes = AgentUpdateTests.script(version: version)
            let payload = UpdateAgentPayload(version: version, sha256: AgentUpdateTests.hex(bytes), artifactId: "a1")
            try await start(payload)
            #expect(try await updater(downloading: bytes).update(payload, id: id, stop: StopSignal()) == nil)
            return bytes
        }

        func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
        func leftovers() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: directory.path + "/bin").filter { $0.contains(".update-") }
        }
    }

    @Test func aDigestMismatchReplacesNothing() async throws {
        let world = try await World()
        defer { world.directory.remove() }
        let original = world.contents(world.binary.path)
        let payload = UpdateAgentPayload(version: "9.9.9", sha256: String(repeating: "ab", count: 32), artifactId: "a1")
        try await world.start(payload)

        let outcome = try await world.updater(downloading: Self.script(version: "9.9.9")).update(payload, id: world.id, stop: StopSignal())

        #expect(outcome?.state == .failed)
        #expect(outcome?.reason?.contains("sha256 mismatch") == true)
        #expect(world.contents(world.binary.path) == original)
        #expect(!FileManager.default.fileExists(atPath: world.binary.backupPath))
        #expect(try world.leftovers().isEmpty)
        #expect(try await world.store.agentUpdate(world.id) == nil)
        #expect(world.restart.plan == nil)
    }

    @Test func aBinaryReportingAnotherVersionReplacesNothing() async throws {
        let world = try await World()
        defer { world.directory.remove() }
        let original = world.contents(world.binary.path)
        let bytes = Self.script(version: "9.9.8")
        let payload = UpdateAgentPayload(version: "9.9.9", sha256: Self.hex(bytes), artifactId: "a1")
        try await world.start(payload)

        let outcome = try await world.updater(downloading: bytes).update(payload, id: world.id, stop: StopSignal())

        #expect(outcome?.state == .failed)
        #expect(outcome?.reason?.contains("reports version '9.9.8', expected '9.9.9'") == true)
        #expect(world.contents(world.binary.path) == original)
        #expect(try world.leftovers().isEmpty)
    }

    @Test func aVerifiedBinaryIsSwappedInWithABackupAndARecordedUpdate() async throws {
        let world = try await World()
        defer { world.directory.remove() }
        let original = world.contents(world.binary.path)
        let bytes = Self.script(version: "9.9.9")
        let payload = UpdateAgentPayload(version: "9.9.9", sha256: Self.hex(bytes).uppercased(), artifactId: "a1")
        try await world.start(payload)

        let outcome = try await world.updater(downloading: bytes).update(payload, id: world.id, stop: StopSignal())

        #expect(outcome == nil, "nil means: restarting into the new binary")
        #expect(world.contents(world.binary.path) == bytes)
        #expect(world.contents(world.binary.backupPath) == original)
        #expect(try world.leftovers().isEmpty)
        let record = try #require(try await world.store.agentUpdate(world.id))
        #expect(record.phase == .swapped && record.fromVersion == NodeAgentVersion.current && record.toVersion == "9.9.9")
        #expect(world.restart.plan?.binary == world.binary)
        // the update survives the restart: it is not reported lost
        #expect(try await world.store.markInterruptedAsLost(reason: "restart").isEmpty)
        #expect(try await world.store.invocation(world.id)?.phase == .running)
    }

    @Test func theNewAgentConfirmsAfterItsFirstPollAndAnOldOneReportsTheRollback() async throws {
        let world = try await World()
        defer { world.directory.remove() }
        try await world.swapInVersion("9.9.9")

        // the new version starts: nothing is final until the server has answered a poll
        let pending = PendingAgentUpdate(store: world.store, logger: Fixtures.logger)
        try await pending.resolveAtStart(version: "9.9.9")
        #expect(try await world.store.agentUpdate(world.id)?.phase == .started)
        #expect(try await world.store.invocation(world.id)?.phase == .running)
        await pending.serverReached()
        let invocation = try #require(try await world.store.invocation(world.id))
        #expect(invocation.outcome?.state == .succeeded)
        #expect(invocation.outcome?.result?.agentVersion == "9.9.9")
        #expect(try await world.store.agentUpdate(world.id)?.phase == .healthy)
    }

    @Test func anAgentBackOnTheOldVersionReportsTheRollbackReason() async throws {
        let world = try await World()
        defer { world.directory.remove() }
        try await world.swapInVersion("9.9.9")
        try await world.store.setAgentUpdatePhase(world.id, to: .rolledBack, reason: "rolled back to 0.1.0: it crashed")

        try await PendingAgentUpdate(store: world.store, logger: Fixtures.logger).resolveAtStart(version: NodeAgentVersion.current)

        let outcome = try #require(try await world.store.invocation(world.id)?.outcome)
        #expect(outcome.state == .failed)
        #expect(outcome.reason == "rolled back to 0.1.0: it crashed")
        #expect(outcome.result?.agentVersion == NodeAgentVersion.current)
        // a late confirmation cannot turn a rollback into a success
        #expect(try await !world.store.setAgentUpdatePhase(world.id, to: .healthy))
    }

    @Test func theWatchdogRollsBackANewAgentThatNeverReachesTheServer() async throws {
        // setup: a swapped update and a stand-in "new agent" process that just sleeps
        let world = try await World()
        defer { world.directory.remove() }
        let original = try #require(world.contents(world.binary.path))
        try await world.swapInVersion("9.9.9")
        // Spawned like the watchdog, with SIGTERM at its default (the test runner ignores it).
        let hung = AgentRestart.spawn(["/bin/sleep", "60"])
        try #require(hung > 0)
        var reaped = false
        defer {
            if !reaped {
                kill(hung, SIGKILL)
                waitpid(hung, nil, 0)
            }
        }
        let relaunched = Mutex<[String]>([])

        // act
        let status = try await UpdateWatchdog(
            commandId: world.id, agentPid: hung, stateDirectory: world.directory.path + "/state",
            healthTimeout: .seconds(1), relaunchArguments: ["node-agent", "--state-dir", "x"], logger: Fixtures.logger,
            pollInterval: .milliseconds(50),
            relaunch: { path, arguments in
                relaunched.withLock { $0 = [path] + arguments }
                return 0
            }
        ).run()

        // check: the hung agent was stopped, the old binary restored and started again
        #expect(status == 1, "relaunch returned, which only happens when exec fails")
        var wait: Int32 = 0
        #expect(waitpid(hung, &wait, WNOHANG) == hung, "the hung agent must be gone")
        reaped = true
        #expect(wait & 0x7f == SIGTERM, "stopped with SIGTERM, not left to SIGKILL")
        #expect(world.contents(world.binary.path) == original)
        let record = try #require(try await world.store.agentUpdate(world.id))
        #expect(record.phase == .rolledBack)
        #expect(record.reason?.contains("did not reach the server within 1 s") == true)
        #expect(relaunched.withLock { $0 } == [world.binary.path, "node-agent", "--state-dir", "x"])
    }

    @Test func theWatchdogLeavesAHealthyUpdateAlone() async throws {
        let world = try await World()
        defer { world.directory.remove() }
        let bytes = try await world.swapInVersion("9.9.9")
        try await world.store.setAgentUpdatePhase(world.id, to: .healthy)

        let status = try await UpdateWatchdog(
            commandId: world.id, agentPid: getpid(), stateDirectory: world.directory.path + "/state", healthTimeout: .seconds(1),
            relaunchArguments: [], logger: Fixtures.logger,
            relaunch: { _, _ in
                Issue.record("a healthy update must not be relaunched")
                return 0
            }
        ).run()

        #expect(status == 0)
        #expect(world.contents(world.binary.path) == bytes)
    }
}
