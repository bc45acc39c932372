import AgentService
import ArgumentParser
import FleetAuth
import Foundation
import Logging

@main
struct AgentServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-svc",
        abstract: "Fleet control plane: node registry, command queue and log store over Postgres.",
        discussion: """
            Configuration comes from the environment (JWT_SIGNING_SECRET, DB_HOST, DB_PORT, DB_USER, DB_PASSWORD,
            DB_NAME or DATABASE_URL, PORT, ENROLLMENT_TOKEN, MIGRATIONS_DIR); flags override it.
            """,
        subcommands: [Serve.self, Migrate.self, OperatorToken.self],
        defaultSubcommand: Serve.self)
}

/// Flags shared by the subcommands that talk to Postgres.
struct ServiceOptions: ParsableArguments {
    @Option(help: "Port to listen on (env PORT, default 8080).") var port: Int?
    @Option(help: "Address to bind (env HOST, default 0.0.0.0).") var host: String?
    @Option(help: "Directory of numbered SQL migrations (env MIGRATIONS_DIR).") var migrationsDir: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error (env LOG_LEVEL).") var logLevel: String?

    func load() throws -> (ServiceConfiguration, Logger) {
        let flags = CommandLineOverrides(port: port, host: host, migrationsDirectory: migrationsDir, logLevel: logLevel)
        do {
            return try ServiceConfiguration.load(environment: ProcessInfo.processInfo.environment, flags: flags)
        } catch {
            throw Fatal(message: error.description)
        }
    }
}

/// A start-up failure printed as one line, exit code 1, no backtrace.
struct Fatal: Error, CustomStringConvertible {
    var message: String
    var description: String { "agent-svc: \(message)" }
}

func exitWithOneLine(_ error: any Error) -> Never {
    let text = String(describing: error)
    FileHandle.standardError.write(Data("\(text.hasPrefix("agent-svc:") ? text : "agent-svc: \(text)")\n".utf8))
    exit(1)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API (default).")
    @OptionGroup var options: ServiceOptions

    func run() async throws {
        do {
            let (config, logger) = try options.load()
            try await serve(configuration: config, logger: logger)
        } catch {
            exitWithOneLine(error)
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations and exit.")
    @OptionGroup var options: ServiceOptions

    func run() async throws {
        do {
            let (config, logger) = try options.load()
            let applied = try await migrateDatabase(configuration: config, logger: logger)
            print(applied.isEmpty ? "migrations: up to date" : "migrations applied: \(applied.joined(separator: ", "))")
        } catch {
            exitWithOneLine(error)
        }
    }
}

struct OperatorToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator-token", abstract: "Print an operator token signed with JWT_SIGNING_SECRET.")
    @Option(help: "Operator name recorded in the audit trail.") var name: String
    @Option(help: "Lifetime in seconds (default 30 days).") var ttl: Int = 30 * 24 * 3600

    func run() async throws {
        do {
            guard let secret = ProcessInfo.processInfo.environment["JWT_SIGNING_SECRET"], !secret.isEmpty else {
                throw Fatal(message: "JWT_SIGNING_SECRET is required but not set")
            }
            guard ttl > 0 else { throw Fatal(message: "--ttl must be positive") }
            guard !name.isEmpty, name.utf8.count <= 128 else { throw Fatal(message: "--name must be 1-128 bytes") }
            let authority = try await TokenAuthority(secret: secret)
            let issued = try await authority.issueOperatorToken(name: name, ttl: TimeInterval(ttl))
            print(issued.token)
        } catch {
            exitWithOneLine(error)
        }
    }
}
