import AgentService
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite("Start-up")
struct StartupTests {
    @Test("the signing secret is required and must be at least 32 bytes")
    func secretRequired() throws {
        #expect(throws: ConfigurationError.missing("JWT_SIGNING_SECRET")) {
            try ServiceConfiguration.fromEnvironment([:])
        }
        #expect(throws: ConfigurationError.invalid(name: "JWT_SIGNING_SECRET", reason: "must be at least 32 bytes (got 5)")) {
            try ServiceConfiguration.fromEnvironment(["JWT_SIGNING_SECRET": "short"])
        }
        let config = try ServiceConfiguration.fromEnvironment([
            "JWT_SIGNING_SECRET": String(repeating: "k", count: 32), "DB_HOST": "db", "DB_PORT": "6543", "DB_USER": "fleet",
            "DB_PASSWORD": "pw", "DB_NAME": "fleetdb", "PORT": "9090", "ENROLLMENT_TOKEN": "enrol",
        ])
        #expect(config.database == DatabaseSettings(host: "db", port: 6543, user: "fleet", password: "pw", database: "fleetdb"))
        #expect(config.port == 9090 && config.enrollmentToken == "enrol")
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.fromEnvironment(["JWT_SIGNING_SECRET": String(repeating: "k", count: 32), "PORT": "eighty"])
        }
        let url = try ServiceConfiguration.fromEnvironment([
            "JWT_SIGNING_SECRET": String(repeating: "k", count: 32), "DATABASE_URL": "postgres://u:p@h:7/d",
        ])
        #expect(url.database == DatabaseSettings(host: "h", port: 7, user: "u", password: "p", database: "d"))
    }

    @Test("command-line flags win over the environment")
    func flagsOverride() throws {
        // setup
        let env = ["JWT_SIGNING_SECRET": String(repeating: "k", count: 32), "PORT": "9090", "HOST": "10.0.0.1", "LOG_LEVEL": "debug"]
        // act
        let (fromEnv, envLogger) = try ServiceConfiguration.load(environment: env, flags: CommandLineOverrides())
        let (flagged, flagLogger) = try ServiceConfiguration.load(
            environment: env, flags: CommandLineOverrides(port: 7070, migrationsDirectory: "/srv/migrations", logLevel: "error"))
        // check
        #expect(fromEnv.port == 9090 && fromEnv.host == "10.0.0.1" && envLogger.logLevel == .debug)
        #expect(flagged.port == 7070 && flagged.host == "10.0.0.1" && flagged.migrationsDirectory == "/srv/migrations")
        #expect(flagLogger.logLevel == .error)
    }

    @Test("two replicas migrating one database at once apply each file once")
    func concurrentMigrations() async throws {
        // setup: an empty database, not the migrated template
        let template = try await TestPostgres.shared.makeDatabase()
        let name = "empty_\(UUID().uuidString.prefix(8).lowercased())"
        try await TestPostgres.shared.admin("CREATE DATABASE \(name)")
        var config = ServiceConfiguration(
            database: DatabaseSettings(host: template.host, port: template.port, user: "postgres", password: nil, database: name),
            signingSecret: String(repeating: "k", count: 32), enrollmentToken: nil)
        config.migrationsDirectory = TestPostgres.migrationsDirectory
        let logger = Logger(label: "migrate-test")
        // act
        async let first = migrateDatabase(configuration: config, logger: logger)
        async let second = migrateDatabase(configuration: config, logger: logger)
        let (a, b) = try await (first, second)
        let again = try await migrateDatabase(configuration: config, logger: logger)
        // check
        let files = try Migrator(directory: config.migrationsDirectory, logger: logger).files().map(\.name)
        #expect((a + b).sorted() == files.sorted())
        #expect(again.isEmpty)
    }

    @Test("an unreachable database fails start-up with one clear line, within the deadline")
    func unreachableDatabase() async throws {
        var config = ServiceConfiguration(
            database: DatabaseSettings(host: "127.0.0.1", port: 1, user: "postgres", password: nil, database: "none"),
            signingSecret: String(repeating: "k", count: 32), enrollmentToken: nil)
        config.migrationsDirectory = TestPostgres.migrationsDirectory
        var logger = Logger(label: "unreachable")
        logger.logLevel = .critical
        do {
            _ = try await migrateDatabase(configuration: config, logger: logger, timeoutSeconds: 2)
            Issue.record("migrating against a closed port succeeded")
        } catch let error as StartupError {
            #expect(error.description.contains("127.0.0.1:1"))
        }
    }
}
