import FleetSupport
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The whole agent: identity, store, poller, scheduler, uploader and status reporter in one
/// `ServiceGroup`.
///
/// Start it from `main` with ``runUntilSignalled()`` (SIGTERM/SIGINT shut it down gracefully),
/// or in-process as a `Service` inside a test's own `ServiceGroup`.
public struct NodeAgentApp: Service {
    public let configuration: AgentConfiguration
    let logger: Logger
    let transport: (any AgentTransport)?
    let runner: any ProcessRunner
    /// Set when an UpdateAgent swapped the binary: `main` execs into it after ``run()`` returns.
    public let restart = RestartCoordinator()

    /// An agent for `configuration`; `transport` and `runner` replace the network and process
    /// execution in tests (nil transport = AsyncHTTPClient to `serverURL`).
    public init(
        configuration: AgentConfiguration, logger: Logger = Logger(label: "node-agent"),
        transport: (any AgentTransport)? = nil, runner: any ProcessRunner = SubprocessRunner()
    ) {
        self.configuration = configuration
        self.logger = logger
        self.transport = transport
        self.runner = runner
    }

    /// Runs with SIGTERM and SIGINT as graceful shutdown signals; returns after a clean stop.
    public func runUntilSignalled() async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: self, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    public func run() async throws {
        try configuration.validate()
        // A full state dir is waited out (logged once), never a reason to exit: under a
        // supervisor that would be a crash loop with the node dark.
        guard let store = try await waitingForSpace("open the store", { try openStore() }) else { return }
        // Held until this process exits or execs: one agent per store.
        let lock = try await StateDirectoryLock.acquire(in: configuration.stateDirectory)
        defer { withExtendedLifetime(lock) {} }
        let doorbells = Doorbells()
        // The moment a call gets through after an outage, every loop retries at once.
        let link = LinkMonitor(onRestored: { doorbells.ringAll() })
        let api = AgentAPI(transport: transport ?? HTTPClientTransport(
                baseURL: configuration.serverURL, client: HTTPClientTransport.agentClient(trust: configuration.trust)), link: link)
        let identity = IdentityManager(api: api, configuration: configuration, logger: logger)
        // Registration may wait for the server; a SIGTERM meanwhile ends it.
        let nodeId = try await cancelWhenGracefulShutdown { try await identity.nodeId() }
        var logger = logger
        logger[metadataKey: "node_id"] = "\(nodeId)"
        guard try await waitingForSpace("settle interrupted invocations", { try await reportInterrupted(store: store, logger: logger) }) != nil
        else { return }
        let pendingUpdate = PendingAgentUpdate(store: store, logger: logger)
        guard try await waitingForSpace("settle a pending update", { try await pendingUpdate.resolveAtStart() }) != nil else { return }

        let group = try await serviceGroup(
            store: store, api: api, link: link, doorbells: doorbells, identity: identity, pendingUpdate: pendingUpdate,
            logger: logger)
        restart.onRequest { await group.triggerGracefulShutdown() }
        logger.notice(
            "node-agent started",
            metadata: [
                "version": "\(NodeAgentVersion.current)", "server": "\(configuration.serverURL)",
                "malloc_tuned": "\(MemoryTuning.applied)",
            ])
        try await group.run()
        logger.notice("node-agent stopped")
    }

    private func openStore() throws -> AgentStore {
        do {
            return try AgentStore(directory: configuration.stateDirectory, bufferCap: configuration.bufferCapBytes)
        } catch  where AgentStore.isOutOfSpace(error, directory: configuration.stateDirectory) {
            throw error
        } catch {
            throw AgentError.stateDirectory(path: configuration.stateDirectory, reason: "cannot open the store: \(error)")
        }
    }

    /// Runs a start-up step, repeating it while the state dir is full; nil when the agent is told
    /// to stop meanwhile.
    private func waitingForSpace<T>(
        _ step: String, retryEvery interval: Duration = .seconds(2), _ operation: () async throws -> T
    ) async throws -> T? {
        var logged = false
        while true {
            do {
                let value = try await operation()
                if logged { logger.notice("state dir has room again; starting", metadata: ["step": "\(step)"]) }
                return value
            } catch  where AgentStore.isOutOfSpace(error, directory: configuration.stateDirectory) {
                if !logged {
                    let free = StoreReserve.freeBytes(configuration.stateDirectory).map(String.init) ?? "unknown"
                    logger.error(
                        "state dir full; waiting for space before starting",
                        metadata: ["step": "\(step)", "free_bytes": "\(free)", "error": "\(error)"])
                    logged = true
                }
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                } catch {
                    return nil
                }
            }
        }
    }

    /// Invocations that were running when the previous process died are reported lost, and
    /// what they left running is killed.
    private func reportInterrupted(store: AgentStore, logger: Logger) async throws {
        let lost = try await store.markInterruptedAsLost(reason: "node-agent restarted while the command ran")
        for invocation in lost {
            let killed = LeftoverProcesses.killGroup(leader: invocation.pid, startTime: invocation.pidStartTime)
            logger.warning(
                "invocation was running when the agent stopped; reporting it lost",
                metadata: ["command_id": "\(invocation.commandId)", "leftover_processes_killed": "\(killed)"])
        }
    }

    /// The loops' doorbells: uploads and reports ring each other; all ring when the link is back.
    struct Doorbells: Sendable {
        let uploads = Wakeup()
        let reports = Wakeup()
        let polls = Wakeup()

        func ringAll() {
            uploads.ring()
            reports.ring()
            polls.ring()
        }
    }

    /// The agent's services, wired to each other through the doorbells.
    private func serviceGroup(
        store: AgentStore, api: AgentAPI, link: LinkMonitor, doorbells: Doorbells, identity: IdentityManager,
        pendingUpdate: PendingAgentUpdate, logger: Logger
    ) async throws -> ServiceGroup {
        let uploads = doorbells.uploads
        let reports = doorbells.reports
        let updater = AgentUpdater(
            store: store, downloader: HTTPArtifactDownloader(serverURL: configuration.serverURL, trust: configuration.trust),
            token: { try await identity.token() }, restart: restart, stateDirectory: configuration.stateDirectory,
            healthTimeout: configuration.updateHealthTimeout, logger: logger)
        let executor = InvocationExecutor(
            store: store, runner: runner, configuration: configuration, logger: logger,
            onProgress: {
                uploads.ring()
                reports.ring()
            }, updater: updater)
        let scheduler = InvocationScheduler(
            store: store, executor: executor, parallelism: configuration.parallelism, logger: logger)
        for invocation in try await store.invocations(in: .received) { scheduler.enqueue(invocation.commandId) }

        let reporter = StatusReporter(
            api: api, identity: identity, store: store, wakeup: reports, flushTimeout: configuration.shutdownFlushTimeout,
            logger: logger, onCancelRequested: { await scheduler.cancel($0) })
        let uploader = ChunkUploader(
            api: api, identity: identity, store: store, wakeup: uploads, flushTimeout: configuration.shutdownFlushTimeout,
            logger: logger, format: configuration.uploadFormat, onAcknowledged: { reports.ring() },
            onDrained: { MemoryTuning.releaseFreeMemory() })
        let poller = WorkPoller(
            api: api, identity: identity, store: store, scheduler: scheduler, waitSeconds: configuration.pollWaitSeconds,
            logger: logger, wakeup: doorbells.polls, onRecorded: { reports.ring() },
            onPolled: {
                // Only a confirmed update leaves something to send; idle polls wake nobody.
                if await pendingUpdate.serverReached() {
                    reports.ring()
                    uploads.ring()
                }
            })

        // Shutdown runs in reverse order: stop polling, stop processes (their output lands in
        // SQLite), deliver output, then deliver final states.
        let services: [any Service] = [
            LinkProbe(api: api, link: link), reporter, uploader, StorePruner(store: store, logger: logger), scheduler, poller,
        ]
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map {
                    .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                logger: logger))
    }
}

extension NodeAgentApp: CustomStringConvertible {
    /// ServiceLifecycle logs services by description; the default would print the configuration.
    public var description: String { "NodeAgentApp(node: \(configuration.nodeId ?? "<from identity>"))" }
}
