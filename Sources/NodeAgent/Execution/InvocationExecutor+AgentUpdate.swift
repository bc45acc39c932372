import FleetProtocol
import Foundation
import Logging

extension InvocationExecutor {
    /// `UpdateAgent`: returns nil once the new binary is in place and a restart into it is under way.
    func updateAgent(_ payload: UpdateAgentPayload, id: UUID, stop: StopSignal, logger: Logger) async throws -> FinalOutcome? {
        guard let updater else {
            return FinalOutcome(state: .failed, reason: "this agent was started without self-update support")
        }
        logger.info("agent update started", metadata: ["to_version": "\(payload.version)"])
        onProgress()
        return try await updater.update(payload, id: id, stop: stop)
    }
}
