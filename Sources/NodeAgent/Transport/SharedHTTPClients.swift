import AsyncHTTPClient
import FleetTLS
import Synchronization

/// The agent's HTTP clients for the life of the process, one per purpose and trust setting
/// (a shared client is never shut down, so it must never be released either).
enum SharedHTTPClients {
    /// What a client talks to: agent-svc, or the other hosts artifact URLs name.
    enum Purpose: Hashable, Sendable {
        case fleetServer
        case otherHosts
    }

    private struct Key: Hashable {
        var purpose: Purpose
        var caFile: String?
    }

    private static let clients = Mutex<[Key: HTTPClient]>([:])

    /// The process's client for `purpose` under `trust`, made by `make` the first time.
    static func client(_ purpose: Purpose, trust: TrustSettings, make: () -> HTTPClient) -> HTTPClient {
        clients.withLock { clients in
            let key = Key(purpose: purpose, caFile: trust.caFile)
            if let client = clients[key] { return client }
            let client = make()
            clients[key] = client
            return client
        }
    }
}
