import FleetProtocol
import Foundation
import Testing

@testable import NodeAgent

/// UpdatePackage for real: this machine's apt-get and dpkg, the real runner, a real store. It
/// builds and installs a throw-away .deb, so it needs root and Debian's tools; without them it
/// fails (CI must not pass by quietly skipping it). No network is needed: a failing
/// `apt-get update` is not fatal, and the package comes from the dpkg database.
@Suite("UpdatePackage against this machine's dpkg and apt", .timeLimit(.minutes(5)))
struct PackageDpkgTests {
    /// Runs a setup or check command; returns its termination and stdout+stderr.
    static func run(_ argv: [String]) async throws -> (Termination, String) {
        let sink = OutputSink()
        let outcome = try await SubprocessRunner().run(
            ProcessSpec(
                executable: argv[0], arguments: Array(argv.dropFirst()), environment: ProcessProbe.baseEnvironment,
                timeout: .seconds(120)),
            stop: StopSignal(), output: sink.handler)
        return (outcome.termination, sink.text(.stdout) + sink.text(.stderr))
    }

    /// Executes one UpdatePackage invocation end to end; returns its outcome and stored output.
    static func execute(
        _ payload: UpdatePackagePayload, store: AgentStore, executor: InvocationExecutor
    ) async throws -> (outcome: FinalOutcome, stdout: String, stderr: String) {
        let id = UUID()
        let assignment = Assignment(commandId: id, payload: .updatePackage(payload), leaseExpiresAt: Date() + 60, deliveryCount: 1)
        _ = try await store.record(assignment)
        let invocation = try #require(try await store.invocation(id))
        let outcome = try #require(try await executor.execute(invocation, stop: StopSignal()))
        // what goes to the server: the stored outcome, result included
        #expect(try await store.invocation(id)?.outcome == outcome)
        var streams: [LogStream: [UInt8]] = [:]
        for chunk in try await store.pendingChunks(id, maxChunks: .max, maxBytes: .max) {
            #expect(chunk.offset == Int64(streams[chunk.stream, default: []].count))
            streams[chunk.stream, default: []] += chunk.bytes
        }
        let text = { (stream: LogStream) in String(decoding: streams[stream] ?? [], as: UTF8.self) }
        return (outcome, text(.stdout), text(.stderr))
    }

    @Test func installRemoveAndAMissingPackageThroughTheRealExecutor() async throws {
        // preconditions: fail with a reason, never skip
        try #require(getuid() == 0, "this test installs a package with dpkg: run it as root (CI does)")
        let locator = ExecutableLocator.system(path: ProcessProbe.baseEnvironment["PATH"])
        for tool in ["dpkg-deb", "dpkg", "dpkg-query", "apt-get"] {
            try #require(locator.find(tool) != nil, "\(tool) is missing: this test needs Debian's dpkg and apt")
        }
        // setup: a tiny package, built and installed
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let name = "fleet-test-pkg-" + UUID().uuidString.prefix(8).lowercased()
        let root = directory.path + "/" + name
        try FileManager.default.createDirectory(atPath: root + "/DEBIAN", withIntermediateDirectories: true)
        let control = """
            Package: \(name)
            Version: 1.0
            Architecture: all
            Maintainer: Fleet tests <fleet-tests@example.invalid>
            Description: throw-away package of the node-agent tests

            """
        try control.write(toFile: root + "/DEBIAN/control", atomically: true, encoding: .utf8)
        let deb = directory.path + "/\(name).deb"
        let built = try await Self.run(["dpkg-deb", "--build", root, deb])
        try #require(built.0 == .exited(0), "dpkg-deb failed: \(built.1)")
        let installed = try await Self.run(["dpkg", "-i", deb])
        try #require(installed.0 == .exited(0), "dpkg -i failed: \(installed.1)")
        do {
            try await scenario(name, directory: directory.path)
        } catch {
            _ = try? await Self.run(["dpkg", "--purge", name])
            throw error
        }
        _ = try? await Self.run(["dpkg", "--purge", name])
    }

    func scenario(_ name: String, directory: String) async throws {
        let store = try AgentStore(directory: directory, bufferCap: 64 << 20)
        let executor = InvocationExecutor(
            store: store, runner: SubprocessRunner(), configuration: Fixtures.configuration(directory), logger: Fixtures.logger)

        // act 1: install what is installed (auto-detected apt): apt says it is the newest version
        let install = try await Self.execute(
            UpdatePackagePayload(action: .install, packages: [name], timeoutSec: 300), store: store, executor: executor)
        #expect(install.outcome.state == .succeeded, "\(install.outcome) \(install.stdout) \(install.stderr)")
        #expect(install.outcome.exitCode == 0)
        #expect(install.outcome.result == InvocationResult(packages: [PackageResult(name: name, installedVersion: "1.0")]))
        #expect(install.stdout.contains("apt-get -y -q -o Dpkg::Options::=--force-confdef"))
        #expect(install.stdout.contains("\(name) is already the newest version (1.0)"), "\(install.stdout)")
        #expect(install.stdout.hasSuffix("fleet: \(name) 1.0 installed\n"))

        // act 2: remove it (apt named explicitly)
        let removal = UpdatePackagePayload(action: .remove, packages: [name], manager: .apt, timeoutSec: 300)
        let remove = try await Self.execute(removal, store: store, executor: executor)
        #expect(remove.outcome.state == .succeeded, "\(remove.outcome) \(remove.stdout) \(remove.stderr)")
        #expect(remove.outcome.result == InvocationResult(packages: [PackageResult(name: name, installedVersion: nil)]))
        #expect(remove.stdout.contains("Removing \(name) (1.0)"), "\(remove.stdout)")
        #expect(remove.stdout.hasSuffix("fleet: \(name) not installed\n"))
        let query = try await Self.run(["dpkg-query", "--show", "--showformat=${db:Status-Status}", name])
        #expect(query.0 == .exited(1) || query.1.hasPrefix("not-installed") || query.1.hasPrefix("config-files"), "\(query)")

        // act 3: remove a package no repository knows: apt exits 100
        let absent = name.replacingOccurrences(of: "fleet-test-pkg-", with: "fleet-test-absent-")
        let missing = try await Self.execute(
            UpdatePackagePayload(action: .remove, packages: [absent], timeoutSec: 300), store: store, executor: executor)
        #expect(missing.outcome.state == .failed)
        #expect(missing.outcome.exitCode == 100)
        #expect(missing.outcome.result == InvocationResult(packages: [PackageResult(name: absent, installedVersion: nil)]))
        #expect(missing.stderr.contains("Unable to locate package \(absent)"), "\(missing.stderr)")
        #expect(missing.stdout.hasSuffix("fleet: \(absent) not installed\n"))
    }
}
