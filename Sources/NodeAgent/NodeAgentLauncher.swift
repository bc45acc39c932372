import Foundation
import Logging

/// What `main` does, kept here so the executable stays a list of flags: logging, the agent or
/// its update watchdog, the exec into a new binary, and the exit status.
public enum NodeAgentLauncher {
    /// Exit status when the configuration or the node's identity is refused (restarting will not help).
    public static let refusedStatus: Int32 = 78
    /// Exit status when the watchdog's own arguments are incomplete.
    public static let usageStatus: Int32 = 64

    /// Sends swift-log to stderr at `level` (`LOG_LEVEL` when nil); returns the agent's logger.
    public static func bootstrapLogging(level: String?, environment: [String: String]) -> Logger {
        let level = (level ?? environment["LOG_LEVEL"]).flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "node-agent")
    }

    /// Runs the agent until SIGTERM/SIGINT, then execs into an updated binary if one was
    /// installed; returns the exit status.
    public static func runAgent(_ flags: AgentSettings, environment: [String: String], logger: Logger) async -> Int32 {
        do {
            let app = NodeAgentApp(configuration: try AgentConfiguration.resolve(flags, environment: environment), logger: logger)
            try await app.runUntilSignalled()
            if let plan = app.restart.plan {
                try AgentRestart.exec(plan, arguments: CommandLine.arguments, logger: logger)
            }
            return 0
        } catch let error as AgentError {
            logger.critical("node-agent cannot continue: \(error)")
            return refusedStatus
        } catch {
            logger.critical("node-agent failed: \(error)")
            return 1
        }
    }

    /// The update watchdog (see ``UpdateWatchdog``); returns its status unless it becomes the agent.
    public static func runWatchdog(
        commandId: String, agentPid: Int32?, stateDirectory: String?, healthTimeout: Int?, relaunchArguments: [String]
    ) async throws -> Int32 {
        var logger = Logger(label: "node-agent-update-watchdog")
        logger[metadataKey: "watchdog_pid"] = "\(getpid())"
        guard let id = UUID(uuidString: commandId), let agentPid, let stateDirectory, let healthTimeout else {
            logger.critical("--update-watchdog needs --watch-pid, --state-dir and --health-timeout")
            return usageStatus
        }
        let watchdog = UpdateWatchdog(
            commandId: id, agentPid: agentPid, stateDirectory: stateDirectory, healthTimeout: .seconds(healthTimeout),
            relaunchArguments: relaunchArguments, logger: logger)
        return try await watchdog.run()
    }
}
