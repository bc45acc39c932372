import FleetProtocol
import Foundation
import Logging

extension InvocationExecutor {
    /// `UpdatePackage`: drives the node's package manager with an argv (never a shell string).
    func updatePackages(_ payload: UpdatePackagePayload, id: UUID, stop: StopSignal, logger: Logger) async throws -> FinalOutcome {
        FinalOutcome(state: .failed, reason: "UpdatePackage is not supported by this agent version yet")
    }
}
