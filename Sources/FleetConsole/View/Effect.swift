import FleetClient
import FleetProtocol
import Foundation

/// Everything the console does besides changing its own state: run by ``ConsoleApp``.
public enum Effect: Hashable, Sendable {
    /// Send a confirmed command.
    case submit(SubmitCommandRequest)
    /// Cancel a command (confirmed).
    case cancel(UUID)
    /// Revoke these nodes (confirmed).
    case revoke([String])
    /// Start tailing; events carry `generation` so a stale tail's pages are dropped.
    case startTail(generation: Int, commandId: UUID, nodeId: String?)
    /// Stop the running tail (its view was left).
    case stopTail
    /// Poll now instead of at the next tick.
    case refresh
    /// Fetch the next page of the Command view's invocations (the cursor neared the end of those loaded).
    case loadInvocations(InvocationPageRequest)
    /// Fetch the uploaded artifacts for the Run form's UpdateAgent picker.
    case loadArtifacts
}
