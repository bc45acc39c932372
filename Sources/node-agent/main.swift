import ArgumentParser
import Foundation
import Logging
import NodeAgent

/// `node-agent`: registers this node with agent-svc, runs the commands it is given, and
/// streams their output back. Every option also reads an environment variable.
@main
struct NodeAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node-agent",
        abstract: "Fleet node agent: long-polls agent-svc for commands, runs them, streams their output.",
        discussion: """
            Every option falls back to an environment variable: AGENT_SVC_URL, ENROLLMENT_TOKEN, NODE_ID, \
            NODE_ATTRS, STATE_DIR, AGENT_PARALLELISM, AGENT_BUFFER_CAP, LOG_LEVEL. Prefer the environment for \
            ENROLLMENT_TOKEN: flags are visible in the process list. Once registered, the identity file in \
            STATE_DIR (mode 0600) is reused and remembers the server URL.

            Exit status: 0 after SIGTERM/SIGINT; 78 when the configuration or the node's identity is refused \
            (restarting will not help); 1 otherwise.
            """,
        version: NodeAgentVersion.current)

    @Option(name: .customLong("agent-svc-url"), help: "agent-svc base URL (AGENT_SVC_URL).")
    var serverURL: String?

    @Option(name: .customLong("enrollment-token"), help: "Token for the first registration (ENROLLMENT_TOKEN).")
    var enrollmentToken: String?

    @Option(name: .customLong("node-id"), help: "Node id; default the host name (NODE_ID).")
    var nodeId: String?

    @Option(name: .customLong("node-attrs"), help: "Extra attributes as k=v,k=v (NODE_ATTRS).")
    var nodeAttrs: String?

    @Option(name: .customLong("state-dir"), help: "Directory for the identity file and SQLite store (STATE_DIR).")
    var stateDirectory: String?

    @Option(name: .customLong("parallelism"), help: "Invocations run at once; default 4 (AGENT_PARALLELISM).")
    var parallelism: Int?

    @Option(name: .customLong("buffer-cap"), help: "Unacknowledged output kept locally, e.g. 256M (AGENT_BUFFER_CAP).")
    var bufferCap: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (LOG_LEVEL).")
    var logLevel: String?

    @Option(
        name: .customLong("update-health-timeout"),
        help: "Seconds a new agent binary has to reach the server before it is rolled back; default 60 (AGENT_UPDATE_HEALTH_TIMEOUT).")
    var updateHealthTimeout: Int?

    // Set by an agent that is about to exec into a new binary: this process is then the
    // watchdog (run from the previous binary) that rolls the update back if it fails.
    @Option(name: .customLong("update-watchdog"), help: .hidden)
    var watchdogCommandId: String?

    @Option(name: .customLong("watch-pid"), help: .hidden)
    var watchPid: Int32?

    @Option(name: .customLong("health-timeout"), help: .hidden)
    var watchdogHealthTimeout: Int?

    @Argument(parsing: .postTerminator, help: .hidden)
    var relaunchArguments: [String] = []

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let level = (logLevel ?? environment["LOG_LEVEL"]).flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "node-agent")
        if let watchdogCommandId { return try await runWatchdog(commandId: watchdogCommandId, environment: environment) }
        do {
            let configuration = try makeConfiguration(environment)
            let app = NodeAgentApp(configuration: configuration, logger: logger)
            try await app.runUntilSignalled()
            if let plan = app.restart.plan {
                try AgentRestart.exec(plan, arguments: CommandLine.arguments, logger: logger)
            }
        } catch let error as AgentError {
            logger.critical("node-agent cannot continue: \(error)")
            throw ExitCode(78)
        } catch {
            logger.critical("node-agent failed: \(error)")
            throw ExitCode.failure
        }
    }

    /// The update watchdog (see ``UpdateWatchdog``); exits with its status unless it becomes the agent.
    func runWatchdog(commandId: String, environment: [String: String]) async throws {
        var logger = Logger(label: "node-agent-update-watchdog")
        logger[metadataKey: "watchdog_pid"] = "\(getpid())"
        guard let id = UUID(uuidString: commandId), let pid = watchPid, let stateDirectory,
            let seconds = watchdogHealthTimeout
        else {
            logger.critical("--update-watchdog needs --watch-pid, --state-dir and --health-timeout")
            throw ExitCode(64)
        }
        let watchdog = UpdateWatchdog(
            commandId: id, agentPid: pid, stateDirectory: stateDirectory, healthTimeout: .seconds(seconds),
            relaunchArguments: relaunchArguments, logger: logger)
        let status = try await watchdog.run()
        if status != 0 { throw ExitCode(status) }
    }

    /// Flags win over the environment.
    func makeConfiguration(_ environment: [String: String]) throws -> AgentConfiguration {
        func value(_ flag: String?, _ name: String) -> String? {
            (flag ?? environment[name]).flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let stateDirectory = value(stateDirectory, "STATE_DIR") else {
            throw AgentError.invalidConfiguration("STATE_DIR (or --state-dir) is required")
        }
        // A registered node remembers its server; the flag or variable still wins.
        let remembered = try? IdentityFile(stateDirectory: stateDirectory).load()?.serverURL
        guard let serverURL = value(serverURL, "AGENT_SVC_URL") ?? remembered else {
            throw AgentError.invalidConfiguration("AGENT_SVC_URL (or --agent-svc-url) is required")
        }
        var configuration = AgentConfiguration(
            serverURL: serverURL, enrollmentToken: value(enrollmentToken, "ENROLLMENT_TOKEN"),
            nodeId: value(nodeId, "NODE_ID"),
            nodeAttrs: try AgentConfiguration.parseAttributes(value(nodeAttrs, "NODE_ATTRS") ?? ""),
            stateDirectory: stateDirectory)
        if let text = value(parallelism.map(String.init), "AGENT_PARALLELISM") {
            guard let number = Int(text) else { throw AgentError.invalidConfiguration("parallelism '\(text)' is not a number") }
            configuration.parallelism = number
        }
        if let text = value(updateHealthTimeout.map(String.init), "AGENT_UPDATE_HEALTH_TIMEOUT") {
            guard let seconds = Int(text), seconds > 0 else {
                throw AgentError.invalidConfiguration("update health timeout '\(text)' is not a positive number of seconds")
            }
            configuration.updateHealthTimeout = .seconds(seconds)
        }
        if let text = value(bufferCap, "AGENT_BUFFER_CAP") {
            configuration.bufferCapBytes = try AgentConfiguration.parseByteSize(text)
        }
        try configuration.validate()
        return configuration
    }
}
