import FleetProtocol
import Foundation
import NIOHTTP1

/// Who am I, operator tokens and the audit trail.
extension HTTPFleetAPI {
    public func me() async throws(FleetAPIError) -> OperatorSelf {
        try await get(FleetPaths.me, query: [])
    }

    public func operatorTokens() async throws(FleetAPIError) -> OperatorTokenList {
        try await get(FleetPaths.operatorTokens, query: [])
    }

    public func revokeOperatorToken(_ jti: String) async throws(FleetAPIError) -> OperatorTokenRevokeResponse {
        try await send(.POST, FleetPaths.revokeOperatorToken(Self.escape(jti)), body: EmptyBody())
    }

    public func audit(limit: Int, cursor: String?, actor: String?, action: String?) async throws(FleetAPIError) -> AuditPage {
        try await get(
            FleetPaths.audit, query: [("limit", String(limit)), ("cursor", cursor), ("actor", actor), ("action", action)])
    }
}
