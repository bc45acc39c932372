import Foundation
import Logging
import Synchronization

/// Every replica's in-memory view of the operator-token record, so checking a token costs no
/// query. Loaded when the change listener connects and reloaded on each `fleet_operator_tokens`
/// NOTIFY, so a revocation on one replica ends the token on all of them at once.
///
/// Fail-safe: while the listener is down (notifications could be missed) every check asks
/// Postgres. A jti not in memory (a token minted a moment ago on another host) is looked up
/// once and remembered until the next reload.
final class OperatorTokenRegistry: Sendable {
    private struct State {
        var standings: [UUID: OperatorTokenStanding] = [:]
        /// True while the loaded view is kept current by the listener.
        var fresh = false
        /// Revocations are permanent: one seen here survives a reload that started before it committed.
        var revoked: Set<UUID> = []
        var reloads = 0
    }

    private let state = Mutex(State())
    let store: OperatorTokenStore
    let logger: Logger

    init(store: OperatorTokenStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// The standing of `jti`: from memory when the view is current, else from Postgres.
    func standing(of jti: UUID) async throws -> OperatorTokenStanding {
        let known: OperatorTokenStanding? = state.withLock { state in
            if state.revoked.contains(jti) { return .revoked }
            return state.fresh ? state.standings[jti] : nil
        }
        if let known { return known }
        let looked = try await store.standing(jti: jti)
        state.withLock { state in
            if state.fresh { state.standings[jti] = looked }
            if looked == .revoked { state.revoked.insert(jti) }
        }
        return looked
    }

    /// A revocation made by this replica counts here before its NOTIFY comes back.
    func markRevoked(_ jti: UUID) {
        state.withLock { _ = $0.revoked.insert(jti) }
    }

    /// Follows the change listener.
    func handle(_ event: ListenerEvent) async {
        switch event {
        case .disconnected:
            state.withLock { $0.fresh = false }
        case .connected, .operatorTokensChanged:
            await reload()
        }
    }

    /// Replaces the view with the record; stays not-fresh (querying per request) if that fails.
    func reload() async {
        let generation = state.withLock { state in
            state.reloads += 1
            return state.reloads
        }
        do {
            let standings = try await store.standings()
            state.withLock { state in
                // A reload that started later already applied newer data.
                guard generation == state.reloads else { return }
                state.standings = standings
                for (jti, standing) in standings where standing == .revoked { state.revoked.insert(jti) }
                state.fresh = true
            }
            logger.debug("operator tokens loaded", metadata: ["tokens": "\(standings.count)"])
        } catch {
            state.withLock { $0.fresh = false }
            logger.warning("could not load operator tokens; checking each request against Postgres", metadata: ["error": "\(error)"])
        }
    }
}
