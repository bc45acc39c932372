import FleetAuth
import FleetProtocol
import Foundation
import Hummingbird
import Logging

/// An operator who proved themselves with a recorded, unrevoked operator token.
struct OperatorIdentity: Sendable {
    var name: String
    var role: OperatorRole
    var jti: UUID
    var expiresAt: Date
}

/// A node that proved itself with a current, unrevoked node token.
struct NodeIdentity: Sendable {
    var nodeId: String
    /// The token generation the node's current tokens carry.
    var tokenVersion: Int
}

/// Checks bearer tokens on every protected route. agent-svc verifies every token itself:
/// a gateway in front is a second wall, never the only one.
struct Authenticator: Sendable {
    let tokens: TokenAuthority
    let nodes: NodeStore
    let operatorTokens: OperatorTokenRegistry

    /// The operator behind the request, allowed the role the matched route needs
    /// (``OperatorPolicy``): 401 without a valid, recorded and unrevoked operator token, 403 for
    /// a node token or a role below the route's.
    func requireOperator(_ request: Request, _ context: FleetRequestContext) async throws -> OperatorIdentity {
        let needed = OperatorPolicy.role(method: request.method, path: context.endpointPath)
        let identity = try await operatorIdentity(request)
        guard identity.role.allows(needed) else {
            throw HTTPAPIError(
                .forbidden, code: "role_required",
                message: "this route needs the \(needed.rawValue) role; the token of '\(identity.name)' has role \(identity.role.rawValue)")
        }
        return identity
    }

    /// Tokens minted before roles existed carry no role and were never recorded: refused, since
    /// nothing could revoke them.
    static let legacyOperatorToken = HTTPAPIError.unauthorized(
        "operator token has no recorded role (minted before roles and revocation): mint a new one with "
            + "`agent-svc operator-token --name NAME --role admin|operator|viewer`")

    private func operatorIdentity(_ request: Request) async throws -> OperatorIdentity {
        let claims = try await verify(request)
        guard claims.role == .operator else { throw HTTPAPIError.forbidden("this route needs an operator token") }
        guard claims.operatorRole != nil, let jti = UUID(uuidString: claims.tokenId) else { throw Self.legacyOperatorToken }
        switch try await operatorTokens.standing(of: jti) {
        case .active(let role):
            // The record's role is the one that counts.
            return OperatorIdentity(name: claims.subject, role: role, jti: jti, expiresAt: claims.expiresAt)
        case .revoked:
            throw HTTPAPIError.unauthorized("operator token has been revoked")
        case .unrecorded:
            throw Self.legacyOperatorToken
        }
    }

    /// 401 without a valid node token or when the node was revoked, 403 for an operator token.
    func requireNode(_ request: Request) async throws -> NodeIdentity {
        let claims = try await verify(request)
        guard claims.role == .node else { throw HTTPAPIError.forbidden("this route needs a node token") }
        return NodeIdentity(nodeId: claims.subject, tokenVersion: try await checkCurrent(claims))
    }

    /// A node token's claims, signature and role checked but not yet its generation: for the
    /// poll, which checks generation and revocation in the same statement as its check-in.
    func nodeClaims(_ request: Request) async throws -> FleetClaims {
        let claims = try await verify(request)
        guard claims.role == .node else { throw HTTPAPIError.forbidden("this route needs a node token") }
        return claims
    }

    /// The node identity behind an optional bearer token (re-registration proof), or nil.
    func optionalNode(_ request: Request) async throws -> NodeIdentity? {
        guard request.headers[.authorization] != nil else { return nil }
        return try await requireNode(request)
    }

    /// Rejects tokens of revoked nodes and of earlier token generations.
    private func checkCurrent(_ claims: FleetClaims) async throws -> Int {
        guard let state = try await nodes.credentialState(nodeId: claims.subject) else {
            throw HTTPAPIError.unauthorized("node is not registered")
        }
        guard !state.revoked else { throw HTTPAPIError.unauthorized("node has been revoked") }
        guard claims.ver == state.tokenVersion else { throw HTTPAPIError.unauthorized("token has been revoked") }
        return state.tokenVersion
    }

    private func verify(_ request: Request) async throws -> FleetClaims {
        guard let header = request.headers[.authorization] else {
            throw HTTPAPIError.unauthorized("missing Authorization: Bearer token")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw HTTPAPIError.unauthorized("Authorization header must be 'Bearer <token>'")
        }
        do {
            return try await tokens.verify(String(parts[1]).trimmingCharacters(in: .whitespaces))
        } catch {
            throw HTTPAPIError.unauthorized(error.description)
        }
    }
}
