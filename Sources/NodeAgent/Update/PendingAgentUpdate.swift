import FleetProtocol
import Foundation
import Logging
import Synchronization

/// Finishes an `UpdateAgent` after the restart it caused: the new agent reports `succeeded`
/// once it has reached the server; an agent that came back on the old version (rolled back by
/// the watchdog, or restarted before the swap took effect) reports `failed` with the reason.
public final class PendingAgentUpdate: Sendable {
    let store: AgentStore
    let logger: Logger
    /// The update waiting for this agent's first successful poll.
    private let awaiting = Mutex<AgentUpdateRecord?>(nil)

    public init(store: AgentStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Settles what the previous process left; call before polling starts.
    public func resolveAtStart(version: String = NodeAgentVersion.current) async throws {
        for update in try await store.unfinishedAgentUpdates() {
            let id = update.commandId
            if update.phase != .rolledBack, version == update.toVersion {
                try await store.setAgentUpdatePhase(id, to: .started)
                awaiting.withLock { $0 = update }
                logger.notice(
                    "running the updated agent; confirming once the server answers",
                    metadata: ["command_id": "\(id)", "from": "\(update.fromVersion)", "to": "\(update.toVersion)"])
                continue
            }
            let reason =
                update.reason
                ?? (version == update.fromVersion
                    ? "the agent restarted on version \(version) before the update took effect"
                    : "the agent restarted as version \(version), expected \(update.toVersion)")
            try await store.setAgentUpdatePhase(id, to: .rolledBack, reason: reason)
            try await store.appendOutputLine(id, reason, stream: .stderr)
            try await store.finish(id, outcome: FinalOutcome(state: .failed, reason: reason, result: .init(agentVersion: version)))
            logger.error("agent update did not stand", metadata: ["command_id": "\(id)", "reason": "\(reason)"])
        }
    }

    /// Called after every successful poll; the first one confirms a waiting update. True when it
    /// recorded a final state (there is a report and output to send).
    @discardableResult
    public func serverReached() async -> Bool {
        guard
            let update = awaiting.withLock({ state -> AgentUpdateRecord? in
                defer { state = nil }
                return state
            })
        else { return false }
        let id = update.commandId
        do {
            if try await store.setAgentUpdatePhase(id, to: .healthy) {
                let message = "updated from \(update.fromVersion) to \(update.toVersion)"
                try await store.appendOutputLine(id, "version \(update.toVersion) is running and reached the server")
                try await store.finish(
                    id, outcome: FinalOutcome(state: .succeeded, exitCode: 0, reason: message, result: .init(agentVersion: update.toVersion)))
                logger.notice("agent update confirmed", metadata: ["command_id": "\(id)", "version": "\(update.toVersion)"])
                return true
            } else {
                // The watchdog gave up on us first; it is stopping this process and restoring the old binary.
                logger.error("agent update was rolled back before this agent reached the server", metadata: ["command_id": "\(id)"])
            }
        } catch {
            logger.error("could not record the update's outcome", metadata: ["command_id": "\(id)", "error": "\(error)"])
        }
        return false
    }
}
