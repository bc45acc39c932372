import FleetAuth
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// The parts of a running agent-svc that tests and `main` need to reach.
public struct AgentServiceParts: Sendable {
    public let database: Database
    public let notifier: ChangeNotifier
    public let metrics: ServiceMetrics
    public let tokens: TokenAuthority

    public init(database: Database, notifier: ChangeNotifier, metrics: ServiceMetrics, tokens: TokenAuthority) {
        self.database = database
        self.notifier = notifier
        self.metrics = metrics
        self.tokens = tokens
    }
}

/// Builds the router with every route of the API.
public func buildRouter(
    configuration: ServiceConfiguration, parts: AgentServiceParts, logger: Logger
) -> Router<FleetRequestContext> {
    let router = Router(context: FleetRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: parts.metrics))
    router.add(middleware: ErrorMiddleware())
    let nodes = NodeStore(database: parts.database, onlineWindowSeconds: configuration.onlineWindowSeconds)
    let queue = CommandQueue(
        database: parts.database, leaseSeconds: configuration.leaseSeconds,
        deliveryTimeoutSeconds: configuration.deliveryTimeoutSeconds)
    let logs = LogChunkStore(database: parts.database, metrics: parts.metrics, maxChunkBytes: configuration.maxChunkBytes)
    let auth = Authenticator(tokens: parts.tokens, nodes: nodes)
    let artifacts = ArtifactStore(database: parts.database, maxBytes: Int64(configuration.maxArtifactBytes))
    let ttl = TimeInterval(configuration.nodeTokenTTLSeconds)
    let migrator = Migrator(directory: configuration.migrationsDirectory, logger: logger)

    HealthController(
        database: parts.database, migrator: migrator, expectedMigrations: (try? migrator.files().map(\.version)) ?? [],
        queue: queue, metrics: parts.metrics
    ).addRoutes(to: router)
    RegistrationController(
        enrollmentToken: configuration.enrollmentToken, nodes: nodes, auth: auth, tokens: parts.tokens, tokenTTL: ttl
    ).addRoutes(to: router)
    NodeController(
        auth: auth, nodes: nodes, queue: queue, logs: logs, notifier: parts.notifier, tokens: parts.tokens,
        metrics: parts.metrics, tokenTTL: ttl, maxWaitSeconds: configuration.maxWaitSeconds,
        maxBodyBytes: configuration.maxBodyBytes
    ).addRoutes(to: router)
    OperatorController(
        auth: auth, nodes: nodes, queue: queue, logs: logs, artifacts: artifacts, notifier: parts.notifier,
        metrics: parts.metrics, maxWaitSeconds: configuration.maxWaitSeconds, maxBodyBytes: configuration.maxBodyBytes
    ).addRoutes(to: router)
    ArtifactController(auth: auth, artifacts: artifacts).addRoutes(to: router)
    return router
}

/// Builds the whole service: Postgres pool, change listener, reaper and HTTP server in one
/// service group. Migrations must have run (see ``Migrator``) before it serves.
public func buildApplication(
    configuration: ServiceConfiguration, logger: Logger, tokens: TokenAuthority, client: PostgresClient
) -> (some ApplicationProtocol, AgentServiceParts) {
    let database = Database(client: client, logger: logger)
    let notifier = ChangeNotifier(configuration: configuration.database.connectionConfiguration, logger: logger)
    let parts = AgentServiceParts(database: database, notifier: notifier, metrics: ServiceMetrics(), tokens: tokens)
    let router = buildRouter(configuration: configuration, parts: parts, logger: logger)
    let queue = CommandQueue(
        database: database, leaseSeconds: configuration.leaseSeconds,
        deliveryTimeoutSeconds: configuration.deliveryTimeoutSeconds)
    let reaper = LeaseReaper(
        queue: queue, lostAfterSeconds: configuration.lostAfterSeconds, interval: .seconds(configuration.reaperIntervalSeconds), logger: logger)
    let app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "agent-svc"),
        services: [client, notifier, reaper],
        logger: logger)
    return (app, parts)
}
