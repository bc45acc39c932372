import FleetProtocol
import Testing

/// The input rules shared by server and agent.
@Suite("Validation")
struct ValidationTests {
    @Test("well-formed payloads of every type have no problems", arguments: Fixtures.payloads)
    func validPayloads(payload: CommandPayload) {
        #expect(payload.problems() == [])
    }

    @Test("RunCommand: empty cmd, bad timeouts, bad env names and relative cwd are refused")
    func runCommand() {
        func problems(_ payload: RunCommandPayload) -> [String] { CommandPayload.runCommand(payload).problems() }
        #expect(problems(RunCommandPayload(cmd: "")).contains("payload.cmd must not be empty"))
        #expect(problems(RunCommandPayload(cmd: " \n\t")).contains("payload.cmd must not be empty"))
        #expect(problems(RunCommandPayload(cmd: "uptime", timeoutSec: 0)).contains { $0.hasPrefix("payload.timeout_sec") })
        #expect(problems(RunCommandPayload(cmd: "uptime", timeoutSec: -5)).contains { $0.hasPrefix("payload.timeout_sec") })
        #expect(
            problems(RunCommandPayload(cmd: "uptime", timeoutSec: CommandPayload.maxTimeoutSec + 1)).contains {
                $0.hasPrefix("payload.timeout_sec")
            })
        #expect(problems(RunCommandPayload(cmd: "uptime", timeoutSec: CommandPayload.maxTimeoutSec)) == [])
        #expect(problems(RunCommandPayload(cmd: "uptime", timeoutSec: 1)) == [])
        #expect(problems(RunCommandPayload(cmd: "echo \u{0}")).contains("payload.cmd must not contain NUL"))
        #expect(!problems(RunCommandPayload(cmd: String(repeating: "x", count: CommandPayload.maxCommandBytes + 1))).isEmpty)
        #expect(!problems(RunCommandPayload(cmd: "env", env: ["BAD-NAME": "1"])).isEmpty)
        #expect(!problems(RunCommandPayload(cmd: "env", env: ["1ST": "1"])).isEmpty)
        #expect(!problems(RunCommandPayload(cmd: "env", env: ["X; rm -rf /": "1"])).isEmpty)
        #expect(problems(RunCommandPayload(cmd: "env", env: ["_PATH_2": "/bin", "LANG": "C"])) == [])
        #expect(problems(RunCommandPayload(cmd: "pwd", cwd: "tmp")).contains("payload.cwd must be an absolute path"))
        #expect(problems(RunCommandPayload(cmd: "pwd", cwd: "/tmp")) == [])
    }

    @Test("UpdateAgent: sha256 must be 64 hex digits; exactly one https url or artifact id")
    func updateAgent() {
        func problems(_ payload: UpdateAgentPayload) -> [String] { CommandPayload.updateAgent(payload).problems() }
        let url = "https://downloads.example.com/node-agent"
        #expect(problems(UpdateAgentPayload(version: "0.4.0", sha256: "abc123", url: url)).contains("payload.sha256 must be 64 hex digits"))
        #expect(
            problems(UpdateAgentPayload(version: "0.4.0", sha256: String(repeating: "g", count: 64), url: url))
                .contains("payload.sha256 must be 64 hex digits"))
        #expect(
            problems(UpdateAgentPayload(version: "0.4.0", sha256: Fixtures.sha256 + "0", url: url))
                .contains("payload.sha256 must be 64 hex digits"))
        #expect(problems(UpdateAgentPayload(version: "0.4.0", sha256: Fixtures.sha256.uppercased(), url: url)) == [])
        #expect(
            problems(UpdateAgentPayload(version: "0.4.0", sha256: Fixtures.sha256))
                .contains("payload needs exactly one of url or artifact_id"))
        #expect(
            problems(UpdateAgentPayload(version: "0.4.0", sha256: Fixtures.sha256, url: url, artifactId: "a1"))
                .contains("payload needs exactly one of url or artifact_id"))
        #expect(
            problems(UpdateAgentPayload(version: "0.4.0", sha256: Fixtures.sha256, url: "http://example.com/agent"))
                .contains("payload.url must be an https URL"))
        #expect(!problems(UpdateAgentPayload(version: "0.4.0; reboot", sha256: Fixtures.sha256, url: url)).isEmpty)
        #expect(!problems(UpdateAgentPayload(version: "", sha256: Fixtures.sha256, url: url)).isEmpty)
        #expect(!problems(UpdateAgentPayload(version: "0.4.0", sha256: Fixtures.sha256, artifactId: "../../etc/passwd")).isEmpty)
        #expect(problems(UpdateAgentPayload(version: "0.4.0+build_7", sha256: Fixtures.sha256, artifactId: "node-agent-0.4.0")) == [])
    }

    @Test(
        "UpdatePackage refuses names that are shell syntax or options",
        arguments: [
            "vim; rm -rf /", "-o APT::Get", "$(id)", "`id`", "nginx && reboot", "a b", "--purge", "", "pkg|sh", "x\ny",
            String(repeating: "a", count: 201),
        ])
    func badPackageNames(name: String) {
        // act
        let problems = CommandPayload.updatePackage(UpdatePackagePayload(action: .install, packages: [name])).problems()
        // check
        #expect(!FleetValidation.isValidPackageName(name))
        #expect(problems.contains { $0.hasPrefix("payload.packages: '") && $0.hasSuffix("is not a valid package name") })
    }

    @Test(
        "UpdatePackage accepts plain names and version pins",
        arguments: [
            "nginx", "libssl3=3.0.11-1", "python3.11", "g++", "openssl>=3", "pkg:amd64", "0ad",
        ])
    func goodPackageNames(name: String) {
        #expect(FleetValidation.isValidPackageName(name))
        #expect(CommandPayload.updatePackage(UpdatePackagePayload(action: .upgrade, packages: [name], manager: .apt)).problems() == [])
    }

    @Test("UpdatePackage needs 1-100 packages")
    func packageCount() {
        #expect(!CommandPayload.updatePackage(UpdatePackagePayload(action: .install, packages: [])).problems().isEmpty)
        #expect(!CommandPayload.updatePackage(UpdatePackagePayload(action: .remove, packages: [])).problems().isEmpty)
        let many = (0...100).map { "pkg\($0)" }
        #expect(
            CommandPayload.updatePackage(UpdatePackagePayload(action: .install, packages: many)).problems()
                .contains("payload.packages names more than 100 packages"))
        #expect(CommandPayload.updatePackage(UpdatePackagePayload(action: .install, packages: Array(many.prefix(100)))).problems() == [])
    }

    @Test(
        "node ids that are not DNS-like are refused",
        arguments: [
            "a b", "x'; DROP TABLE nodes;--", "", String(repeating: "a", count: 129), "-lead", ".hidden", "edge/1", "edge:1",
            "edge,1", "ünïcode", "edge\u{0}", "edge\n",
        ])
    func badNodeIds(id: String) {
        #expect(!FleetValidation.isValidNodeId(id))
    }

    @Test(
        "DNS-like node ids up to 128 characters are accepted",
        arguments: [
            "edge-1", "edge.eu-west.example", "node_7", "A", "0", "_underscore", String(repeating: "a", count: 128),
        ])
    func goodNodeIds(id: String) {
        #expect(FleetValidation.isValidNodeId(id))
    }
}
