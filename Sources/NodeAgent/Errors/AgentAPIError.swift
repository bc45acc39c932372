import FleetProtocol
import FleetSupport

/// A failed call to agent-svc, classified by what the caller should do about it.
public enum AgentAPIError: Error, Sendable, CustomStringConvertible {
    /// The network or the server is unavailable; retry with backoff.
    case unavailable(String)
    /// 401: the token is invalid, expired or revoked; stop.
    case unauthorized(String)
    /// 403: not this node's invocation (or node revoked at registration).
    case forbidden(String)
    /// 404: the server does not know the thing.
    case notFound(String)
    /// 409: the request conflicts with stored state (illegal transition, chunk conflict, id taken).
    case conflict(String)
    /// 413: the body was too large.
    case tooLarge(String)
    /// Any other 4xx: a bug on our side; retrying the same request will not help.
    case rejected(status: Int, message: String)
    /// 5xx: the server failed; retry with backoff.
    case server(status: Int, message: String)
    /// The response body was not what the contract says.
    case malformedResponse(String)

    public var description: String {
        switch self {
        case .unavailable(let message): "agent-svc unreachable: \(message)"
        case .unauthorized(let message): "unauthorized (401): \(message)"
        case .forbidden(let message): "forbidden (403): \(message)"
        case .notFound(let message): "not found (404): \(message)"
        case .conflict(let message): "conflict (409): \(message)"
        case .tooLarge(let message): "request too large (413): \(message)"
        case .rejected(let status, let message): "request rejected (\(status)): \(message)"
        case .server(let status, let message): "server error (\(status)): \(message)"
        case .malformedResponse(let message): "malformed response: \(message)"
        }
    }

    /// Whether the same request may succeed later (network trouble, server errors).
    public var isTransient: Bool {
        switch self {
        case .unavailable, .server, .malformedResponse: true
        default: false
        }
    }

    /// Maps an HTTP status and error body to an error.
    static func from(status: Int, body: ErrorResponse?) -> AgentAPIError {
        let message = body.map { "\($0.error.code): \($0.error.message)" } ?? "HTTP \(status)"
        switch status {
        case 401: return .unauthorized(message)
        case 403: return .forbidden(message)
        case 404: return .notFound(message)
        case 409: return .conflict(message)
        case 413: return .tooLarge(message)
        case 408, 429: return .server(status: status, message: message)
        case 400..<500: return .rejected(status: status, message: message)
        default: return .server(status: status, message: message)
        }
    }
}

extension AgentAPIError: ClassifiedError {
    /// The one place that decides for every node-token call: a rejected token ends the agent,
    /// trouble that may pass is retried, and any other refusal is final for that request.
    public var disposition: FailureDisposition {
        if case .unauthorized(let message) = self { return .fatal(AgentError.identityRejected(message)) }
        return isTransient ? .retry : .giveUp
    }
}
