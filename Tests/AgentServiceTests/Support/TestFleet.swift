import AgentService
import FleetAuth
import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import PostgresNIO

/// One agent-svc on its own fresh database, driven in-process through Hummingbird's test client.
struct TestFleet: Sendable {
    static let secret = "test-signing-secret-0123456789abcdef"
    static let enrollment = "test-enrollment-token"

    let configuration: ServiceConfiguration
    let tokens: TokenAuthority
    let logger: Logger
    /// Times the app's long-poll deadlines and reaper rounds.
    let clock: any Clock<Duration>

    static func make(
        clock: any Clock<Duration> = ContinuousClock(), tune: (inout ServiceConfiguration) -> Void = { _ in }
    ) async throws -> TestFleet {
        let settings = try await TestPostgres.shared.makeDatabase()
        var config = ServiceConfiguration(database: settings, signingSecret: secret, enrollmentToken: enrollment)
        config.migrationsDirectory = TestPostgres.migrationsDirectory
        tune(&config)
        var logger = Logger(label: "agent-svc-test")
        logger.logLevel = ProcessInfo.processInfo.environment["FLEET_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return TestFleet(configuration: config, tokens: try await TokenAuthority(secret: secret), logger: logger, clock: clock)
    }

    /// Runs `body` against a fresh app (router-level or live HTTP).
    func run<T: Sendable>(
        _ mode: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        try await run(mode) { client, _ in try await body(client) }
    }

    /// Runs `body` against a fresh app, with the app's parts (its notifier, its database pool).
    func run<T: Sendable>(
        _ mode: TestingSetup = .router, certificate: ServerCertificate? = nil,
        _ body: @Sendable (any TestClientProtocol, AgentServiceParts) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: configuration.database.clientConfiguration, backgroundLogger: logger)
        let (app, parts) = buildApplication(
            configuration: configuration, logger: logger, tokens: tokens, client: client, certificate: certificate, clock: clock)
        return try await app.test(mode) { client in try await body(client, parts) }
    }

    /// A recorded operator token, as `agent-svc operator-token` mints one. Admin by default, so a
    /// test about something else is never stopped by a role.
    func operatorToken(_ name: String = "alice", role: OperatorRole = .admin) async throws -> String {
        try await OperatorTokenAdmin(configuration: configuration, logger: logger, actor: "host:test")
            .issue(name: name, role: role, ttl: 3600).token
    }

    /// An invocation of `cmd` delivered to a freshly registered `edge-1`, and the tokens to feed
    /// and read it.
    func deliveredRun(
        _ client: any TestClientProtocol, cmd: String = "producer"
    ) async throws -> (UUID, node: String, op: String) {
        let op = try await operatorToken()
        let node = try await client.register("edge-1")
        let id = try await client.submit(cmd, to: ["edge-1"], token: op)
        _ = try await client.poll(token: node)
        return (id, node, op)
    }

    /// A statement against this test's database (for checks the API does not expose).
    func sql(_ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: configuration.database.connectionConfiguration, id: 9, logger: logger)
            defer { Task { try? await connection.close() } }
            var rows: [PostgresRow] = []
            for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
            return rows
        } catch let error as PSQLError {
            // PSQLError's description hides everything; a failing test needs the server's words.
            throw TestSetupError("sql: \(String(reflecting: error))")
        }
    }

    /// Lets the lease of `commandId`'s invocations lapse, as the passing of `leaseSeconds` would.
    func lapseLease(of commandId: UUID) async throws {
        _ = try await sql("UPDATE invocations SET lease_expires_at = now() - interval '1 second' WHERE command_id = \(commandId)")
    }
}

/// Waits until `condition` holds, for a state the service reaches on its own (a listener up, a
/// poll held); fails after `timeout` so a regression cannot hang the suite.
func eventually(
    _ what: String, timeout: Duration = .seconds(10), _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestSetupError("timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Request helpers over the test client.
extension TestClientProtocol {
    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, headers extra: HTTPFields = [:],
        json: (any Encodable)? = nil, raw: String? = nil
    ) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(data: try FleetJSON.makeEncoder().encode(json))
            headers[.contentType] = "application/json"
        } else if let raw {
            body = ByteBuffer(string: raw)
            headers[.contentType] = "application/json"
        }
        return try await execute(uri: uri, method: method, headers: headers, body: body)
    }

    /// Registers a node and returns its token.
    func register(_ nodeId: String, attrs: [String: String] = ["os": "linux"]) async throws -> String {
        let response = try await send(
            .post, "/v1/agents/register", headers: [enrollmentHeader: TestFleet.enrollment],
            json: RegisterRequest(nodeId: nodeId, attrs: attrs))
        guard response.status == .created else { throw TestSetupError("register \(nodeId): \(response.status) \(response.text)") }
        return try response.decode(NodeTokenResponse.self).token
    }

    func submit(_ cmd: String, to targets: [String], token: String, timeout: Int? = 30) async throws -> UUID {
        let response = try await send(
            .post, "/v1/commands/submit", token: token,
            json: SubmitCommandRequest(targets: targets, payload: .runCommand(.init(cmd: cmd, timeoutSec: timeout))))
        guard response.status == .created else { throw TestSetupError("submit: \(response.status) \(response.text)") }
        return try response.decode(SubmitCommandResponse.self).commandId
    }

    func poll(token: String, wait: Int = 0, active: [UUID]? = nil) async throws -> PollResponse {
        let response = try await send(.post, "/v1/agents/poll", token: token, json: PollRequest(waitSec: wait, active: active))
        guard response.status == .ok else { throw TestSetupError("poll: \(response.status) \(response.text)") }
        return try response.decode(PollResponse.self)
    }
}

let enrollmentHeader = HTTPField.Name("X-Enrollment-Token")!

extension TestResponse {
    var text: String { String(buffer: body) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try FleetJSON.makeDecoder().decode(T.self, from: Data(body.readableBytesView))
    }

    /// The `error.code` of an error body.
    var errorCode: String? { (try? decode(ErrorResponse.self))?.error.code }
}
