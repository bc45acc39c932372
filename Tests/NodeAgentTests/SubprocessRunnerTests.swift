import FleetProtocol
import Foundation
import Synchronization
import Testing

@testable import NodeAgent

/// Collects output per stream for assertions.
final class OutputSink: Sendable {
    private let state = Mutex<[LogStream: [UInt8]]>([:])
    var handler: OutputHandler { { stream, bytes in self.state.withLock { $0[stream, default: []] += bytes } } }
    func text(_ stream: LogStream) -> String { String(decoding: state.withLock { $0[stream] ?? [] }, as: UTF8.self) }
}

@Suite("SubprocessRunner", .timeLimit(.minutes(2)))
struct SubprocessRunnerTests {
    let runner = SubprocessRunner()

    @Test func reportsExitCodeAndBothStreams() async throws {
        let sink = OutputSink()
        let outcome = try await runner.run(
            ProcessSpec(command: "printf out; printf err >&2; exit 3", environment: ProcessProbe.baseEnvironment),
            stop: StopSignal(), output: sink.handler)
        #expect(outcome == ProcessOutcome(termination: .exited(3), stopReason: nil))
        #expect(sink.text(.stdout) == "out")
        #expect(sink.text(.stderr) == "err")
    }

    @Test func passesEnvironmentAndWorkingDirectory() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sink = OutputSink()
        var environment = ProcessProbe.baseEnvironment
        environment["FOO"] = "bar baz"
        _ = try await runner.run(
            ProcessSpec(command: "printf '%s|%s' \"$FOO\" \"$(pwd -P)\"", environment: environment, workingDirectory: directory.path),
            stop: StopSignal(), output: sink.handler)
        let resolved = URL(fileURLWithPath: directory.path).resolvingSymlinksInPath().path
        #expect(sink.text(.stdout) == "bar baz|\(resolved)")
    }

    @Test func timeoutKillsTheWholeProcessGroupIncludingGrandchildren() async throws {
        // setup
        let marker = UUID().uuidString
        var environment = ProcessProbe.baseEnvironment
        environment["FLEET_TEST_MARKER"] = marker
        let spec = ProcessSpec(
            command: "sleep 100 & sleep 100", environment: environment, timeout: .seconds(1), gracePeriod: .seconds(2))
        // act
        let started = ContinuousClock.now
        let outcome = try await runner.run(spec, stop: StopSignal(), output: { _, _ in })
        // check
        #expect(outcome.stopReason == .timedOut)
        #expect(outcome.termination == .signaled(SIGTERM))
        #expect(ContinuousClock.now - started < .seconds(8))
        let survivors = await Fixtures.eventually(timeout: .seconds(3)) { ProcessProbe.processes(withMarker: marker).isEmpty }
        #expect(survivors, "processes left behind: \(ProcessProbe.processes(withMarker: marker))")
    }

    @Test func timeoutStillAppliesAfterTheProcessClosedItsOutput() async throws {
        let started = ContinuousClock.now
        let outcome = try await runner.run(
            ProcessSpec(
                command: "exec >/dev/null 2>&1; sleep 30", environment: ProcessProbe.baseEnvironment, timeout: .seconds(1),
                gracePeriod: .seconds(1)),
            stop: StopSignal(), output: { _, _ in })
        #expect(outcome.stopReason == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(8))
    }

    @Test func aChildIgnoringSIGTERMIsKilledAfterTheGracePeriod() async throws {
        let marker = UUID().uuidString
        var environment = ProcessProbe.baseEnvironment
        environment["FLEET_TEST_MARKER"] = marker
        let outcome = try await runner.run(
            ProcessSpec(
                command: "trap '' TERM; sh -c \"trap '' TERM; sleep 100\" & sleep 100; wait", environment: environment,
                timeout: .seconds(1), gracePeriod: .milliseconds(500)),
            stop: StopSignal(), output: { _, _ in })
        #expect(outcome.stopReason == .timedOut)
        #expect(outcome.termination == .signaled(SIGKILL))
        let gone = await Fixtures.eventually(timeout: .seconds(3)) { ProcessProbe.processes(withMarker: marker).isEmpty }
        #expect(gone, "processes left behind: \(ProcessProbe.processes(withMarker: marker))")
    }

    @Test func cancelStopsTheProcess() async throws {
        let marker = UUID().uuidString
        var environment = ProcessProbe.baseEnvironment
        environment["FLEET_TEST_MARKER"] = marker
        let stop = StopSignal()
        let sink = OutputSink()
        async let outcome = runner.run(
            ProcessSpec(command: "echo started; sleep 100 & sleep 100", environment: environment, gracePeriod: .seconds(2)),
            stop: stop, output: sink.handler)
        #expect(await Fixtures.eventually { sink.text(.stdout) == "started\n" })
        stop.request(.cancelled)
        let result = try await outcome
        #expect(result.stopReason == .cancelled)
        #expect(result.termination == .signaled(SIGTERM))
        #expect(await Fixtures.eventually(timeout: .seconds(3)) { ProcessProbe.processes(withMarker: marker).isEmpty })
    }

    @Test func aMissingWorkingDirectoryIsAnError() async throws {
        await #expect(throws: (any Error).self) {
            _ = try await runner.run(
                ProcessSpec(command: "true", environment: ProcessProbe.baseEnvironment, workingDirectory: "/nonexistent/dir/x"),
                stop: StopSignal(), output: { _, _ in })
        }
    }

    @Test func leftoverGroupsOfACrashedAgentAreKilledOnlyIfThePidIsStillTheirs() async throws {
        // setup: a command whose runner "crashed" (we only use its pid)
        let marker = UUID().uuidString
        var environment = ProcessProbe.baseEnvironment
        environment["FLEET_TEST_MARKER"] = marker
        let started = Mutex<(Int32, UInt64?)?>(nil)
        async let outcome = runner.run(
            ProcessSpec(command: "sleep 100 & sleep 100", environment: environment), stop: StopSignal(),
            onStart: { pid in started.withLock { $0 = (pid, LeftoverProcesses.startTime(of: pid)) } },
            output: { _, _ in })
        #expect(await Fixtures.eventually { started.withLock { $0 != nil } })
        let (pid, startTime) = try #require(started.withLock { $0 })
        let start = try #require(startTime)
        // act / check: a different start time means a reused pid: leave it alone
        #expect(LeftoverProcesses.killGroup(leader: pid, startTime: Int64(start) + 1) == false)
        #expect(LeftoverProcesses.killGroup(leader: pid, startTime: Int64(start)))
        #expect(try await outcome.termination == .signaled(SIGKILL))
        #expect(await Fixtures.eventually(timeout: .seconds(3)) { ProcessProbe.processes(withMarker: marker).isEmpty })
    }

    @Test func anArgvReachesTheProgramVerbatimWithNoShellInBetween() async throws {
        let sink = OutputSink()
        let outcome = try await runner.run(
            ProcessSpec(
                executable: "/usr/bin/printf", arguments: ["%s|", "a b", "$(id)", "`id`", "; echo injected", "*", "-o x"],
                environment: ProcessProbe.baseEnvironment),
            stop: StopSignal(), output: sink.handler)
        #expect(outcome == ProcessOutcome(termination: .exited(0), stopReason: nil))
        #expect(sink.text(.stdout) == "a b|$(id)|`id`|; echo injected|*|-o x|")
    }

    @Test func aBareNameIsLookedUpOnTheChildsPATH() async throws {
        // setup: a tool only in a directory of the child's PATH
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tool = directory.path + "/fleet-probe-tool"
        #expect(
            FileManager.default.createFile(
                atPath: tool, contents: Data("#!/bin/sh\nprintf 'probe:%s' \"$1\"\n".utf8), attributes: [.posixPermissions: 0o755]))
        var environment = ProcessProbe.baseEnvironment
        environment["PATH"] = directory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let sink = OutputSink()
        // act
        let outcome = try await runner.run(
            ProcessSpec(executable: "fleet-probe-tool", arguments: ["x y"], environment: environment), stop: StopSignal(),
            output: sink.handler)
        // check
        #expect(outcome.termination == .exited(0))
        #expect(sink.text(.stdout) == "probe:x y")
        // not on the child's PATH: an error before anything runs, not a shell's exit 127
        await #expect(throws: (any Error).self) {
            _ = try await runner.run(
                ProcessSpec(executable: "fleet-probe-tool", arguments: [], environment: ProcessProbe.baseEnvironment),
                stop: StopSignal(), output: { _, _ in })
        }
    }
}
