import AgentService
import Foundation
import Logging
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// The Postgres server the tests use: the one `scripts/test.sh` started (FLEET_TEST_PG_HOST/PORT),
/// or a cluster this process starts itself in a temp dir. Never a mock; no server means failure.
actor TestPostgres {
    static let shared = TestPostgres()
    static let templateName = "fleet_template"

    private var endpoint: (host: String, port: Int)?
    private var templateTask: Task<Void, any Error>?
    let logger = Logger(label: "test-postgres")

    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    static var migrationsDirectory: String { repoRoot.appendingPathComponent("migrations").path }

    /// Host and port of a running server.
    func server() throws -> (host: String, port: Int) {
        if let endpoint { return endpoint }
        let env = ProcessInfo.processInfo.environment
        if let host = env["FLEET_TEST_PG_HOST"], let port = env["FLEET_TEST_PG_PORT"].flatMap(Int.init) {
            endpoint = (host, port)
            return (host, port)
        }
        let started = try Self.startPrivateCluster()
        endpoint = started
        return started
    }

    /// A fresh, migrated database for one test, copied from a template migrated once.
    func makeDatabase() async throws -> DatabaseSettings {
        let (host, port) = try server()
        // Actor methods re-enter at each await: the template is built by one shared task.
        let template =
            templateTask
            ?? Task {
                try await admin("DROP DATABASE IF EXISTS \(Self.templateName) WITH (FORCE)")
                try await admin("CREATE DATABASE \(Self.templateName)")
                let settings = DatabaseSettings(host: host, port: port, user: "postgres", password: nil, database: Self.templateName)
                var config = ServiceConfiguration(database: settings, signingSecret: String(repeating: "s", count: 32), enrollmentToken: nil)
                config.migrationsDirectory = Self.migrationsDirectory
                _ = try await migrateDatabase(configuration: config, logger: logger)
            }
        templateTask = template
        try await template.value
        let name = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20))"
        try await admin("CREATE DATABASE \(name) TEMPLATE \(Self.templateName)")
        return DatabaseSettings(host: host, port: port, user: "postgres", password: nil, database: name)
    }

    /// Runs a statement on the `postgres` maintenance database.
    func admin(_ sql: String) async throws {
        let (host, port) = try server()
        let config = PostgresConnection.Configuration(
            host: host, port: port, username: "postgres", password: nil, database: "postgres", tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: config, id: 0, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// Starts a cluster with scripts/lib/postgres.sh and a watcher that stops it when this process exits.
    static func startPrivateCluster() throws -> (host: String, port: Int) {
        // The port comes back through a file: a pipe would be held open by the server it starts.
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-pg-port-\(UUID().uuidString)")
        let script = """
            set -e
            . "\(repoRoot.path)/scripts/lib/postgres.sh"
            dir=$(mktemp -d /tmp/fleet-swift-test-pg.XXXXXX)
            pg_start "$dir" >&2
            parent=\(ProcessInfo.processInfo.processIdentifier)
            ( while kill -0 "$parent" 2>/dev/null; do sleep 1; done; pg_stop "$dir"; rm -rf "$dir" ) >/dev/null 2>&1 </dev/null &
            echo "$PGPORT" > "\(portFile.path)"
            """
        // posix_spawn + waitpid: Foundation's Process.waitUntilExit can stall inside Swift concurrency.
        let status = try runShell(script)
        defer { try? FileManager.default.removeItem(at: portFile) }
        let text = (try? String(contentsOf: portFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard status == 0, let port = Int(text) else {
            throw TestSetupError("could not start a Postgres cluster for the tests (is the postgresql package installed?)")
        }
        return ("127.0.0.1", port)
    }
}

/// Runs `/bin/bash -c script` and returns its exit status.
func runShell(_ script: String) throws -> Int32 {
    var pid: pid_t = 0
    let args = ["/bin/bash", "-c", script]
    var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, &argv, environ)
    guard spawned == 0 else { throw TestSetupError("posix_spawn failed: \(spawned)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    return (status >> 8) & 0xff
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
