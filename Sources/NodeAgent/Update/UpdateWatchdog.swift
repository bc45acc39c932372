import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs from the previous binary while the new one starts: if the new agent dies, or has not
/// reached the server by the deadline, the watchdog restores the previous binary, records why,
/// and starts the previous agent again. It is old, trusted code, so a broken new binary cannot
/// break its own rollback.
public struct UpdateWatchdog: Sendable {
    public var commandId: UUID
    /// The agent process (its pid does not change across the exec).
    public var agentPid: Int32
    public var stateDirectory: String
    public var healthTimeout: Duration
    /// The agent's original argv, to start the restored binary with.
    public var relaunchArguments: [String]
    let logger: Logger
    let pollInterval: Duration
    /// Becomes the restored agent: execs `path` with `arguments`; returns errno only on failure.
    let relaunch: @Sendable (_ path: String, _ arguments: [String]) -> Int32

    public init(
        commandId: UUID, agentPid: Int32, stateDirectory: String, healthTimeout: Duration, relaunchArguments: [String],
        logger: Logger, pollInterval: Duration = .milliseconds(200),
        relaunch: @escaping @Sendable (_ path: String, _ arguments: [String]) -> Int32 = AgentRestart.replaceProcess(with:arguments:)
    ) {
        self.commandId = commandId
        self.agentPid = agentPid
        self.stateDirectory = stateDirectory
        self.healthTimeout = healthTimeout
        self.relaunchArguments = relaunchArguments
        self.logger = logger
        self.pollInterval = pollInterval
        self.relaunch = relaunch
    }

    /// Watches until the update stands or is rolled back; returns the exit status (after a
    /// rollback that restarts the agent, it does not return: the process becomes the agent).
    public func run() async throws -> Int32 {
        let store = try AgentStore(directory: stateDirectory, bufferCap: .max)
        let startTime = LeftoverProcesses.startTime(of: agentPid)
        let deadline = ContinuousClock.now + healthTimeout
        while true {
            guard let update = try await store.agentUpdate(commandId) else { return 0 }
            switch update.phase {
            case .healthy, .rolledBack: return 0
            case .swapped, .started: break
            }
            if !Self.isAlive(agentPid, startTime: startTime) {
                return try await rollBack(
                    update, store: store, reason: "the new agent (version \(update.toVersion)) exited before it reached the server")
            }
            if ContinuousClock.now >= deadline {
                return try await rollBack(
                    update, store: store,
                    reason: "the new agent (version \(update.toVersion)) did not reach the server within \(healthTimeout.components.seconds) s",
                    stopAgent: true)
            }
            try await Task.sleep(for: pollInterval)
        }
    }

    private func rollBack(_ update: AgentUpdateRecord, store: AgentStore, reason: String, stopAgent: Bool = false) async throws -> Int32 {
        // Claiming the rollback first means the new agent can no longer mark itself healthy.
        guard try await store.setAgentUpdatePhase(commandId, to: .rolledBack, reason: "rolled back to \(update.fromVersion): \(reason)")
        else { return 0 }
        logger.error("rolling back the agent update", metadata: ["command_id": "\(commandId)", "reason": "\(reason)"])
        if stopAgent { await terminate(agentPid) }
        guard rename(update.backupPath, update.binaryPath) == 0 else {
            logger.critical(
                "could not restore the previous agent binary",
                metadata: ["backup": "\(update.backupPath)", "error": "\(String(cString: strerror(errno)))"])
            return 1
        }
        // The old agent's start-up finishes the invocation as failed with the reason above.
        try? await Task.sleep(for: .seconds(1))
        guard StateDirectoryLock.isFree(in: stateDirectory) else {
            logger.notice("a supervisor already restarted the agent; watchdog done")
            return 0
        }
        logger.notice("starting the previous agent binary", metadata: ["binary": "\(update.binaryPath)"])
        let error = relaunch(update.binaryPath, relaunchArguments)
        logger.critical("could not start the restored agent", metadata: ["error": "\(String(cString: strerror(error)))"])
        return 1
    }

    /// SIGTERM, then SIGKILL after 10 s.
    private func terminate(_ pid: Int32) async {
        let startTime = LeftoverProcesses.startTime(of: pid)
        kill(pid, SIGTERM)
        for _ in 0..<50 {
            if !Self.isAlive(pid, startTime: startTime) { return }
            try? await Task.sleep(for: .milliseconds(200))
        }
        kill(pid, SIGKILL)
        for _ in 0..<25 where Self.isAlive(pid, startTime: startTime) { try? await Task.sleep(for: .milliseconds(200)) }
    }

    /// Alive and still the same process: not gone, not a zombie waiting for its parent, not a reused pid.
    static func isAlive(_ pid: Int32, startTime: UInt64?) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM, let stat = ProcessStat.read(pid: pid), !stat.hasExited else { return false }
        return startTime == nil || stat.startTime == startTime
    }
}
