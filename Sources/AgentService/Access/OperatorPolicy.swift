import FleetProtocol
import HTTPTypes

/// The role each operator route needs: the one table agent-svc enforces (``Authenticator``
/// looks the matched route up here), and the one openapi.yaml states as `x-fleet-role`.
///
/// A route not listed needs `admin`: a new route is closed until someone decides otherwise.
enum OperatorPolicy {
    static let required: [String: OperatorRole] = [
        "GET /v1/me": .viewer,
        "GET /v1/agents": .viewer,
        "GET /v1/agents/{id}": .viewer,
        "GET /v1/commands": .viewer,
        "GET /v1/commands/{id}": .viewer,
        "GET /v1/commands/{id}/logs": .viewer,
        "GET /v1/commands/{id}/output": .viewer,
        "GET /v1/artifacts": .viewer,
        "POST /v1/commands/submit": .operator,
        "POST /v1/commands/{id}/cancel": .operator,
        "POST /v1/agents/{id}/revoke": .admin,
        "POST /v1/artifacts": .admin,
        "GET /v1/operator-tokens": .admin,
        "POST /v1/operator-tokens/{jti}/revoke": .admin,
        "GET /v1/audit": .admin,
    ]

    /// The role `method path` needs, `path` being the route as registered (`/v1/commands/{id}`).
    static func role(method: HTTPRequest.Method, path: String?) -> OperatorRole {
        guard let path else { return .admin }
        return required["\(method.rawValue) \(path)"] ?? .admin
    }
}
