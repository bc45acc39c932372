import AgentService
import ArgumentParser
import FleetAuth
import FleetProtocol
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
        commandName: "operator-token",
        abstract: "Mint and record an operator token, or list or revoke recorded ones.",
        discussion: """
            Talks to Postgres with the DB_* settings (applying pending migrations first, as serve does): every \
            token is recorded (jti, name, role, lifetime; never the token) so that it can be listed and revoked, \
            and agent-svc accepts only recorded tokens. Roles: viewer reads; operator also submits and cancels; \
            admin also revokes nodes, uploads artifacts, manages operator tokens and reads the audit trail.
            """)
    @Option(help: "Operator name recorded in the audit trail (mint).") var name: String?
    @Option(help: "Role: admin, operator or viewer (default operator).") var role: String = OperatorRole.default.rawValue
    @Option(help: "Lifetime in seconds (default 30 days).") var ttl: Int = 30 * 24 * 3600
    @Flag(help: "List recorded tokens (jti, name, role, issued, expires, revoked) instead of minting.") var list = false
    @Option(help: "Revoke the token with this jti instead of minting.") var revoke: String?
    @OptionGroup var options: ServiceOptions

    func run() async throws {
        do {
            let (config, logger) = try options.load()
            let actor = "host:" + (ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "root")
            let admin = OperatorTokenAdmin(configuration: config, logger: logger, actor: actor)
            guard [list, revoke != nil, name != nil].filter({ $0 }).count == 1 else {
                throw Fatal(message: "give exactly one of --name (mint), --list or --revoke JTI")
            }
            _ = try await migrateDatabase(configuration: config, logger: logger)
            if list {
                print(OperatorTokenTable.render(try await admin.list()), terminator: "")
            } else if let revoke {
                guard let jti = UUID(uuidString: revoke) else { throw Fatal(message: "--revoke wants a token id (a UUID jti)") }
                guard let result = try await admin.revoke(jti: jti) else { throw Fatal(message: "no operator token \(revoke)") }
                print(result.revokedNow ? "revoked \(result.token.jti) (\(result.token.name))" : "already revoked \(result.token.jti)")
            } else if let name {
                guard ttl > 0 else { throw Fatal(message: "--ttl must be positive") }
                guard !name.isEmpty, name.utf8.count <= 128 else { throw Fatal(message: "--name must be 1-128 bytes") }
                guard let role = OperatorRole(rawValue: role) else { throw Fatal(message: "--role must be admin, operator or viewer") }
                print(try await admin.issue(name: name, role: role, ttl: TimeInterval(ttl)).token)
            }
        } catch {
            exitWithOneLine(error)
        }
    }
}

/// `--list` output: one aligned line per token.
enum OperatorTokenTable {
    static func render(_ tokens: [OperatorTokenInfo]) -> String {
        let rows = [["JTI", "NAME", "ROLE", "ISSUED", "EXPIRES", "REVOKED"]] + tokens.map { token in
            [token.jti, token.name, token.role.rawValue, stamp(token.issuedAt), stamp(token.expiresAt), token.revokedAt.map(stamp) ?? "-"]
        }
        let widths = (0..<6).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    static func stamp(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
