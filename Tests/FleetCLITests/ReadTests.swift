import FleetClient
import FleetProtocol
import Foundation
import Testing

@testable import FleetCLI

@Suite("fleet nodes, logs, show, history, cancel")
struct ReadTests {
    static func nodes() -> FakeFleet {
        let api = FakeFleet()
        let registered = Date(timeIntervalSince1970: 1_799_000_000)
        api.update {
            $0.nodes = [
                NodeInfo(
                    nodeId: "edge-1", attrs: ["role": "web", "region": "eu"], status: .active, online: true, agentVersion: "0.3.0",
                    registeredAt: registered, lastSeenAt: Date(timeIntervalSince1970: 1_800_000_025)),
                NodeInfo(
                    nodeId: "edge-22", attrs: [:], status: .revoked, online: false, agentVersion: nil, registeredAt: registered,
                    lastSeenAt: nil),
            ]
        }
        return api
    }

    @Test("nodes: an aligned table, or the API's JSON; the selector reaches the server")
    func nodesTable() async throws {
        let api = Self.nodes()
        let table = await fleet(["nodes", "--selector", "role=web"], api: api)
        #expect(table.status == 0)
        #expect(
            table.output.out == """
                NODE     ONLINE   VERSION  LAST SEEN  ATTRS
                edge-1   yes      0.3.0    5s ago     region=eu,role=web
                edge-22  revoked  -        never      

                """)
        #expect(api.state.withLock { $0.selectors } == ["role=web"])
        let json = await fleet(["nodes", "--json"], api: api)
        let decoded = try FleetJSON.makeDecoder().decode(NodeListResponse.self, from: Data(json.output.outBytes))
        #expect(decoded.nodes.map(\.nodeId) == ["edge-1", "edge-22"])
    }

    @Test("plain http off loopback and an unusable CA bundle are refused before any call, exit 78")
    func refusedConfiguration() async throws {
        let api = Self.nodes()
        let plain = await fleet(["nodes"], api: api, environment: ["FLEET_TOKEN": "t", "AGENT_SVC_URL": "http://10.1.2.3:8080"])
        #expect(plain.status == 78)
        #expect(plain.output.err.contains("ALLOW_INSECURE_HTTP=1"))
        let optedIn = await fleet(
            ["nodes"], api: api, environment: ["FLEET_TOKEN": "t", "AGENT_SVC_URL": "http://10.1.2.3:8080", "ALLOW_INSECURE_HTTP": "1"])
        #expect(optedIn.status == 0)
        let badCA = await fleet(["nodes"], api: api, environment: ["FLEET_TOKEN": "t", "FLEET_CA_FILE": "/nonexistent/ca.pem"])
        #expect(badCA.status == 78)
        #expect(badCA.output.err == "fleet: FLEET_CA_FILE /nonexistent/ca.pem cannot be used: no such file, or not readable by this user\n")
    }

    @Test("a certificate that does not verify is one line and no retry")
    func untrustedServer() async throws {
        let api = Self.nodes()
        api.update { $0.failAll = .untrusted("TLS: the certificate of gw did not verify: it is not issued for gw") }
        let run = await fleet(["nodes"], api: api)
        #expect(run.status == 1)
        #expect(run.output.err == "fleet: list nodes failed: TLS: the certificate of gw did not verify: it is not issued for gw\n")
    }

    @Test("a failing call is one line on stderr naming the step, exit 1")
    func oneLineErrors() async throws {
        let api = Self.nodes()
        api.update { $0.failAll = .server(status: 401, code: "unauthorized", message: "token expired") }
        let run = await fleet(["nodes"], api: api)
        #expect(run.status == 1)
        #expect(run.output.err == "fleet: list nodes failed: 401 unauthorized: token expired\n")
        #expect(run.output.out.isEmpty)
        api.update { $0.failAll = .unreachable("connection refused (http://127.0.0.1:9)") }
        let down = await fleet(["history"], api: api)
        #expect(down.status == 1)
        #expect(down.output.err == "fleet: list commands failed: server unreachable: connection refused (http://127.0.0.1:9)\n")
    }

    @Test("logs: prefixed lines of every node, one node, one stream; --raw is the bytes untouched")
    func logs() async throws {
        let api = RunTests.twoNodes()
        let id = FakeFleet.commandId.uuidString
        let all = await fleet(["logs", id], api: api)
        #expect(all.status == 0)
        #expect(all.output.out == "edge-1  | hello\nedge-1  | world\n")
        #expect(all.output.err == "edge-22 ! oops\n")
        let stderrOnly = await fleet(["logs", id, "--stream", "stderr"], api: api)
        #expect(stderrOnly.output.out.isEmpty && stderrOnly.output.err == "edge-22 ! oops\n")
        let bytes = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        api.update { $0.raw = bytes }
        let raw = await fleet(["logs", id, "--node", "edge-1", "--raw"], api: api)
        #expect(raw.status == 0 && raw.output.outBytes == bytes)
        let ambiguous = await fleet(["logs", id, "--raw"], api: api)
        #expect(ambiguous.status == 2)
        #expect(ambiguous.output.err == "fleet: --raw needs --node: the command has 2 targets\n")
        let unknown = await fleet(["logs", id, "--node", "edge-9"], api: api)
        #expect(unknown.status == 1 && unknown.output.err.contains("no invocation on node 'edge-9'"))
    }

    @Test("show and history: the command, its counts and each invocation")
    func showAndHistory() async throws {
        let api = RunTests.twoNodes(edge22: .failed, exit: 2)
        let show = await fleet(["show", FakeFleet.commandId.uuidString], api: api)
        #expect(show.status == 0)
        #expect(show.output.out.contains("payload  $ uname -a"))
        #expect(show.output.out.contains("states   1 succeeded, 1 failed"))
        #expect(show.output.out.contains("edge-22  failed     2"))
        let history = await fleet(["history", "--limit", "5"], api: api)
        #expect(history.output.out.contains("6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10  30s ago  alice  RunCommand  2"))
        let cancel = await fleet(["cancel", FakeFleet.commandId.uuidString], api: api)
        #expect(cancel.status == 0 && cancel.output.out == "cancelled 0 queued, stopping 1 on their nodes\n")
    }

    @Test("update-agent resolves the artifact's version and digest; package sends the action and names")
    func otherCommandTypes() async throws {
        let api = RunTests.twoNodes()
        _ = await fleet(["update-agent", "--selector", "*", "--artifact", "art-1", "--detach"], api: api)
        _ = await fleet(["package", "install", "curl", "jq=1.6", "--targets", "edge-1", "--detach"], api: api)
        let payloads = api.state.withLock { $0.submits.map(\.0.payload) }
        #expect(payloads.first == .updateAgent(.init(version: "0.2.0", sha256: String(repeating: "a", count: 64), artifactId: "art-1")))
        #expect(payloads.last == .updatePackage(.init(action: .install, packages: ["curl", "jq=1.6"])))
        let missing = await fleet(["update-agent", "--targets", "edge-1", "--artifact", "nope"], api: api)
        #expect(missing.status == 1 && missing.output.err.hasPrefix("fleet: no artifact 'nope'"))
    }

    @Test("--help of every subcommand shows examples; completion scripts are generated")
    func help() async throws {
        let api = FakeFleet()
        for command in [
            ["nodes"], ["run"], ["logs"], ["show"], ["history"], ["cancel"], ["revoke"], ["upload"], ["update-agent"],
            ["package", "install"], ["package", "remove"], ["package", "upgrade"],
        ] {
            let run = await fleet(command + ["--help"], api: api)
            #expect(run.status == 0, "\(command)")
            #expect(run.output.out.contains("Example"), "\(command) --help has no examples")
        }
        let completion = await fleet(["--generate-completion-script", "bash"], api: api)
        #expect(completion.status == 0 && completion.output.out.contains("_fleet"))
    }
}
