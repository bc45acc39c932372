import FleetAuth
import Foundation
import JWTKit
import Testing

enum Secrets {
    static let signing = "fleet-test-signing-secret-0123456789abcdef"
    static let other = "another-fleet-secret-fedcba9876543210-xyz"
}

/// The three dot-separated parts of a compact JWT, with base64url helpers to forge variants.
struct TokenParts {
    var header: String
    var payload: String
    var signature: String

    init(_ token: String) throws {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3, "a compact JWT has three parts")
        header = parts[0]
        payload = parts[1]
        signature = parts[2]
    }

    var token: String { "\(header).\(payload).\(signature)" }

    static func encode(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) throws -> Data {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return try #require(Data(base64Encoded: base64), "part is not base64url")
    }

    static func encodeJSON(_ object: [String: Any]) throws -> String {
        encode(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    static func decodeJSON(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: decode(text)) as? [String: Any])
    }
}

/// Claims signed directly with jwt-kit and the service's secret, bypassing ``TokenAuthority``'s rules.
func handSigned(_ claims: FleetClaims, secret: String = Secrets.signing, digest: DigestAlgorithm = .sha256) async throws -> String {
    let keys = JWTKeyCollection()
    await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: digest)
    return try await keys.sign(claims, header: ["typ": "JWT"])
}

/// Claims valid for an hour from now, of the given role and issuer.
func claims(sub: String, role: FleetRole, iss: String, ver: Int? = nil) -> FleetClaims {
    let now = Date()
    return FleetClaims(
        sub: .init(value: sub), iss: .init(value: iss), role: role, iat: .init(value: now), nbf: .init(value: now),
        exp: .init(value: now.addingTimeInterval(3600)), jti: .init(value: UUID().uuidString), ver: ver)
}
