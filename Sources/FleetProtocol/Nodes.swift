import Foundation

/// `POST /v1/agents/register`: a node introduces itself with the enrollment token.
public struct RegisterRequest: Codable, Sendable, Hashable {
    public var nodeId: String
    public var attrs: [String: String]

    public init(nodeId: String, attrs: [String: String] = [:]) {
        self.nodeId = nodeId
        self.attrs = attrs
    }

    enum CodingKeys: String, CodingKey {
        case nodeId = "node_id"
        case attrs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.nodeId = try container.decode(String.self, forKey: .nodeId)
        self.attrs = try container.decodeIfPresent([String: String].self, forKey: .attrs) ?? [:]
    }
}

/// A node token and when it stops working; answer to register and token refresh.
public struct NodeTokenResponse: Codable, Sendable, Hashable {
    public var nodeId: String
    public var token: String
    public var expiresAt: Date

    public init(nodeId: String, token: String, expiresAt: Date) {
        self.nodeId = nodeId
        self.token = token
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case nodeId = "node_id"
        case token
        case expiresAt = "expires_at"
    }
}

/// Whether a node may still talk to the service.
public enum NodeStatus: String, Codable, Sendable, CaseIterable, Hashable {
    case active, revoked
}

/// One node as the operator sees it.
public struct NodeInfo: Codable, Sendable, Hashable {
    public var nodeId: String
    public var attrs: [String: String]
    public var status: NodeStatus
    public var online: Bool
    public var agentVersion: String?
    public var registeredAt: Date
    public var lastSeenAt: Date?

    public init(
        nodeId: String, attrs: [String: String], status: NodeStatus, online: Bool, agentVersion: String?,
        registeredAt: Date, lastSeenAt: Date?
    ) {
        self.nodeId = nodeId
        self.attrs = attrs
        self.status = status
        self.online = online
        self.agentVersion = agentVersion
        self.registeredAt = registeredAt
        self.lastSeenAt = lastSeenAt
    }

    enum CodingKeys: String, CodingKey {
        case nodeId = "node_id"
        case attrs, status, online
        case agentVersion = "agent_version"
        case registeredAt = "registered_at"
        case lastSeenAt = "last_seen_at"
    }
}

/// `GET /v1/agents`: nodes ordered by id, paged by an opaque cursor.
public struct NodeListResponse: Codable, Sendable, Hashable {
    public var nodes: [NodeInfo]
    public var nextCursor: String?

    public init(nodes: [NodeInfo], nextCursor: String?) {
        self.nodes = nodes
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case nodes
        case nextCursor = "next_cursor"
    }
}

/// `POST /v1/agents/{id}/revoke`: the node's tokens stop working at once.
public struct RevokeResponse: Codable, Sendable, Hashable {
    public var nodeId: String
    public var revokedAt: Date

    public init(nodeId: String, revokedAt: Date) {
        self.nodeId = nodeId
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case nodeId = "node_id"
        case revokedAt = "revoked_at"
    }
}
