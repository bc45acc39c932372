/// The API's paths, so server, agent and console cannot disagree on a spelling.
public enum FleetPaths {
    public static let register = "/v1/agents/register"
    public static let agents = "/v1/agents"
    public static let poll = "/v1/agents/poll"
    public static let refreshToken = "/v1/agents/token"
    public static let status = "/v1/agents/status"
    public static let uploadLogs = "/v1/commands/logs"
    public static let submit = "/v1/commands/submit"
    public static let commands = "/v1/commands"
    public static let artifacts = "/v1/artifacts"

    /// `GET /v1/agents/{id}`.
    public static func agent(_ id: String) -> String { "/v1/agents/\(id)" }
    /// `POST /v1/agents/{id}/revoke`.
    public static func revoke(_ id: String) -> String { "/v1/agents/\(id)/revoke" }
    /// `GET /v1/commands/{id}`.
    public static func command(_ id: String) -> String { "/v1/commands/\(id)" }
    /// `GET /v1/commands/{id}/logs`.
    public static func logs(_ id: String) -> String { "/v1/commands/\(id)/logs" }
    /// `GET /v1/commands/{id}/output` (one stream's raw bytes).
    public static func output(_ id: String) -> String { "/v1/commands/\(id)/output" }
    /// `POST /v1/commands/{id}/cancel`.
    public static func cancel(_ id: String) -> String { "/v1/commands/\(id)/cancel" }
    /// `GET /v1/artifacts/{id}/content` (node token).
    public static func artifactContent(_ id: String) -> String { "/v1/artifacts/\(id)/content" }
}

extension FleetPaths {
    /// `GET /v1/me`: the presented operator token's name and role.
    public static let me = "/v1/me"
    /// `GET /v1/operator-tokens` (admin).
    public static let operatorTokens = "/v1/operator-tokens"
    /// `GET /v1/audit` (admin).
    public static let audit = "/v1/audit"
    /// `POST /v1/operator-tokens/{jti}/revoke` (admin).
    public static func revokeOperatorToken(_ jti: String) -> String { "/v1/operator-tokens/\(jti)/revoke" }
}
