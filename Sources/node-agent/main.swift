import ArgumentParser
import Foundation
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

            Over https the server's certificate is checked against the system trust store, or only the PEM \
            bundle in FLEET_CA_FILE when set. A plain http:// AGENT_SVC_URL to a host that is not loopback is \
            refused unless ALLOW_INSECURE_HTTP=1.

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
        let logger = NodeAgentLauncher.bootstrapLogging(level: logLevel, environment: environment)
        let status: Int32
        if let watchdogCommandId {
            status = try await NodeAgentLauncher.runWatchdog(
                commandId: watchdogCommandId, agentPid: watchPid, stateDirectory: stateDirectory,
                healthTimeout: watchdogHealthTimeout, relaunchArguments: relaunchArguments)
        } else {
            status = await NodeAgentLauncher.runAgent(settings, environment: environment, logger: logger)
        }
        if status != 0 { throw ExitCode(status) }
    }

    var settings: AgentSettings {
        var settings = AgentSettings()
        settings.serverURL = serverURL
        settings.enrollmentToken = enrollmentToken
        settings.nodeId = nodeId
        settings.nodeAttrs = nodeAttrs
        settings.stateDirectory = stateDirectory
        settings.parallelism = parallelism
        settings.bufferCap = bufferCap
        settings.updateHealthTimeout = updateHealthTimeout
        settings.logLevel = logLevel
        return settings
    }
}
