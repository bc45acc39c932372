import FleetAuth
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import UnixSignals

/// Why start-up stopped; `main` prints it as one line.
public enum StartupError: Error, CustomStringConvertible {
    case databaseTimeout(host: String, port: Int, seconds: Int)

    public var description: String {
        switch self {
        case .databaseTimeout(let host, let port, let seconds):
            "could not reach Postgres at \(host):\(port) within \(seconds) s (check DB_HOST/DB_PORT and that it is running)"
        }
    }
}

/// Runs `operation` with `client` running, failing after `seconds`: PostgresNIO would retry
/// silently for a minute and then crash, where an operator needs one clear line.
public func withRunningClient<T: Sendable>(
    _ client: PostgresClient, settings: DatabaseSettings, timeoutSeconds: Int,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await client.run()
            return nil
        }
        group.addTask {
            try await withThrowingTaskGroup(of: T?.self) { inner in
                inner.addTask { try await operation() }
                inner.addTask {
                    try await Task.sleep(for: .seconds(timeoutSeconds))
                    throw StartupError.databaseTimeout(host: settings.host, port: settings.port, seconds: timeoutSeconds)
                }
                defer { inner.cancelAll() }
                return try await inner.next() ?? nil
            }
        }
        defer { group.cancelAll() }
        while let value = try await group.next() {
            if let value { return value }
        }
        throw CancellationError()
    }
}

/// Applies migrations within a start-up deadline.
public func migrateDatabase(configuration: ServiceConfiguration, logger: Logger, timeoutSeconds: Int = 30) async throws -> [String] {
    let client = PostgresClient(configuration: configuration.database.clientConfiguration, backgroundLogger: logger)
    let migrator = Migrator(directory: configuration.migrationsDirectory, logger: logger)
    return try await withRunningClient(client, settings: configuration.database, timeoutSeconds: timeoutSeconds) {
        try await migrator.migrate(client)
    }
}

/// Serves until SIGTERM/SIGINT: migrates first (bounded), then runs the HTTP server, the pool,
/// the change listener and the reaper in one service group.
public func serve(configuration: ServiceConfiguration, logger: Logger) async throws {
    let tokens = try await TokenAuthority(secret: configuration.signingSecret)
    // Before anything else: a certificate that does not load is a one-line start-up failure.
    let certificate = try configuration.tls.map { files throws(ServerCertificateError) in try ServerCertificate(files: files) }
    _ = try await migrateDatabase(configuration: configuration, logger: logger)
    let client = PostgresClient(configuration: configuration.database.clientConfiguration, backgroundLogger: logger)
    var configuration = configuration
    let descriptors = DescriptorLimit.raiseToHard()
    configuration.edge.maxConnections = EdgeLimits.connectionCap(
        descriptorLimit: descriptors, wanted: configuration.requestedMaxConnections)
    let (app, _) = buildApplication(
        configuration: configuration, logger: logger, tokens: tokens, client: client, certificate: certificate)
    logger.info(
        "agent-svc listening",
        metadata: [
            "address": "\(configuration.host):\(configuration.port)",
            "scheme": "\(certificate == nil ? "http" : "https")",
            "max_connections": "\(configuration.edge.maxConnections)",
        ])
    // A graceful shutdown waits for open requests, but not for a client that never finishes
    // its body: past the grace period they are cancelled, and past a second one abandoned.
    var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    group.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
    group.maximumCancellationDuration = .seconds(5)
    try await ServiceGroup(configuration: group).run()
}
