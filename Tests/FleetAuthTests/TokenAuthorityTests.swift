import FleetAuth
import Foundation
import JWTKit
import Testing

@Suite("TokenAuthority: issuing")
struct TokenIssueTests {
    @Test("a node token round-trips with its node id, role, issuer and generation")
    func nodeToken() async throws {
        // setup
        let authority = try await TokenAuthority(secret: Secrets.signing)
        // act
        let issued = try await authority.issueNodeToken(nodeId: "edge-1", version: 3, ttl: 600)
        let claims = try await authority.verify(issued.token)
        // check
        #expect(claims.subject == "edge-1")
        #expect(claims.role == .node)
        #expect(claims.iss.value == "fleet-node")
        #expect(claims.iss.value == FleetIssuer.node)
        #expect(claims.ver == 3)
        #expect(abs(claims.exp.value.timeIntervalSince(issued.expiresAt)) < 1)
        #expect(abs(issued.expiresAt.timeIntervalSinceNow - 600) < 5)
    }

    @Test("an operator token round-trips with the operator issuer and no generation")
    func operatorToken() async throws {
        let authority = try await TokenAuthority(secret: Secrets.signing)
        let issued = try await authority.issueOperatorToken(name: "alice", ttl: 3600)
        let claims = try await authority.verify(issued.token)
        #expect(claims.subject == "alice")
        #expect(claims.role == .operator)
        #expect(claims.iss.value == "fleet-operator")
        #expect(claims.ver == nil)
    }

    @Test("node and operator tokens carry different issuers, so a gateway can tell them apart")
    func issuersDiffer() async throws {
        let authority = try await TokenAuthority(secret: Secrets.signing)
        let node = try await authority.verify(try await authority.issueNodeToken(nodeId: "edge-1", version: 1).token)
        let op = try await authority.verify(try await authority.issueOperatorToken(name: "alice", ttl: 60).token)
        #expect(node.iss.value != op.iss.value)
        #expect(FleetIssuer.node != FleetIssuer.operator)
        #expect(FleetIssuer.forRole(.node) == FleetIssuer.node)
        #expect(FleetIssuer.forRole(.operator) == FleetIssuer.operator)
    }

    @Test("tokens are HS256 JWTs with a unique id each")
    func header() async throws {
        let authority = try await TokenAuthority(secret: Secrets.signing)
        let first = try TokenParts(try await authority.issueNodeToken(nodeId: "edge-1", version: 1).token)
        let second = try TokenParts(try await authority.issueNodeToken(nodeId: "edge-1", version: 1).token)
        let header = try TokenParts.decodeJSON(first.header)
        #expect(header["alg"] as? String == "HS256")
        #expect(header["typ"] as? String == "JWT")
        let firstId = try TokenParts.decodeJSON(first.payload)["jti"] as? String
        let secondId = try TokenParts.decodeJSON(second.payload)["jti"] as? String
        #expect(firstId != nil)
        #expect(firstId != secondId)
    }

    @Test("a secret shorter than 32 bytes is refused")
    func shortSecret() async throws {
        await #expect(throws: TokenError.secretTooShort(bytes: 31)) {
            _ = try await TokenAuthority(secret: String(repeating: "s", count: 31))
        }
        await #expect(throws: TokenError.secretTooShort(bytes: 0)) { _ = try await TokenAuthority(secret: "") }
        // 32 bytes counted as UTF-8: 16 two-byte characters are enough.
        _ = try await TokenAuthority(secret: String(repeating: "é", count: 16))
        #expect(TokenError.secretTooShort(bytes: 31).description.contains("JWT_SIGNING_SECRET"))
    }
}

@Suite("TokenAuthority: refusing")
struct TokenRefusalTests {
    @Test("an expired token is refused")
    func expired() async throws {
        // setup: issued two hours ago for one hour
        let past = try await TokenAuthority(secret: Secrets.signing, now: { Date().addingTimeInterval(-7200) })
        let token = try await past.issueNodeToken(nodeId: "edge-1", version: 1, ttl: 3600).token
        let authority = try await TokenAuthority(secret: Secrets.signing)
        // act / check
        await #expect(throws: TokenError.expired) { _ = try await authority.verify(token) }
        // the issuer's own clock still accepts it: expiry is judged by the verifier's clock
        _ = try await past.verify(token)
    }

    @Test("a token is refused at the exact second it expires")
    func expiresAtBoundary() async throws {
        let issuedAt = Date(timeIntervalSince1970: 1_738_324_800)
        let issuer = try await TokenAuthority(secret: Secrets.signing, now: { issuedAt })
        let token = try await issuer.issueOperatorToken(name: "alice", ttl: 60).token
        let justBefore = try await TokenAuthority(secret: Secrets.signing, now: { issuedAt.addingTimeInterval(59) })
        let atExpiry = try await TokenAuthority(secret: Secrets.signing, now: { issuedAt.addingTimeInterval(60) })
        _ = try await justBefore.verify(token)
        await #expect(throws: TokenError.expired) { _ = try await atExpiry.verify(token) }
    }

    @Test("a token that is not valid yet is refused; a few seconds of clock skew are tolerated")
    func notYetValid() async throws {
        let future = try await TokenAuthority(secret: Secrets.signing, now: { Date().addingTimeInterval(3600) })
        let token = try await future.issueNodeToken(nodeId: "edge-1", version: 1).token
        let authority = try await TokenAuthority(secret: Secrets.signing)
        await #expect(throws: TokenError.notYetValid) { _ = try await authority.verify(token) }

        let skewed = try await TokenAuthority(secret: Secrets.signing, now: { Date().addingTimeInterval(2) })
        _ = try await authority.verify(try await skewed.issueNodeToken(nodeId: "edge-1", version: 1).token)
    }

    @Test("a token signed with another secret is refused")
    func wrongSecret() async throws {
        let stranger = try await TokenAuthority(secret: Secrets.other)
        let token = try await stranger.issueOperatorToken(name: "mallory", ttl: 3600).token
        let authority = try await TokenAuthority(secret: Secrets.signing)
        await #expect(throws: TokenError.malformedOrBadSignature) { _ = try await authority.verify(token) }
    }

    @Test("an unsigned token (alg none) is refused")
    func algNone() async throws {
        // setup: a real token's claims under an `alg: none` header, with and without a signature
        let authority = try await TokenAuthority(secret: Secrets.signing)
        var parts = try TokenParts(try await authority.issueOperatorToken(name: "alice", ttl: 3600).token)
        parts.header = try TokenParts.encodeJSON(["alg": "none", "typ": "JWT"])
        let unsigned = "\(parts.header).\(parts.payload)."
        // act / check
        await #expect(throws: TokenError.malformedOrBadSignature) { _ = try await authority.verify(unsigned) }
        await #expect(throws: TokenError.malformedOrBadSignature) { _ = try await authority.verify(String(unsigned.dropLast())) }
        await #expect(throws: TokenError.malformedOrBadSignature) { _ = try await authority.verify(parts.token) }
    }

    @Test("a token whose payload was changed after signing is refused")
    func tamperedPayload() async throws {
        // setup: edge-2 rewrites its own token to speak for edge-1
        let authority = try await TokenAuthority(secret: Secrets.signing)
        var parts = try TokenParts(try await authority.issueNodeToken(nodeId: "edge-2", version: 1).token)
        var payload = try TokenParts.decodeJSON(parts.payload)
        payload["sub"] = "edge-1"
        parts.payload = try TokenParts.encodeJSON(payload)
        // act / check
        await #expect(throws: TokenError.malformedOrBadSignature) { _ = try await authority.verify(parts.token) }

        // a node token promoted to operator is refused the same way
        var promoted = try TokenParts(try await authority.issueNodeToken(nodeId: "edge-2", version: 1).token)
        var claims = try TokenParts.decodeJSON(promoted.payload)
        claims["role"] = "operator"
        claims["iss"] = "fleet-operator"
        promoted.payload = try TokenParts.encodeJSON(claims)
        await #expect(throws: TokenError.malformedOrBadSignature) { _ = try await authority.verify(promoted.token) }
    }

    @Test("a correctly signed token whose issuer does not match its role is refused")
    func wrongIssuer() async throws {
        let authority = try await TokenAuthority(secret: Secrets.signing)
        let operatorAsNode = try await handSigned(claims(sub: "alice", role: .operator, iss: FleetIssuer.node))
        let nodeAsOperator = try await handSigned(claims(sub: "edge-1", role: .node, iss: FleetIssuer.operator, ver: 1))
        let unknown = try await handSigned(claims(sub: "alice", role: .operator, iss: "someone-else"))
        await #expect(throws: TokenError.wrongIssuer("fleet-node")) { _ = try await authority.verify(operatorAsNode) }
        await #expect(throws: TokenError.wrongIssuer("fleet-operator")) { _ = try await authority.verify(nodeAsOperator) }
        await #expect(throws: TokenError.wrongIssuer("someone-else")) { _ = try await authority.verify(unknown) }
        // the same claims with the right issuer pass, so the refusals above are about `iss` alone
        _ = try await authority.verify(try await handSigned(claims(sub: "alice", role: .operator, iss: FleetIssuer.operator)))
    }

    @Test("a token signed with the right secret but another HMAC algorithm is refused")
    func otherAlgorithm() async throws {
        // setup: jwt-kit wants an HS512 key of at least 64 bytes, so both sides use a long secret
        let secret = String(repeating: Secrets.signing, count: 2)
        let authority = try await TokenAuthority(secret: secret)
        let hs512 = try await handSigned(
            claims(sub: "alice", role: .operator, iss: FleetIssuer.operator), secret: secret, digest: .sha512)
        #expect(try TokenParts.decodeJSON(TokenParts(hs512).header)["alg"] as? String == "HS512")
        await #expect(throws: TokenError.malformedOrBadSignature) { _ = try await authority.verify(hs512) }
    }

    @Test("garbage is refused as malformed", arguments: ["", "not-a-jwt", "a.b.c", "a.b", "...", "Bearer x.y.z"])
    func garbage(token: String) async throws {
        let authority = try await TokenAuthority(secret: Secrets.signing)
        await #expect(throws: TokenError.malformedOrBadSignature) { _ = try await authority.verify(token) }
    }

    @Test("error descriptions never echo the token")
    func descriptions() {
        let errors: [TokenError] = [.malformedOrBadSignature, .expired, .notYetValid, .wrongIssuer(String(repeating: "x", count: 500))]
        for error in errors {
            #expect(!error.description.isEmpty)
            #expect(error.description.count < 120)
        }
    }
}
