import Synchronization

/// Tokens whose signature was already checked, so a node's poll every few seconds does not pay
/// for JWT parsing and HMAC again (nor queue on JWTKit's key-collection actor, which serialises
/// every verification in the process). Only the signature's verdict is cached: expiry, issuer
/// and revocation are still checked on every use.
///
/// Bounded: when full, it starts over (a node's next request re-verifies once).
final class VerifiedTokenCache: Sendable {
    private let entries = Mutex<[String: FleetClaims]>([:])
    let capacity: Int

    init(capacity: Int = 20_000) {
        self.capacity = capacity
    }

    func claims(for token: String) -> FleetClaims? {
        entries.withLock { $0[token] }
    }

    func remember(_ claims: FleetClaims, for token: String) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = claims
        }
    }
}
