import FleetClient
import FleetProtocol
import Foundation
import Testing

@testable import FleetCLI

@Suite("fleet run")
struct RunTests {
    /// Two nodes: edge-1 prints two stdout lines split mid-line across pages, edge-22 a stderr line without a newline.
    static func twoNodes(edge22: InvocationState = .succeeded, exit: Int? = 0) -> FakeFleet {
        let api = FakeFleet()
        api.update {
            $0.invocations = [invocation("edge-1", .succeeded, exit: 0), invocation("edge-22", edge22, exit: exit)]
            $0.pages = [
                LogPage(
                    commandId: FakeFleet.commandId, nodeId: nil,
                    chunks: [chunk("edge-1", .stdout, 0, "hello\nwor"), chunk("edge-22", .stderr, 0, "oops")], nextCursor: "",
                    complete: false),
                LogPage(
                    commandId: FakeFleet.commandId, nodeId: nil, chunks: [chunk("edge-1", .stdout, 9, "ld\n")], nextCursor: "",
                    complete: true),
            ]
        }
        return api
    }

    @Test("each line is prefixed by its aligned node id; stderr lines go to stderr, marked; a summary per state follows")
    func prefixedOutput() async throws {
        // setup
        let api = Self.twoNodes()
        // act
        let run = await fleet(["run", "--targets", "edge-1,edge-22", "--", "echo", "hi"], api: api)
        // check
        #expect(run.status == 0)
        #expect(run.output.out == "edge-1  | hello\nedge-1  | world\n")
        #expect(run.output.err.hasPrefix("edge-22 ! oops\n"))
        #expect(run.output.err.contains("succeeded  2  edge-1, edge-22"))
        #expect(!run.output.err.contains("\u{1B}["), "no colour or progress without a terminal")
    }

    @Test("exit status: the single target's exit code, 1 when one of several failed, 1 without an exit code")
    func exitStatuses() async throws {
        let single = FakeFleet()
        single.update { $0.invocations = [invocation("edge-1", .failed, exit: 3)] }
        #expect(await fleet(["run", "--targets", "edge-1", "--", "false"], api: single).status == 3)

        let several = Self.twoNodes(edge22: .failed, exit: 7)
        let run = await fleet(["run", "--selector", "role=web", "--", "x"], api: several)
        #expect(run.status == 1)
        #expect(run.output.err.contains("failed     1  edge-22 (exit 7)"))

        let timedOut = FakeFleet()
        timedOut.update { $0.invocations = [invocation("edge-1", .timedOut)] }
        #expect(await fleet(["run", "--targets", "edge-1", "--", "sleep", "9"], api: timedOut).status == 1)

        let wraps = FakeFleet()
        wraps.update { $0.invocations = [invocation("edge-1", .failed, exit: 256)] }
        #expect(await fleet(["run", "--targets", "edge-1", "--", "x"], api: wraps).status == 1, "256 must not read as success")
    }

    @Test("the words are quoted into one shell string; --shell passes a string as it is")
    func quoting() async throws {
        let api = Self.twoNodes()
        _ = await fleet(["run", "--targets", "edge-1", "--", "printf", "%s\\n", "it's", "a b", "$HOME", ""], api: api)
        _ = await fleet(["run", "--targets", "edge-1", "--shell", "df -h | tail -1"], api: api)
        let commands = api.state.withLock { $0.submits.map(\.0.payload) }
        #expect(commands.first == .runCommand(.init(cmd: #"printf '%s\n' 'it'\''s' 'a b' '$HOME' ''"#)))
        #expect(commands.last == .runCommand(.init(cmd: "df -h | tail -1")))
        #expect(ShellQuoting.join(["a-b_c.d/e:f=g,h@i%j+k"]) == "a-b_c.d/e:f=g,h@i%j+k")
    }

    @Test("a submit whose answer was lost is sent again with the same Idempotency-Key; a refusal is not retried")
    func submitRetries() async throws {
        let api = Self.twoNodes()
        api.update { $0.submitFailures = [.unreachable("timed out"), .server(status: 503, code: "unavailable", message: "db")] }
        let run = await fleet(["run", "--targets", "edge-1", "--detach", "--", "uptime"], api: api)
        #expect(run.status == 0)
        #expect(run.output.out == FakeFleet.commandId.uuidString.lowercased() + "\n")
        #expect(api.state.withLock { $0.submits.map(\.1) } == ["key-1", "key-1", "key-1"])

        let refused = Self.twoNodes()
        refused.update { $0.submitFailures = [.server(status: 400, code: "no_targets", message: "selector 'x' matches no registered node")] }
        let failed = await fleet(["run", "--selector", "x", "--", "uptime"], api: refused)
        #expect(failed.status == 1)
        #expect(failed.output.err == "fleet: submit failed: 400 no_targets: selector 'x' matches no registered node\n")
        #expect(refused.state.withLock { $0.submits.count } == 1)
    }

    @Test("--json prints the final detail and no output lines")
    func json() async throws {
        let run = await fleet(["run", "--targets", "edge-1,edge-22", "--json", "--", "x"], api: Self.twoNodes())
        #expect(run.status == 0)
        let detail = try FleetJSON.makeDecoder().decode(CommandDetail.self, from: Data(run.output.outBytes))
        #expect(detail.invocations.map(\.nodeId) == ["edge-1", "edge-22"])
        #expect(!run.output.err.contains("oops"))
    }

    @Test("usage errors exit 2 with one message: no targets, both target kinds, no command")
    func usage() async throws {
        let api = Self.twoNodes()
        for arguments in [
            ["run", "--", "x"], ["run", "--targets", "a", "--selector", "b", "--", "x"], ["run", "--targets", "a"],
            ["run", "--targets", "a", "--max-errors", "lots", "--", "x"], ["logs", "not-a-uuid"], ["bogus"],
        ] {
            let run = await fleet(arguments, api: api)
            #expect(run.status == 2, "\(arguments)")
            #expect(run.output.err.hasPrefix("Error: "), "\(arguments): \(run.output.err)")
        }
        #expect(api.state.withLock { $0.submits.isEmpty })
        let noToken = await fleet(["nodes"], api: api, environment: [:])
        #expect(noToken.status == 2)
        #expect(noToken.output.err.hasPrefix("fleet: an operator token is required"))
    }

    @Test("Ctrl-C without a terminal detaches and says how to cancel; with one it asks, and c cancels")
    func interrupt() async throws {
        // setup: a command whose output never completes
        let api = FakeFleet()
        api.update {
            $0.invocations = [invocation("edge-1", .running)]
            $0.running = true
        }
        let press: @Sendable () -> AsyncStream<Void> = { AsyncStream { $0.yield() } }
        // act: non-interactive
        let detached = await fleet(["run", "--targets", "edge-1", "--", "sleep", "99"], api: api, interrupts: press)
        // check
        #expect(detached.status == ExitStatus.detached)
        #expect(detached.output.err.contains("keeps running"))
        #expect(detached.output.err.contains("fleet cancel \(FakeFleet.commandId.uuidString.lowercased())"))
        #expect(api.state.withLock { $0.cancels } == 0)
        // act: interactive, answering c; the second press (the stream yields once per listener) detaches
        let interactive = TerminalInfo(stdin: true, stdout: false, stderr: true)
        let cancelled = await fleet(
            ["run", "--targets", "edge-1", "--", "sleep", "99"], api: api, terminal: interactive, interrupts: press, answer: "c")
        #expect(api.state.withLock { $0.cancels } == 1)
        #expect(cancelled.output.err.contains("cancelling"))
        #expect(cancelled.status == ExitStatus.detached)
    }
}
