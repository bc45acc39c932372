import FleetAuth
import Foundation
import Hummingbird
import HummingbirdCore
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

/// The stores over one database, made once per application and shared by the routes and the reaper.
struct ServiceStores: Sendable {
    let nodes: NodeStore
    let queue: CommandQueue
    let logs: LogChunkStore
    let artifacts: ArtifactStore
    let operatorTokens: OperatorTokenStore
    /// This application's view of the operator-token record, kept current by the change listener.
    let operatorRegistry: OperatorTokenRegistry

    init(configuration: ServiceConfiguration, parts: AgentServiceParts) {
        nodes = NodeStore(database: parts.database, onlineWindowSeconds: configuration.onlineWindowSeconds)
        queue = CommandQueue(
            database: parts.database, leaseSeconds: configuration.leaseSeconds,
            deliveryTimeoutSeconds: configuration.deliveryTimeoutSeconds)
        logs = LogChunkStore(database: parts.database, metrics: parts.metrics, maxChunkBytes: configuration.maxChunkBytes)
        artifacts = ArtifactStore(database: parts.database, maxBytes: Int64(configuration.maxArtifactBytes))
        operatorTokens = OperatorTokenStore(database: parts.database)
        operatorRegistry = OperatorTokenRegistry(store: operatorTokens, logger: parts.database.logger)
    }
}

/// Builds the router with every route of the API.
public func buildRouter(
    configuration: ServiceConfiguration, parts: AgentServiceParts, logger: Logger
) -> Router<FleetRequestContext> {
    buildRouter(configuration: configuration, parts: parts, stores: ServiceStores(configuration: configuration, parts: parts), logger: logger)
}

func buildRouter(
    configuration: ServiceConfiguration, parts: AgentServiceParts, stores: ServiceStores, logger: Logger
) -> Router<FleetRequestContext> {
    let router = Router(context: FleetRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: parts.metrics))
    let routes = RouteTable()
    router.add(middleware: ErrorMiddleware(routes: routes))
    router.add(middleware: ClientAddressMiddleware())
    let registry = stores.operatorRegistry
    parts.notifier.events.observe { event in await registry.handle(event) }
    let auth = Authenticator(tokens: parts.tokens, nodes: stores.nodes, operatorTokens: registry)
    let ttl = TimeInterval(configuration.nodeTokenTTLSeconds)
    let migrator = Migrator(directory: configuration.migrationsDirectory, logger: logger)

    HealthController(
        database: parts.database, migrator: migrator, expectedMigrations: (try? migrator.files().map(\.version)) ?? [],
        queue: stores.queue, metrics: parts.metrics
    ).addRoutes(to: router)
    RegistrationController(
        enrollmentToken: configuration.enrollmentToken, nodes: stores.nodes, auth: auth, tokens: parts.tokens, tokenTTL: ttl
    ).addRoutes(to: router)
    NodeController(
        auth: auth, nodes: stores.nodes, queue: stores.queue, logs: stores.logs, notifier: parts.notifier, tokens: parts.tokens,
        metrics: parts.metrics, tokenTTL: ttl, maxWaitSeconds: configuration.maxWaitSeconds,
        maxBodyBytes: configuration.maxBodyBytes
    ).addRoutes(to: router)
    OperatorController(
        auth: auth, nodes: stores.nodes, queue: stores.queue, logs: stores.logs, artifacts: stores.artifacts,
        notifier: parts.notifier, metrics: parts.metrics, maxWaitSeconds: configuration.maxWaitSeconds,
        maxBodyBytes: configuration.maxBodyBytes
    ).addRoutes(to: router)
    ArtifactController(auth: auth, artifacts: stores.artifacts).addRoutes(to: router)
    OutputController(auth: auth, logs: stores.logs).addRoutes(to: router)
    AccessController(
        auth: auth, store: stores.operatorTokens, registry: registry, audit: AuditReader(database: parts.database)
    ).addRoutes(to: router)
    routes.load(router.routes.map { (path: $0.path.description, method: $0.method) })
    return router
}

/// Builds the whole service: Postgres pool, change listener, reaper and HTTP server in one
/// service group. Migrations must have run (see ``Migrator``) before it serves.
///
/// `clock` times the long-poll deadlines, the reaper's rounds and the listener's reconnects
/// (a test clock in tests).
public func buildApplication(
    configuration: ServiceConfiguration, logger: Logger, tokens: TokenAuthority, client: PostgresClient,
    certificate: ServerCertificate? = nil, clock: any Clock<Duration> = ContinuousClock()
) -> (some ApplicationProtocol, AgentServiceParts) {
    let database = Database(client: client, logger: logger)
    let notifier = ChangeNotifier(configuration: configuration.database.connectionConfiguration, logger: logger, clock: clock)
    let parts = AgentServiceParts(database: database, notifier: notifier, metrics: ServiceMetrics(), tokens: tokens)
    let stores = ServiceStores(configuration: configuration, parts: parts)
    let router = buildRouter(configuration: configuration, parts: parts, stores: stores, logger: logger)
    let reaper = LeaseReaper(
        queue: stores.queue, lostAfterSeconds: configuration.lostAfterSeconds,
        interval: .seconds(configuration.reaperIntervalSeconds), logger: logger, clock: clock)
    let sweeper = RetentionSweeper(
        store: RetentionStore(database: database), outputDays: configuration.logRetentionDays,
        historyDays: configuration.historyRetentionDays, logger: logger, clock: clock)
    let limits = configuration.edge
    var services: [any Service] = [client, notifier, reaper, sweeper]
    if let certificate { services.append(CertificateReloader(certificate: certificate, logger: logger)) }
    let app = Application(
        router: router,
        server: HTTPServerBuilder { responder in EdgeChannel(responder: responder, limits: limits, certificate: certificate) },
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "agent-svc",
            availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)),
        services: services,
        logger: logger)
    return (app, parts)
}
