import FleetProtocol
import FleetSupport
import Foundation
import Logging

/// Owns the node's identity: registers once, reuses the identity file, refreshes the token
/// before it expires, and turns a rejected identity into a fatal ``AgentError``.
public actor IdentityManager {
    let api: AgentAPI
    let file: IdentityFile
    let configuration: AgentConfiguration
    let logger: Logger
    let now: @Sendable () -> Date
    let clock: any Clock<Duration>
    private var identity: NodeIdentity?
    private var refreshing: Task<NodeIdentity, any Error>?

    public init(
        api: AgentAPI, configuration: AgentConfiguration, logger: Logger, now: @escaping @Sendable () -> Date = { Date() },
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.api = api
        self.file = IdentityFile(stateDirectory: configuration.stateDirectory)
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.clock = clock
    }

    /// Loads the identity file, or registers once when there is none.
    ///
    /// Transient failures (server down) are retried with backoff; refusals throw.
    @discardableResult
    public func establish() async throws -> NodeIdentity {
        if let identity { return identity }
        if var stored = try file.load() {
            if let wanted = configuration.nodeId, wanted != stored.nodeId {
                throw AgentError.invalidConfiguration(
                    "NODE_ID is '\(wanted)' but \(file.path) belongs to node '\(stored.nodeId)'; "
                        + "unset NODE_ID or move the identity file away to enroll as a new node")
            }
            if stored.serverURL != configuration.serverURL {
                logger.notice("server URL changed", metadata: ["from": "\(stored.serverURL)", "to": "\(configuration.serverURL)"])
                stored.serverURL = configuration.serverURL
                try file.save(stored)
            }
            identity = stored
            logger.info("identity loaded", metadata: ["node_id": "\(stored.nodeId)", "expires_at": "\(stored.expiresAt)"])
            return stored
        }
        let registered = try await register()
        identity = registered
        return registered
    }

    /// The node id (after ``establish()``).
    public func nodeId() async throws -> String { try await establish().nodeId }

    /// A token that is valid now, refreshed first when less than a third of its lifetime remains.
    public func token() async throws -> String {
        let current = try await establish()
        guard current.needsRefresh(now: now()) else { return current.token }
        if let refreshing { return try await refreshing.value.token }
        let task = Task { try await self.refresh(current) }
        refreshing = task
        defer { refreshing = nil }
        return try await task.value.token
    }

    private func refresh(_ current: NodeIdentity) async throws -> NodeIdentity {
        let answer: NodeTokenResponse
        do {
            answer = try await api.refreshToken(token: current.token)
        } catch {
            if case .fatal(let fatal) = error.disposition { throw fatal }
            // Keep the old token while it still works; the next call tries again.
            if current.expiresAt > now().addingTimeInterval(30) {
                logger.warning("token refresh failed, old token still valid", metadata: ["error": "\(error)"])
                return current
            }
            if error.isTransient { throw error }
            throw AgentError.identityRejected("token expired and refresh failed: \(error)")
        }
        let renewed = NodeIdentity(
            nodeId: current.nodeId, token: answer.token, expiresAt: answer.expiresAt, issuedAt: now(),
            serverURL: configuration.serverURL)
        try file.save(renewed)
        identity = renewed
        logger.info("token refreshed", metadata: ["expires_at": "\(answer.expiresAt)"])
        return renewed
    }

    private func register() async throws -> NodeIdentity {
        guard let enrollmentToken = configuration.enrollmentToken, !enrollmentToken.isEmpty else {
            throw AgentError.invalidConfiguration(
                "no identity in \(configuration.stateDirectory) and no ENROLLMENT_TOKEN to register with")
        }
        let nodeId = configuration.nodeId ?? NodeAttributes.hostName()
        guard FleetValidation.isValidNodeId(nodeId) else {
            throw AgentError.invalidConfiguration("host name '\(nodeId.prefix(200))' is not a valid node id; set NODE_ID")
        }
        let request = RegisterRequest(nodeId: nodeId, attrs: NodeAttributes.collect(merging: configuration.nodeAttrs))
        let retry = RetryLoop("registration", peer: "agent-svc", logger: logger, clock: clock)
        let answer = try await retry.retrying { () async throws -> NodeTokenResponse in
            do throws(AgentAPIError) {
                return try await api.register(request, enrollmentToken: enrollmentToken)
            } catch .unauthorized(let message) {
                throw AgentError.registrationRefused(status: 401, message: "enrollment token rejected (\(message))")
            } catch .conflict(let message) {
                throw AgentError.registrationRefused(
                    status: 409,
                    message: "node id '\(nodeId)' is already registered (\(message)); "
                        + "restore its identity file or choose another NODE_ID")
            } catch .forbidden(let message) {
                throw AgentError.registrationRefused(status: 403, message: "node '\(nodeId)' is revoked (\(message))")
            } catch {
                guard error.isTransient else { throw AgentError.registrationRefused(status: 0, message: "\(error)") }
                throw error
            }
        }
        let registered = NodeIdentity(
            nodeId: answer.nodeId, token: answer.token, expiresAt: answer.expiresAt, issuedAt: now(),
            serverURL: configuration.serverURL)
        try file.save(registered)
        logger.notice("registered", metadata: ["node_id": "\(answer.nodeId)", "identity": "\(file.path)"])
        return registered
    }
}
