import FleetProtocol
import Foundation
import JWTKit

/// Why a token was refused; never carries the token itself.
public enum TokenError: Error, Equatable, CustomStringConvertible {
    case secretTooShort(bytes: Int)
    case malformedOrBadSignature
    case expired
    case notYetValid
    case wrongIssuer(String)

    public var description: String {
        switch self {
        case .secretTooShort(let bytes): "JWT_SIGNING_SECRET must be at least 32 bytes (got \(bytes))"
        case .malformedOrBadSignature: "token is malformed or its signature does not verify"
        case .expired: "token has expired"
        case .notYetValid: "token is not valid yet"
        case .wrongIssuer(let iss): "token issuer '\(iss.prefix(40))' does not match its role"
        }
    }
}

/// A freshly minted token.
public struct IssuedToken: Sendable, Equatable {
    public var token: String
    public var expiresAt: Date
    /// The token's `jti`: what records and revokes it.
    public var jti: String = ""
    public var issuedAt: Date = .distantPast
}

/// Signs and verifies Fleet's HS256 tokens.
public struct TokenAuthority: Sendable {
    /// Shortest signing secret accepted.
    public static let minimumSecretBytes = 32
    /// Default lifetime of a node token; agents refresh well before it ends.
    public static let defaultNodeTokenTTL: TimeInterval = 24 * 3600
    /// Clock skew tolerated for `nbf` between replicas.
    public static let notBeforeLeeway: TimeInterval = 5

    private let keys: JWTKeyCollection
    private let now: @Sendable () -> Date
    private let verified = VerifiedTokenCache()

    /// - Parameter now: the clock; tests move it to check expiry without sleeping.
    public init(secret: String, now: @escaping @Sendable () -> Date = { Date() }) async throws(TokenError) {
        let bytes = secret.utf8.count
        guard bytes >= Self.minimumSecretBytes else { throw .secretTooShort(bytes: bytes) }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
        self.now = now
    }

    /// Mints a node token for `nodeId` at token generation `version`.
    public func issueNodeToken(
        nodeId: String, version: Int, ttl: TimeInterval = Self.defaultNodeTokenTTL
    ) async throws -> IssuedToken {
        try await issue(subject: nodeId, role: .node, ttl: ttl, version: version)
    }

    /// Mints an operator token for `name` with `role`. agent-svc accepts it only once it is
    /// recorded (see `agent-svc operator-token`), so that it can be listed and revoked.
    public func issueOperatorToken(
        name: String, role: OperatorRole = .default, ttl: TimeInterval
    ) async throws -> IssuedToken {
        try await issue(subject: name, role: .operator, ttl: ttl, version: nil, operatorRole: role)
    }

    private func issue(
        subject: String, role: FleetRole, ttl: TimeInterval, version: Int?, operatorRole: OperatorRole? = nil
    ) async throws -> IssuedToken {
        let issuedAt = now()
        let expiresAt = issuedAt.addingTimeInterval(ttl)
        let claims = FleetClaims(
            sub: .init(value: subject), iss: .init(value: FleetIssuer.forRole(role)), role: role,
            iat: .init(value: issuedAt), nbf: .init(value: issuedAt), exp: .init(value: expiresAt),
            jti: .init(value: UUID().uuidString), ver: version, operatorRole: operatorRole)
        let token = try await keys.sign(claims, header: ["typ": "JWT"])
        return IssuedToken(token: token, expiresAt: expiresAt, jti: claims.jti.value, issuedAt: issuedAt)
    }

    /// Checks signature, algorithm, time window and that `iss` fits the role.
    public func verify(_ token: String) async throws(TokenError) -> FleetClaims {
        let claims: FleetClaims
        if let known = verified.claims(for: token) {
            claims = known
        } else {
            do {
                claims = try await keys.verify(token, as: FleetClaims.self)
            } catch {
                throw .malformedOrBadSignature
            }
            verified.remember(claims, for: token)
        }
        let current = now()
        if claims.exp.value <= current { throw .expired }
        if claims.nbf.value > current.addingTimeInterval(Self.notBeforeLeeway) { throw .notYetValid }
        guard claims.iss.value == FleetIssuer.forRole(claims.role) else { throw .wrongIssuer(claims.iss.value) }
        return claims
    }
}
