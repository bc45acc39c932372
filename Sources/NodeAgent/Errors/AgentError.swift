import FleetProtocol
import FleetSupport

/// Why the agent cannot go on; each case carries what an operator needs to fix it.
public enum AgentError: Error, Sendable, CustomStringConvertible {
    /// Configuration is missing or malformed (bad URL, bad node id, bad NODE_ATTRS…).
    case invalidConfiguration(String)
    /// The server refused the node's identity (token invalid, expired or revoked).
    case identityRejected(String)
    /// Registration was refused (wrong enrollment token, node id taken, node revoked).
    case registrationRefused(status: Int, message: String)
    /// The state directory or identity file could not be read or written.
    case stateDirectory(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            "invalid configuration: \(message)"
        case .identityRejected(let message):
            "the server rejected this node's identity: \(message). "
                + "If the node was revoked, an operator must re-enroll it (remove the identity file and register again)."
        case .registrationRefused(let status, let message):
            "registration refused (HTTP \(status)): \(message)"
        case .stateDirectory(let path, let reason):
            "state directory problem at \(path): \(reason)"
        }
    }
}

extension AgentError: ClassifiedError {
    /// Every agent error ends the loop that met it: retrying cannot fix configuration or identity.
    public var disposition: FailureDisposition { .fatal(self) }
}
