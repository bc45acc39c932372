import Foundation
import FleetProtocol
import JWTKit

/// Who a token speaks for.
public enum FleetRole: String, Codable, Sendable, Hashable {
    case node
    case `operator`
}

/// The `iss` values; a gateway (Kong's jwt plugin) looks the credential up by this claim,
/// so node and operator tokens map to different consumers.
public enum FleetIssuer {
    public static let node = "fleet-node"
    public static let `operator` = "fleet-operator"

    /// The issuer a token of `role` must carry.
    public static func forRole(_ role: FleetRole) -> String {
        switch role {
        case .node: node
        case .operator: `operator`
        }
    }
}

/// The claims of every Fleet token.
public struct FleetClaims: JWTPayload, Equatable {
    /// Node id or operator name.
    public var sub: SubjectClaim
    public var iss: IssuerClaim
    public var role: FleetRole
    public var iat: IssuedAtClaim
    public var nbf: NotBeforeClaim
    public var exp: ExpirationClaim
    public var jti: IDClaim
    /// Node tokens only: the node's token generation; revoking a node bumps it server-side.
    public var ver: Int?
    /// Operator tokens only: what the operator may do. Absent in tokens minted before roles
    /// existed; agent-svc refuses those (see `OperatorTokenRegistry`).
    public var operatorRole: OperatorRole?

    enum CodingKeys: String, CodingKey {
        case sub, iss, role, iat, nbf, exp, jti, ver
        case operatorRole = "op_role"
    }

    public init(
        sub: SubjectClaim, iss: IssuerClaim, role: FleetRole, iat: IssuedAtClaim, nbf: NotBeforeClaim,
        exp: ExpirationClaim, jti: IDClaim, ver: Int?, operatorRole: OperatorRole? = nil
    ) {
        self.sub = sub
        self.iss = iss
        self.role = role
        self.iat = iat
        self.nbf = nbf
        self.exp = exp
        self.jti = jti
        self.ver = ver
        self.operatorRole = operatorRole
    }

    /// Time checks happen in ``TokenAuthority/verify(_:)`` against its injected clock.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

extension FleetClaims {
    /// The node id or operator name the token speaks for.
    public var subject: String { sub.value }
    /// The token's id (`jti`): what records and revokes an operator token.
    public var tokenId: String { jti.value }
    /// When the token stops working.
    public var expiresAt: Date { exp.value }
}
