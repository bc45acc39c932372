import Foundation
import Testing

@testable import NodeAgent

@Suite("Identity and configuration")
struct IdentityFileTests {
    @Test func identityFileIsWrittenWithMode0600AndReadBack() throws {
        // setup
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = IdentityFile(stateDirectory: directory.path)
        let identity = NodeIdentity(
            nodeId: "edge-1", token: "secret", expiresAt: Date(timeIntervalSince1970: 2_000_000_000),
            issuedAt: Date(timeIntervalSince1970: 1_999_913_600), serverURL: "http://svc:8080")
        // act
        let previous = umask(0o022)
        defer { umask(previous) }
        try file.save(identity)
        try file.save(identity)  // replacing keeps the mode
        // check
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try file.load() == identity)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test func missingIdentityFileMeansNotRegistered() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(try IdentityFile(stateDirectory: directory.path).load() == nil)
    }

    @Test func tokenIsRefreshedInTheLastThirdOfItsLifetime() {
        let issued = Date(timeIntervalSince1970: 0)
        let identity = NodeIdentity(nodeId: "n", token: "t", expiresAt: issued + 3000, issuedAt: issued, serverURL: "x")
        #expect(identity.needsRefresh(now: issued + 1000) == false)
        #expect(identity.needsRefresh(now: issued + 2100))
    }

    @Test func nodeAttributesParseAndMergeOverCollectedOnes() throws {
        let parsed = try AgentConfiguration.parseAttributes(" rack = r1 ,zone=eu-west,, role=db ")
        #expect(parsed == ["rack": "r1", "zone": "eu-west", "role": "db"])
        #expect(throws: AgentError.self) { try AgentConfiguration.parseAttributes("novalue") }
        let attrs = NodeAttributes.collect(merging: ["os": "custom", "rack": "r1"])
        #expect(attrs["os"] == "custom")
        #expect(attrs["rack"] == "r1")
        for key in ["os_version", "kernel", "arch", "hostname", "agent_version"] {
            #expect(attrs[key]?.isEmpty == false, "missing \(key)")
        }
    }

    @Test func byteSizesAndValidation() throws {
        #expect(try AgentConfiguration.parseByteSize("256M") == 256 << 20)
        #expect(try AgentConfiguration.parseByteSize("1GiB") == 1 << 30)
        #expect(try AgentConfiguration.parseByteSize("4096") == 4096)
        #expect(throws: AgentError.self) { try AgentConfiguration.parseByteSize("lots") }
        var configuration = Fixtures.configuration("/tmp/x")
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.serverURL = "ftp://nope"
        #expect(throws: AgentError.self) { try configuration.validate() }
        configuration.serverURL = "http://127.0.0.1:1"
        configuration.nodeId = "bad id;rm"
        #expect(throws: AgentError.self) { try configuration.validate() }
    }

    @Test func plainHTTPOffLoopbackNeedsTheOptInAndTheCABundleMustLoad() throws {
        let base = ["STATE_DIR": "/tmp/fleet-config-\(UUID().uuidString)", "AGENT_SVC_URL": "http://10.20.30.40:8080"]
        #expect {
            try AgentConfiguration.resolve(AgentSettings(), environment: base)
        } throws: { error in
            "\(error)".contains("ALLOW_INSECURE_HTTP=1")
        }
        let allowed = try AgentConfiguration.resolve(AgentSettings(), environment: base.merging(["ALLOW_INSECURE_HTTP": "1"]) { $1 })
        #expect(allowed.allowInsecureHTTP)
        let tls = try AgentConfiguration.resolve(AgentSettings(), environment: base.merging(["AGENT_SVC_URL": "https://10.20.30.40"]) { $1 })
        #expect(tls.trust.caFile == nil)
        #expect {
            try AgentConfiguration.resolve(
                AgentSettings(), environment: base.merging(["AGENT_SVC_URL": "https://h", "FLEET_CA_FILE": "/nonexistent/ca.pem"]) { $1 })
        } throws: { error in
            "\(error)".contains("FLEET_CA_FILE /nonexistent/ca.pem cannot be used")
        }
    }
}
