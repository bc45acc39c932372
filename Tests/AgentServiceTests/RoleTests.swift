import Crypto
import FleetAuth
import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import AgentService

/// Operator roles: the route × role table comes from openapi.yaml's `x-fleet-role`, so the
/// document, the enforcement table and the running service are checked against each other.
@Suite("Operator roles")
struct RoleTests {
    @Test("openapi.yaml names a role for every operator operation, the same one agent-svc enforces")
    func documentMatchesPolicy() throws {
        // setup
        let documented = try Self.documentedRoles()
        let audiences = try OpenAPITests.documentedOperations()
        // act
        let operatorOperations = Set(audiences.filter { $0.value == "operator" }.keys)
        // check
        #expect(Set(documented.keys) == operatorOperations, "operator operations without x-fleet-role")
        #expect(documented == OperatorPolicy.required)
        #expect(OperatorPolicy.role(method: .get, path: "/v1/not-yet-decided") == .admin, "an unlisted route is closed")
        #expect(OperatorPolicy.role(method: .get, path: nil) == .admin)
    }

    @Test("every operator route × every role: 403 exactly when the role is below the route's")
    func routeRoleTable() async throws {
        let fleet = try await TestFleet.make()
        let table = try Self.documentedRoles()
        try await fleet.run { client in
            // setup: something for every path parameter to name
            let admin = try await fleet.operatorToken("root", role: .admin)
            let tokens: [OperatorRole: String] = [
                .viewer: try await fleet.operatorToken("val", role: .viewer),
                .operator: try await fleet.operatorToken("otto", role: .operator),
                .admin: admin,
            ]
            _ = try await client.register("edge-1")
            _ = try await client.register("edge-spare")
            let command = try await client.submit("true", to: ["edge-1"], token: admin)
            let spare = try await client.send(.get, "/v1/me", token: try await fleet.operatorToken("spare", role: .viewer))
            let spareJTI = try spare.decode(OperatorSelf.self).jti
            var checked = 0
            // act and check: the lower roles first, so an admin's revoke cannot take the fixtures away from them
            for role in [OperatorRole.viewer, .operator, .admin] {
                for (operation, needed) in table.sorted(by: { $0.key < $1.key }) {
                    let (method, uri, body) = Self.request(operation, command: command, jti: spareJTI)
                    let response: TestResponse
                    if let body {
                        response = try await client.send(method, uri, token: tokens[role], raw: body)
                    } else if operation == "POST /v1/artifacts" {
                        response = try await client.upload(Array("binary".utf8), query: "name=tool&version=1.\(checked)", token: tokens[role])
                    } else {
                        response = try await client.send(method, uri, token: tokens[role])
                    }
                    let code = response.status.code
                    if role.allows(needed) {
                        #expect(code != 403 && code != 401 && code < 500, "\(role) on \(operation): \(response.status) \(response.text)")
                    } else {
                        #expect(code == 403, "\(role) on \(operation) (needs \(needed)): \(response.status) \(response.text)")
                        #expect(response.errorCode == "role_required")
                        #expect(response.text.contains("needs the \(needed.rawValue) role"))
                    }
                    checked += 1
                }
            }
            #expect(checked == table.count * 3)
            #expect(table.count >= 15)
        }
    }

    @Test("GET /v1/me names the token's operator and role")
    func me() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            let response = try await client.send(.get, "/v1/me", token: try await fleet.operatorToken("val", role: .viewer))
            #expect(response.status == .ok)
            let me = try response.decode(OperatorSelf.self)
            #expect(me.name == "val")
            #expect(me.role == .viewer)
        }
    }

    @Test("a token minted before roles (no op_role, not recorded) is refused with 401 saying to mint a new one")
    func legacyToken() async throws {
        let fleet = try await TestFleet.make()
        try await fleet.run { client in
            // setup: a token exactly as the earlier operator-token printed it, and one signed but never recorded
            let legacy = Self.legacyToken(name: "alice", secret: TestFleet.secret)
            let unrecorded = try await fleet.tokens.issueOperatorToken(name: "alice", role: .admin, ttl: 3600).token
            for token in [legacy, unrecorded] {
                // act
                let response = try await client.send(.get, "/v1/agents", token: token)
                // check
                #expect(response.status == .unauthorized)
                #expect(response.text.contains("mint a new one"), "\(response.text)")
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
        }
    }

    /// `METHOD /path` → `x-fleet-role` of every operation in openapi.yaml that has one.
    static func documentedRoles() throws -> [String: OperatorRole] {
        let text = try String(contentsOf: OpenAPITests.repoRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        var roles: [String: OperatorRole] = [:]
        var path: String?
        var operation: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            let indent = line.prefix(while: { $0 == " " }).count
            if indent == 2, trimmed.hasPrefix("/"), trimmed.hasSuffix(":") {
                path = String(trimmed.dropLast())
            } else if indent == 4, trimmed.hasSuffix(":"), let path {
                operation = "\(trimmed.dropLast().uppercased()) \(path)"
            } else if indent == 6, trimmed.hasPrefix("x-fleet-role:"), let operation {
                let value = trimmed.dropFirst("x-fleet-role:".count).trimmingCharacters(in: .whitespaces)
                guard let role = OperatorRole(rawValue: value) else { throw TestSetupError("\(operation): unknown role '\(value)'") }
                roles[operation] = role
            } else if indent == 0 {
                path = nil
                operation = nil
            }
        }
        return roles
    }

    /// A concrete request for a documented operation: path parameters filled, a body where one is taken.
    static func request(_ operation: String, command: UUID, jti: String) -> (HTTPRequest.Method, String, String?) {
        let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
        let method = HTTPRequest.Method(parts[0]) ?? .get
        var uri = parts[1]
        if uri.hasPrefix("/v1/agents/{id}/revoke") {
            uri = uri.replacingOccurrences(of: "{id}", with: "edge-spare")
        }
        uri = uri.replacingOccurrences(of: "/v1/agents/{id}", with: "/v1/agents/edge-1")
            .replacingOccurrences(of: "{id}", with: command.uuidString)
            .replacingOccurrences(of: "{jti}", with: jti)
        if uri.hasSuffix("/output") { uri += "?node_id=edge-1" }
        let body: String? =
            switch operation {
            case "POST /v1/commands/submit": #"{"targets":["edge-1"],"payload":{"cmd":"true","timeout_sec":5}}"#
            case "POST /v1/commands/{id}/cancel", "POST /v1/agents/{id}/revoke", "POST /v1/operator-tokens/{jti}/revoke": "{}"
            default: nil
            }
        return (method, uri, body)
    }

    /// An operator token as minted before roles existed: no `op_role`, never recorded.
    static func legacyToken(name: String, secret: String) -> String {
        func base64URL(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let now = Int(Date().timeIntervalSince1970)
        let header = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = base64URL(
            Data(
                #"{"sub":"\#(name)","iss":"fleet-operator","role":"operator","iat":\#(now),"nbf":\#(now),"exp":\#(now + 3600),"jti":"\#(UUID().uuidString)"}"#
                    .utf8))
        let signature = HMAC<SHA256>.authenticationCode(for: Data("\(header).\(payload)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "\(header).\(payload).\(base64URL(Data(signature)))"
    }
}
