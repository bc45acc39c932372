import Foundation
import Logging
import PostgresNIO

/// Why agent-svc refuses to start; each message is one line an operator can act on.
public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case invalid(name: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let name): "\(name) is required but not set"
        case .invalid(let name, let reason): "\(name) is invalid: \(reason)"
        }
    }
}

/// Where the Postgres database is.
public struct DatabaseSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String

    public init(host: String, port: Int, user: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// PostgresNIO client configuration; TLS off, as on the compose network and loopback.
    public var clientConfiguration: PostgresClient.Configuration {
        PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
    }

    /// A single-connection configuration (the LISTEN connection).
    public var connectionConfiguration: PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
    }

    /// Parses `postgres://user:pass@host:port/db`.
    public static func fromURL(_ text: String) throws(ConfigurationError) -> DatabaseSettings {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
            let host = url.host, !host.isEmpty
        else { throw .invalid(name: "DATABASE_URL", reason: "expected postgres://user:password@host:port/database") }
        let database = String(url.path.drop(while: { $0 == "/" }))
        return DatabaseSettings(
            host: host, port: url.port ?? 5432, user: url.user ?? "postgres", password: url.password,
            database: database.isEmpty ? "fleet" : database)
    }
}

/// What the command line sets; each flag given wins over its environment variable.
public struct CommandLineOverrides: Sendable, Equatable {
    public var port: Int?
    public var host: String?
    public var migrationsDirectory: String?
    /// `trace` … `critical`; wins over `LOG_LEVEL`.
    public var logLevel: String?

    public init(port: Int? = nil, host: String? = nil, migrationsDirectory: String? = nil, logLevel: String? = nil) {
        self.port = port
        self.host = host
        self.migrationsDirectory = migrationsDirectory
        self.logLevel = logLevel
    }
}

/// Everything agent-svc needs to run, read from the environment with the command line laid over it.
public struct ServiceConfiguration: Sendable {
    public var host: String = "0.0.0.0"
    public var port: Int = 8080
    public var database: DatabaseSettings
    public var signingSecret: String
    /// Nodes present this to register; nil disables registration.
    public var enrollmentToken: String?
    public var migrationsDirectory: String = "migrations"
    /// How long a delivered invocation is leased before it is delivered again.
    public var leaseSeconds: Int = 60
    /// How long an invocation may wait for its node before it expires.
    public var deliveryTimeoutSeconds: Int = 3600
    /// A node seen within this window is online.
    public var onlineWindowSeconds: Int = 60
    /// A running invocation whose node has not been seen for this long is lost.
    public var lostAfterSeconds: Int = 900
    /// How often undelivered invocations are expired and vanished runs marked lost.
    public var reaperIntervalSeconds: Int = 5
    /// Longest a long-poll may be held.
    public var maxWaitSeconds: Int = 30
    /// Request bodies larger than this are refused with 413.
    public var maxBodyBytes: Int = 8 * 1024 * 1024
    /// Largest artifact an operator may upload (an agent binary is ~20-80 MB).
    public var maxArtifactBytes: Int = 256 * 1024 * 1024
    /// Largest decoded chunk accepted.
    public var maxChunkBytes: Int = 1024 * 1024
    /// Lifetime of node tokens.
    public var nodeTokenTTLSeconds: Int = 24 * 3600
    /// Output of invocations that finished longer ago than this is dropped.
    public var logRetentionDays: Int = 30
    /// Commands created longer ago than this (all of their invocations finished) are deleted.
    public var historyRetentionDays: Int = 365
    /// Timeouts and caps of the HTTP layer.
    public var edge = EdgeLimits()
    /// `MAX_CONNECTIONS` as given; the cap in force also fits the descriptor limit.
    public var requestedMaxConnections: Int?
    /// After SIGTERM, requests still open this long are cut off and the process exits.
    public var shutdownGraceSeconds: Int = 10
    /// `TLS_CERT_FILE` and `TLS_KEY_FILE`: HTTPS with these PEM files (re-read on SIGHUP);
    /// nil serves plain HTTP, for behind Kong or on loopback.
    public var tls: TLSFiles?

    public init(database: DatabaseSettings, signingSecret: String, enrollmentToken: String?) {
        self.database = database
        self.signingSecret = signingSecret
        self.enrollmentToken = enrollmentToken
    }

    /// Reads the documented variables: `JWT_SIGNING_SECRET`, `DB_*` or `DATABASE_URL`, `PORT`,
    /// `ENROLLMENT_TOKEN`, `MIGRATIONS_DIR`, plus the tuning knobs.
    public static func fromEnvironment(_ env: [String: String]) throws(ConfigurationError) -> ServiceConfiguration {
        guard let secret = env["JWT_SIGNING_SECRET"], !secret.isEmpty else { throw .missing("JWT_SIGNING_SECRET") }
        guard secret.utf8.count >= 32 else {
            throw .invalid(name: "JWT_SIGNING_SECRET", reason: "must be at least 32 bytes (got \(secret.utf8.count))")
        }
        let database: DatabaseSettings
        if let url = env["DATABASE_URL"], !url.isEmpty {
            database = try DatabaseSettings.fromURL(url)
        } else {
            database = DatabaseSettings(
                host: env["DB_HOST"] ?? "127.0.0.1", port: try int(env, "DB_PORT") ?? 5432,
                user: env["DB_USER"] ?? "postgres", password: env["DB_PASSWORD"], database: env["DB_NAME"] ?? "fleet")
        }
        let enrollment = env["ENROLLMENT_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        var config = ServiceConfiguration(database: database, signingSecret: secret, enrollmentToken: enrollment)
        if let host = env["HOST"], !host.isEmpty { config.host = host }
        config.port = try int(env, "PORT") ?? config.port
        if let dir = env["MIGRATIONS_DIR"], !dir.isEmpty { config.migrationsDirectory = dir }
        config.leaseSeconds = try int(env, "LEASE_SEC") ?? config.leaseSeconds
        config.deliveryTimeoutSeconds = try int(env, "DELIVERY_TIMEOUT_SEC") ?? config.deliveryTimeoutSeconds
        config.onlineWindowSeconds = try int(env, "ONLINE_WINDOW_SEC") ?? config.onlineWindowSeconds
        config.lostAfterSeconds = try int(env, "LOST_AFTER_SEC") ?? config.lostAfterSeconds
        config.maxBodyBytes = try int(env, "MAX_BODY_BYTES") ?? config.maxBodyBytes
        config.maxArtifactBytes = try int(env, "ARTIFACT_MAX_BYTES") ?? config.maxArtifactBytes
        config.logRetentionDays = try int(env, "LOG_RETENTION_DAYS") ?? config.logRetentionDays
        config.historyRetentionDays = try int(env, "HISTORY_RETENTION_DAYS") ?? config.historyRetentionDays
        config.edge.headerTimeout = .seconds(Int64(try int(env, "HTTP_HEADER_TIMEOUT_SEC") ?? 10))
        config.edge.bodyStallTimeout = .seconds(Int64(try int(env, "HTTP_BODY_TIMEOUT_SEC") ?? 30))
        config.edge.idleTimeout = .seconds(Int64(try int(env, "HTTP_IDLE_TIMEOUT_SEC") ?? max(90, config.maxWaitSeconds + 30)))
        config.requestedMaxConnections = try int(env, "MAX_CONNECTIONS")
        config.shutdownGraceSeconds = try int(env, "SHUTDOWN_GRACE_SEC") ?? config.shutdownGraceSeconds
        switch (nonEmpty(env, "TLS_CERT_FILE"), nonEmpty(env, "TLS_KEY_FILE")) {
        case (let certificate?, let key?): config.tls = TLSFiles(certificate: certificate, key: key)
        case (nil, nil): break
        case (nil, _?): throw .invalid(name: "TLS_CERT_FILE", reason: "must be set with TLS_KEY_FILE (HTTPS needs both)")
        case (_?, nil): throw .invalid(name: "TLS_KEY_FILE", reason: "must be set with TLS_CERT_FILE (HTTPS needs both)")
        }
        guard config.edge.idleTimeout > .seconds(Int64(config.maxWaitSeconds)) else {
            throw .invalid(name: "HTTP_IDLE_TIMEOUT_SEC", reason: "must be longer than the longest long-poll (\(config.maxWaitSeconds) s)")
        }
        guard config.historyRetentionDays >= config.logRetentionDays else {
            throw .invalid(name: "HISTORY_RETENTION_DAYS", reason: "must not be shorter than LOG_RETENTION_DAYS")
        }
        return config
    }

    /// The environment's configuration with `flags` laid over it, and the logger at the chosen level.
    public static func load(
        environment env: [String: String], flags: CommandLineOverrides
    ) throws(ConfigurationError) -> (ServiceConfiguration, Logger) {
        var config = try fromEnvironment(env)
        if let port = flags.port { config.port = port }
        if let host = flags.host { config.host = host }
        if let directory = flags.migrationsDirectory { config.migrationsDirectory = directory }
        var logger = Logger(label: "agent-svc")
        logger.logLevel = Logger.Level(rawValue: flags.logLevel ?? env["LOG_LEVEL"] ?? "info") ?? .info
        return (config, logger)
    }

    private static func nonEmpty(_ env: [String: String], _ name: String) -> String? {
        env[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    private static func int(_ env: [String: String], _ name: String) throws(ConfigurationError) -> Int? {
        guard let text = env[name], !text.isEmpty else { return nil }
        guard let value = Int(text), value > 0 else { throw .invalid(name: name, reason: "expected a positive integer") }
        return value
    }
}

/// The PEM files agent-svc serves HTTPS with: the certificate (its chain after it) and the key.
public struct TLSFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}
