import FleetProtocol
import Foundation
import Testing

@testable import NodeAgent

/// UpdatePackage through the executor and a real store, with a runner that spawns nothing.
@Suite("UpdatePackage execution", .timeLimit(.minutes(1)))
struct PackageExecutionTests {
    /// A store holding one started UpdatePackage invocation, and an executor over `runner`.
    struct Setup {
        let directory: TemporaryDirectory
        let store: AgentStore
        let executor: InvocationExecutor
        let id = UUID()

        /// `started`: marked running, as `execute` does before it dispatches (leave false to call `execute`).
        init(_ payload: UpdatePackagePayload, runner: RecordingProcessRunner, started: Bool = true) async throws {
            directory = try TemporaryDirectory()
            store = try AgentStore(directory: directory.path, bufferCap: 1 << 20)
            executor = InvocationExecutor(
                store: store, runner: runner, configuration: Fixtures.configuration(directory.path), logger: Fixtures.logger)
            let assignment = Assignment(commandId: id, payload: .updatePackage(payload), leaseExpiresAt: Date() + 60, deliveryCount: 1)
            _ = try await store.record(assignment)
            if started { _ = try await store.markStarted(id) }
        }

        /// Through the seam: the fake PATH holds only `programs`.
        func run(_ payload: UpdatePackagePayload, programs: Set<String>) async throws -> FinalOutcome {
            return await executor.updatePackages(
                payload, id: id, stop: StopSignal(), logger: Fixtures.logger, environment: ["PATH": "/fake/bin", "HOME": "/root"],
                locator: ExecutableLocator(directories: ["/fake/bin"], isExecutable: { programs.contains($0) }))
        }

        /// Everything stored for stdout, checking the offsets are contiguous.
        func stdout() async throws -> String {
            var bytes: [UInt8] = []
            for chunk in try await store.pendingChunks(id, maxChunks: .max, maxBytes: .max) where chunk.stream == .stdout {
                #expect(chunk.offset == Int64(bytes.count))
                bytes += chunk.bytes
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    static let apt: Set<String> = ["/fake/bin/apt-get", "/fake/bin/dpkg-query"]

    @Test(arguments: [
        "vim; rm -rf /", "-o APT::Get::AllowUnauthenticated=1", "$(id)", "`id`", "a b", "", "vim\nrm -rf /", "vim\n", "--help",
    ])
    func hostileNamesFailTheInvocationBeforeAnythingRuns(name: String) async throws {
        // setup
        let runner = RecordingProcessRunner()
        let payload = UpdatePackagePayload(action: .install, packages: ["curl", name])
        let setup = try await Setup(payload, runner: runner, started: false)
        defer { setup.directory.remove() }
        // act: the whole path, as the scheduler runs it
        let invocation = try #require(try await setup.store.invocation(setup.id))
        let outcome = try await setup.executor.execute(invocation, stop: StopSignal())
        // check
        #expect(outcome?.state == .failed)
        #expect(outcome?.reason?.hasPrefix("invalid payload: payload.packages:") == true, "\(outcome?.reason ?? "-")")
        #expect(runner.specs.isEmpty, "spawned \(runner.argvs)")
        #expect(try await setup.store.invocation(setup.id)?.outcome?.state == .failed)
    }

    @Test func aNamedManagerThatIsMissingFailsWithItsNameAndRunsNothing() async throws {
        let runner = RecordingProcessRunner()
        let payload = UpdatePackagePayload(action: .install, packages: ["vim"], manager: .dnf)
        let setup = try await Setup(payload, runner: runner)
        defer { setup.directory.remove() }
        let outcome = try await setup.run(payload, programs: Self.apt)
        #expect(outcome.state == .failed)
        #expect(outcome.reason == "package manager dnf was requested but dnf is not on this node (searched /fake/bin)")
        #expect(runner.specs.isEmpty)
        #expect(try await setup.run(payload, programs: []).reason?.hasPrefix("package manager dnf") == true)
    }

    @Test func aptInstallGoesOnWhenTheRefreshFailsAndReportsEachPackage() async throws {
        // setup: no network for `update`; vim installs, curl ends up absent, jq's query breaks
        let runner = RecordingProcessRunner { spec in
            switch (spec.executable, spec.arguments.last) {
            case ("/fake/bin/apt-get", "update"): .init(termination: .exited(100), stderr: "W: Failed to fetch\n")
            case ("/fake/bin/apt-get", _): .init(stdout: "Setting up vim (2:9.0.1378-2) ...\n")
            case (_, "vim"): .init(stdout: "installed\t2:9.0.1378-2\n")
            case (_, "curl"): .init(termination: .exited(1))
            default: .init(termination: .exited(2))
            }
        }
        let payload = UpdatePackagePayload(action: .install, packages: ["vim=2:9.0.1378-2", "curl", "jq"], timeoutSec: 600)
        let setup = try await Setup(payload, runner: runner)
        defer { setup.directory.remove() }
        // act
        let outcome = try await setup.run(payload, programs: Self.apt)
        // check: the install decided the state; versions per package, the broken query left out
        #expect(outcome.state == .succeeded)
        #expect(outcome.exitCode == 0)
        let vim = PackageResult(name: "vim", installedVersion: "2:9.0.1378-2")
        #expect(outcome.result?.packages == [vim, PackageResult(name: "curl", installedVersion: nil)])
        // refresh, install, then one query per package
        #expect(runner.argvs.map { $0.last } == ["update", "jq", "vim", "curl", "jq"])
        let install = runner.specs[1]
        #expect(install.arguments.suffix(5) == ["install", "--", "vim=2:9.0.1378-2", "curl", "jq"])
        #expect(install.environment["DEBIAN_FRONTEND"] == "noninteractive")
        #expect(install.environment["HOME"] == "/root")
        #expect(install.timeout.map { $0 > .seconds(590) && $0 <= .seconds(600) } == true)
        // queries: pins stripped, English output, a bound of their own
        let query = ["/fake/bin/dpkg-query", "--show", "--showformat=${db:Status-Status}\t${Version}\n", "--", "vim"]
        #expect(runner.argvs[2] == query)
        #expect(runner.specs[2].environment["LC_ALL"] == "C")
        #expect(runner.specs[2].timeout == .seconds(30))
        let stdout = try await setup.stdout()
        #expect(stdout.contains("fleet: refreshing the package lists failed (exit code 100); going on with the cached lists\n"))
        #expect(stdout.contains("Setting up vim (2:9.0.1378-2) ...\n"))
        let summary = """
            fleet: vim 2:9.0.1378-2 installed
            fleet: curl not installed
            fleet: jq: installed version unknown (dpkg-query ended with exit code 2)

            """
        #expect(stdout.hasSuffix(summary))
    }

    @Test func aFailingManagerFailsWithItsExitCodeAndStillReportsVersions() async throws {
        let runner = RecordingProcessRunner { spec in
            spec.executable == "/fake/bin/apt-get"
                ? .init(termination: .exited(100), stderr: "E: Unable to locate package nosuch\n")
                : .init(termination: .exited(1))
        }
        let payload = UpdatePackagePayload(action: .remove, packages: ["nosuch"])
        let setup = try await Setup(payload, runner: runner)
        defer { setup.directory.remove() }
        let outcome = try await setup.run(payload, programs: Self.apt)
        #expect(outcome.state == .failed)
        #expect(outcome.exitCode == 100)
        #expect(outcome.result?.packages == [PackageResult(name: "nosuch", installedVersion: nil)])
        // remove does not refresh the lists
        #expect(runner.argvs.map { $0.first } == ["/fake/bin/apt-get", "/fake/bin/dpkg-query"])
        #expect(try await setup.stdout().hasSuffix("fleet: nosuch not installed\n"))
    }

    @Test func aCancelDuringTheRefreshEndsTheRunBeforeTheManagerRuns() async throws {
        let runner = RecordingProcessRunner { spec in
            spec.arguments.last == "update" ? .init(termination: .signaled(15), stopReason: .cancelled) : .init()
        }
        let payload = UpdatePackagePayload(action: .upgrade, packages: [])
        let setup = try await Setup(payload, runner: runner)
        defer { setup.directory.remove() }
        let outcome = try await setup.run(payload, programs: Self.apt)
        #expect(outcome.state == .cancelled)
        #expect(outcome.result == nil)
        #expect(runner.argvs.count == 1)
    }

    @Test func aStoppedManagerRunIsNotFollowedByQueries() async throws {
        let runner = RecordingProcessRunner { spec in
            spec.arguments.last == "vim" ? .init(termination: .signaled(15), stopReason: .timedOut) : .init()
        }
        let payload = UpdatePackagePayload(action: .install, packages: ["vim"], timeoutSec: 30)
        let setup = try await Setup(payload, runner: runner)
        defer { setup.directory.remove() }
        let outcome = try await setup.run(payload, programs: Self.apt)
        #expect(outcome.state == .timedOut)
        #expect(outcome.signal == 15)
        #expect(outcome.result == nil)
        #expect(runner.argvs.map { $0.last } == ["update", "vim"])
    }

    @Test func timeoutSecBoundsRefreshAndRunTogether() async throws {
        // setup: the refresh takes 1.5 s of a 2 s budget
        let runner = RecordingProcessRunner { spec in
            spec.arguments.last == "update" ? .init(duration: .milliseconds(1500)) : .init()
        }
        let payload = UpdatePackagePayload(action: .install, packages: ["vim"], timeoutSec: 2)
        let setup = try await Setup(payload, runner: runner)
        defer { setup.directory.remove() }
        _ = try await setup.run(payload, programs: Self.apt)
        let install = try #require(runner.specs.dropFirst().first?.timeout)
        #expect(install <= .milliseconds(500) && install > .zero, "install got \(install)")
    }

    @Test func upgradingEverythingReportsNoPackagesAndAMissingQueryToolIsUnknown() async throws {
        let runner = RecordingProcessRunner()
        let setup = try await Setup(UpdatePackagePayload(action: .upgrade, packages: []), runner: runner)
        defer { setup.directory.remove() }
        let all = try await setup.run(UpdatePackagePayload(action: .upgrade, packages: []), programs: ["/fake/bin/zypper"])
        #expect(all == FinalOutcome(state: .succeeded, exitCode: 0, result: InvocationResult(packages: [])))
        #expect(runner.argvs == [["/fake/bin/zypper", "--non-interactive", "update"]])
        // zypper without rpm: the version is unknown, not "not installed"
        let other = try await Setup(UpdatePackagePayload(action: .install, packages: ["vim"]), runner: runner)
        defer { other.directory.remove() }
        let one = try await other.run(UpdatePackagePayload(action: .install, packages: ["vim"]), programs: ["/fake/bin/zypper"])
        #expect(one.result?.packages == [])
        #expect(try await other.stdout().hasSuffix("fleet: vim: installed version unknown (rpm not found)\n"))
    }
}
