import AgentService
import FleetAuth
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Testing

/// `openapi.yaml` documents exactly the routes the router serves: no route undocumented,
/// no documented operation without a route. Needs no database: the router is only built.
@Suite("OpenAPI document")
struct OpenAPITests {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let audiences: Set<String> = ["node", "operator", "enrollment", "public"]

    @Test("every router route is documented and every documented operation is routed")
    func routesMatchDocument() async throws {
        // setup
        let routes = try await Self.routerOperations()
        let document = try Self.documentedOperations()
        // act
        let undocumented = routes.subtracting(document.keys).sorted()
        let unrouted = Set(document.keys).subtracting(routes).sorted()
        // check
        #expect(routes.count >= 16, "the router lost routes: \(routes.sorted())")
        #expect(undocumented.isEmpty, "routes missing from openapi.yaml: \(undocumented.joined(separator: ", "))")
        #expect(unrouted.isEmpty, "operations in openapi.yaml that the router does not serve: \(unrouted.joined(separator: ", "))")
    }

    @Test("every documented operation names the gateway audience that may call it")
    func audiences() throws {
        let document = try Self.documentedOperations()
        #expect(!document.isEmpty)
        for (operation, audience) in document.sorted(by: { $0.key < $1.key }) {
            #expect(audience.map(Self.audiences.contains) == true, "\(operation): x-fleet-audience is \(audience ?? "missing")")
        }
        // The fixed paths of the design keep their audience.
        #expect(document["POST /v1/agents/register"] == "enrollment")
        #expect(document["POST /v1/commands/logs"] == "node")
        #expect(document["POST /v1/commands/submit"] == "operator")
        #expect(document["GET /v1/commands/{id}/logs"] == "operator")
        #expect(document["GET /healthz"] == "public")
    }

    /// `METHOD /path` of every route, from a router built like the service's (never started).
    static func routerOperations() async throws -> Set<String> {
        let settings = DatabaseSettings(host: "127.0.0.1", port: 1, user: "fleet", password: nil, database: "fleet")
        var configuration = ServiceConfiguration(
            database: settings, signingSecret: "openapi-test-secret-0123456789abcdef", enrollmentToken: "enroll")
        configuration.migrationsDirectory = repoRoot.appendingPathComponent("migrations").path
        let logger = Logger(label: "openapi-test")
        // Constructing a client or notifier does not connect; nothing here is ever run.
        let client = PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger)
        let parts = AgentServiceParts(
            database: Database(client: client, logger: logger),
            notifier: ChangeNotifier(configuration: settings.connectionConfiguration, logger: logger),
            metrics: ServiceMetrics(),
            tokens: try await TokenAuthority(secret: configuration.signingSecret))
        let router = buildRouter(configuration: configuration, parts: parts, logger: logger)
        return Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
    }

    /// `METHOD /path` → `x-fleet-audience` of every operation in openapi.yaml.
    ///
    /// A minimal reader for the layout the document keeps (checked by scripts/check_openapi.py):
    /// path keys are `  /path:` lines under the top-level `paths:`, methods are `    get:` lines.
    static func documentedOperations() throws -> [String: String?] {
        let text = try String(contentsOf: repoRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]
        var operations: [String: String?] = [:]
        var inPaths = false
        var path: String?
        var operation: String?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            let indent = line.prefix(while: { $0 == " " }).count
            if indent == 0, !trimmed.isEmpty, !trimmed.hasPrefix("#") {
                inPaths = trimmed == "paths:"
                path = nil
                operation = nil
                continue
            }
            guard inPaths else { continue }
            if indent == 2, trimmed.hasPrefix("/"), trimmed.hasSuffix(":") {
                path = String(trimmed.dropLast())
                operation = nil
            } else if indent == 4, trimmed.hasSuffix(":"), methods.contains(String(trimmed.dropLast())), let path {
                let name = "\(trimmed.dropLast().uppercased()) \(path)"
                operations[name] = .some(nil)
                operation = name
            } else if indent == 4 {
                operation = nil  // a path-level key such as `parameters:`
            } else if indent == 6, trimmed.hasPrefix("x-fleet-audience:"), let operation {
                let value = trimmed.dropFirst("x-fleet-audience:".count).trimmingCharacters(in: .whitespaces)
                operations[operation] = .some(value.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")))
            }
        }
        return operations
    }
}
