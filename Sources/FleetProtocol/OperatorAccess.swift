import Foundation

/// What an operator token may do. Each role includes everything the roles below it may do:
/// `viewer` reads, `operator` also submits and cancels, `admin` also revokes nodes, uploads
/// artifacts, manages operator tokens and reads the audit trail.
public enum OperatorRole: String, Codable, Sendable, CaseIterable, Hashable, Comparable {
    case viewer, `operator`, admin

    /// The role a token gets when none is asked for.
    public static let `default`: OperatorRole = .operator

    var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (lhs: OperatorRole, rhs: OperatorRole) -> Bool { lhs.rank < rhs.rank }

    /// Whether a token of this role may call a route that needs `needed`.
    public func allows(_ needed: OperatorRole) -> Bool { self >= needed }
}

/// `GET /v1/me`: who the presented operator token speaks for, so a client can offer only what it may do.
public struct OperatorSelf: Codable, Sendable, Hashable {
    public var name: String
    public var role: OperatorRole
    public var jti: String
    public var expiresAt: Date

    public init(name: String, role: OperatorRole, jti: String, expiresAt: Date) {
        self.name = name
        self.role = role
        self.jti = jti
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case name, role, jti
        case expiresAt = "expires_at"
    }
}

/// One issued operator token as recorded (never the token itself).
public struct OperatorTokenInfo: Codable, Sendable, Hashable {
    public var jti: String
    public var name: String
    public var role: OperatorRole
    public var issuedAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?

    public init(jti: String, name: String, role: OperatorRole, issuedAt: Date, expiresAt: Date, revokedAt: Date?) {
        self.jti = jti
        self.name = name
        self.role = role
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case jti, name, role
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
    }
}

/// `GET /v1/operator-tokens`: every recorded operator token, newest first.
public struct OperatorTokenList: Codable, Sendable, Hashable {
    public var tokens: [OperatorTokenInfo]

    public init(tokens: [OperatorTokenInfo]) { self.tokens = tokens }
}

/// `POST /v1/operator-tokens/{jti}/revoke`: the token's record after the revocation.
public struct OperatorTokenRevokeResponse: Codable, Sendable, Hashable {
    public var token: OperatorTokenInfo
    /// False when the token had already been revoked (the call is idempotent).
    public var revokedNow: Bool

    public init(token: OperatorTokenInfo, revokedNow: Bool) {
        self.token = token
        self.revokedNow = revokedNow
    }

    enum CodingKeys: String, CodingKey {
        case token
        case revokedNow = "revoked_now"
    }
}

/// One row of the audit trail: who did what to which subject, when, from where.
public struct AuditEvent: Codable, Sendable, Hashable {
    public var id: Int64
    public var at: Date
    public var actor: String
    public var action: String
    /// A command id, node id, artifact id or token jti, depending on the action.
    public var subject: String
    /// The client address: the nearest X-Forwarded-For hop when a gateway set one, else the peer.
    public var address: String?

    public init(id: Int64, at: Date, actor: String, action: String, subject: String, address: String?) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.address = address
    }
}

/// `GET /v1/audit`: a page of the audit trail, newest first.
public struct AuditPage: Codable, Sendable, Hashable {
    public var events: [AuditEvent]
    /// Pass as `cursor` for the next (older) page; nil on the last page.
    public var nextCursor: String?

    public init(events: [AuditEvent], nextCursor: String?) {
        self.events = events
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case events
        case nextCursor = "next_cursor"
    }
}

/// The actions the audit trail records (the `action` filter of `GET /v1/audit` takes one).
public enum AuditAction: String, Codable, Sendable, CaseIterable, Hashable {
    case submit, cancel, revoke
    case uploadArtifact = "upload_artifact"
    case register
    case issueToken = "issue_token"
    case revokeToken = "revoke_token"
}
