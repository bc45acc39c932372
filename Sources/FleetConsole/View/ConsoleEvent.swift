import FleetClient
import FleetProtocol

/// What the background tasks report back to the console loop.
public enum ConsoleEvent: Sendable {
    /// A fresh node list.
    case nodes([NodeInfo])
    /// A fresh command history.
    case commands([CommandSummary])
    /// A fresh view of one command (its first page of invocations).
    case command(CommandDetail)
    /// A page of a command's invocations (a later page, or the waiting ones), or why it failed.
    case invocations(InvocationPageRequest, Result<CommandDetail, FleetAPIError>)
    /// What the tail of `generation` reported.
    case log(generation: Int, LogTailEvent)
    /// The server took a command.
    case submitted(SubmitCommandResponse)
    /// The server took a cancel.
    case cancelled(CancelResponse)
    /// Revokes done, and why the others failed (by node id).
    case revoked(done: [String], failed: [String: String])
    /// The artifact list for the Run form, or why it could not be fetched.
    case artifacts(Result<[ArtifactInfo], FleetAPIError>)
    /// An operator action failed (the text says which).
    case actionFailed(String, FleetAPIError)
    /// A poll got through.
    case reachable
    /// A poll failed to reach the server.
    case unreachable(FleetAPIError)
    /// Who the token speaks for (`GET /v1/me`), so the console offers only what its role may do.
    case identity(OperatorSelf)
}
