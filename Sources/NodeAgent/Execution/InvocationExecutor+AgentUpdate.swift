import FleetProtocol
import Foundation
import Logging

extension InvocationExecutor {
    /// `UpdateAgent`: returns nil once the new binary is in place and a restart into it is under way.
    func updateAgent(_ payload: UpdateAgentPayload, id: UUID, stop: StopSignal, logger: Logger) async throws -> FinalOutcome? {
        FinalOutcome(state: .failed, reason: "UpdateAgent is not supported by this agent version yet")
    }
}
