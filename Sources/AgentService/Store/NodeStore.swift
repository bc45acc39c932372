import FleetProtocol
import Foundation
import Logging
import PostgresNIO

/// What `register` found.
enum RegistrationOutcome: Equatable {
    /// A new node row with token generation `version`.
    case created(version: Int)
    /// The id is taken; `version` is its current token generation.
    case exists(version: Int, revoked: Bool)
}

/// What the service knows about a node's credentials.
struct NodeCredentialState: Equatable {
    var tokenVersion: Int
    var revoked: Bool
}

/// The node registry in Postgres.
struct NodeStore: Sendable {
    let database: Database
    let onlineWindowSeconds: Int

    /// Inserts the node unless its id is taken; never overwrites an existing node.
    func register(nodeId: String, attrs: [String: String]) async throws -> RegistrationOutcome {
        let attrsJSON = try Self.encodeAttrs(attrs)
        let version = attrs["agent_version"]
        return try await database.transaction("register node") { connection in
            let inserted = try await connection.rows(
                """
                INSERT INTO nodes (node_id, attrs, agent_version) VALUES (\(nodeId), \(attrsJSON)::jsonb, \(version))
                ON CONFLICT (node_id) DO NOTHING RETURNING token_version
                """, logger: database.logger)
            if let row = inserted.first {
                try await AuditLog.record(
                    on: connection, logger: database.logger, actor: AuditLog.nodeActor(nodeId), action: "register",
                    subject: nodeId)
                return .created(version: try row.decode(Int.self))
            }
            let existing = try await connection.rows(
                "SELECT token_version, revoked_at IS NOT NULL FROM nodes WHERE node_id = \(nodeId)", logger: database.logger)
            guard let row = existing.first else { throw RegistryError.registeredConcurrently(nodeId: nodeId) }
            let (current, revoked) = try row.decode((Int, Bool).self)
            return .exists(version: current, revoked: revoked)
        }
    }

    /// Updates attributes of a node that proved its identity by re-registering.
    func updateAttrs(nodeId: String, attrs: [String: String]) async throws {
        let attrsJSON = try Self.encodeAttrs(attrs)
        try await database.transaction("update attrs") { connection in
            try await connection.query(
                """
                UPDATE nodes SET attrs = \(attrsJSON)::jsonb, agent_version = COALESCE(\(attrs["agent_version"]), agent_version),
                    last_seen_at = now()
                WHERE node_id = \(nodeId)
                """, logger: database.logger)
            try await AuditLog.record(
                on: connection, logger: database.logger, actor: AuditLog.nodeActor(nodeId), action: "register",
                subject: nodeId, detailJSON: #"{"again":true}"#)
        }
    }

    /// Token generation and revocation of `nodeId`, or nil when unknown.
    func credentialState(nodeId: String) async throws -> NodeCredentialState? {
        let rows = try await database.query(
            "node credentials",
            "SELECT token_version, revoked_at IS NOT NULL FROM nodes WHERE node_id = \(nodeId)")
        guard let row = rows.first else { return nil }
        let (version, revoked) = try row.decode((Int, Bool).self)
        return NodeCredentialState(tokenVersion: version, revoked: revoked)
    }

    /// Nodes ordered by id after `cursor`, at most `limit`.
    func list(after cursor: String?, limit: Int, selector: NodeSelector? = nil) async throws -> NodeListResponse {
        // Without a selector every node is listed, revoked ones included; with one, only the
        // nodes a command with that selector would target.
        let sql = selector.map(SelectorSQL.init)
        let rows = try await database.query(
            "list nodes",
            """
            SELECT node_id, attrs::text, agent_version, revoked_at IS NOT NULL, registered_at, last_seen_at,
                   COALESCE(last_seen_at > now() - make_interval(secs => \(onlineWindowSeconds)), false)
            FROM nodes
            WHERE node_id > \(cursor ?? "")
              AND (\(sql == nil) OR (revoked_at IS NULL AND fleet_attrs_match(attrs, \(sql?.operations), \(sql?.keys), \(sql?.values))))
            ORDER BY node_id LIMIT \(limit + 1)
            """)
        var nodes = try rows.prefix(limit).map(Self.decodeNode)
        let next = rows.count > limit ? nodes.last?.nodeId : nil
        nodes = Array(nodes.prefix(limit))
        return NodeListResponse(nodes: nodes, nextCursor: next)
    }

    /// One node, or nil.
    func get(nodeId: String) async throws -> NodeInfo? {
        let rows = try await database.query(
            "get node",
            """
            SELECT node_id, attrs::text, agent_version, revoked_at IS NOT NULL, registered_at, last_seen_at,
                   COALESCE(last_seen_at > now() - make_interval(secs => \(onlineWindowSeconds)), false)
            FROM nodes WHERE node_id = \(nodeId)
            """)
        return try rows.first.map(Self.decodeNode)
    }

    /// Revokes the node: its tokens stop working at once, and its pending work is cancelled.
    func revoke(nodeId: String, actor: String) async throws -> RevokeResponse? {
        try await database.transaction("revoke node") { connection in
            let rows = try await connection.rows(
                """
                UPDATE nodes SET revoked_at = COALESCE(revoked_at, now()),
                    token_version = CASE WHEN revoked_at IS NULL THEN token_version + 1 ELSE token_version END
                WHERE node_id = \(nodeId) RETURNING revoked_at
                """, logger: database.logger)
            guard let row = rows.first else { return nil }
            let revokedAt = try row.decode(Date.self)
            try await connection.query(
                """
                UPDATE invocations SET state = 'cancelled', finished_at = now(), reason = 'node revoked'
                WHERE node_id = \(nodeId) AND state = 'queued'
                """, logger: database.logger)
            try await AuditLog.record(on: connection, logger: database.logger, actor: actor, action: "revoke", subject: nodeId)
            return RevokeResponse(nodeId: nodeId, revokedAt: revokedAt)
        }
    }

    static func encodeAttrs(_ attrs: [String: String]) throws -> String {
        String(decoding: try FleetJSON.makeEncoder().encode(attrs), as: UTF8.self)
    }

    static func decodeNode(_ row: PostgresRow) throws -> NodeInfo {
        let (id, attrsText, version, revoked, registeredAt, lastSeen, online) =
            try row.decode((String, String, String?, Bool, Date, Date?, Bool).self)
        let attrs = (try? FleetJSON.makeDecoder().decode([String: String].self, from: Data(attrsText.utf8))) ?? [:]
        return NodeInfo(
            nodeId: id, attrs: attrs, status: revoked ? .revoked : .active, online: online && !revoked,
            agentVersion: version, registeredAt: registeredAt, lastSeenAt: lastSeen)
    }
}
