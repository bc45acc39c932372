import Crypto
import FleetProtocol
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The command queue in Postgres: submit, claim with a lease, state reports, cancel.
///
/// Every state change that a waiting poll or log reader cares about sends a NOTIFY in the
/// same transaction, so it is seen by every replica once (and only once) it commits.
struct CommandQueue: Sendable {
    static let workChannel = "fleet_work"
    static let logsChannel = "fleet_logs"
    static let maxTargets = 10_000

    let database: Database
    let leaseSeconds: Int
    let deliveryTimeoutSeconds: Int
    /// Groups concurrent status reports into one statement.
    let reports: StatusBatcher
    /// Groups the claims of polls woken together into one statement.
    let claims: ClaimBatcher
    /// Groups idle check-ins that arrive together into one statement.
    let checkIns: CheckInBatcher

    init(database: Database, leaseSeconds: Int, deliveryTimeoutSeconds: Int) {
        self.database = database
        self.leaseSeconds = leaseSeconds
        self.deliveryTimeoutSeconds = deliveryTimeoutSeconds
        reports = StatusBatcher(database: database)
        claims = ClaimBatcher(database: database, leaseSeconds: leaseSeconds)
        checkIns = CheckInBatcher(database: database)
    }

    /// Longest delivery window a command may ask for.
    static let maxDeliverWithinSeconds = 30 * 24 * 3600

    /// Creates the command and one queued invocation per target, atomically. Targets are the
    /// given ids, or the registered, unrevoked nodes a selector matches (offline ones included),
    /// resolved in the transaction that queues the work.
    /// With an `Idempotency-Key`, the same key and body from the same operator within
    /// ``idempotencyWindowHours`` return the first command (`replayed`); the same key with
    /// another body is refused.
    func submit(
        _ request: SubmitCommandRequest, actor: String, idempotencyKey: String?
    ) async throws -> (response: SubmitCommandResponse, replayed: Bool) {
        let problems = request.payload.problems()
        guard problems.isEmpty else { throw QueueError.invalidPayload(problems: problems) }
        let deliverWithin = try Self.deliveryWindow(request.deliverWithinSec) ?? deliveryTimeoutSeconds
        try Self.checkLimits(request)
        if request.selector != nil, !request.targets.isEmpty { throw QueueError.targetsAndSelector }
        let selector = try request.selector.map { text throws(QueueError) in try NodeSelector(operatorText: text) }
        guard let idempotencyKey else {
            guard let selector else {
                // The common case stays one statement, one round trip.
                let targets = try Self.checkedTargets(request.targets)
                let insert = try insertStatement(request, targets: targets, deliverWithin: deliverWithin, actor: actor, key: nil)
                return (try Self.submitted(request, targets: targets, rows: try await database.query("submit command", insert)), false)
            }
            return try await database.transaction("submit command") { connection in
                (try await queue(request, selector: selector, deliverWithin: deliverWithin, actor: actor, key: nil, on: connection), false)
            }
        }
        let key = IdempotencyKey(
            text: idempotencyKey, digest: Data(SHA256.hash(data: try FleetJSON.makeEncoder().encode(request))))
        return try await database.transaction("submit command") { connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(Self.idempotencyLockSpace), hashtext(\(actor) || '/' || \(key.text)))",
                logger: database.logger)
            if let earlier = try await earlierSubmit(key, actor: actor, on: connection) { return (earlier, true) }
            return (try await queue(request, selector: selector, deliverWithin: deliverWithin, actor: actor, key: key, on: connection), false)
        }
    }

    /// Resolves the targets (a selector's matches, or the ids) and queues the command on `connection`.
    private func queue(
        _ request: SubmitCommandRequest, selector: NodeSelector?, deliverWithin: Int, actor: String, key: IdempotencyKey?,
        on connection: PostgresConnection
    ) async throws -> SubmitCommandResponse {
        var resolved = request
        let targets: [String]
        if let selector {
            let sql = SelectorSQL(selector)
            let matched = try await connection.rows(
                """
                SELECT node_id FROM nodes n
                WHERE revoked_at IS NULL AND fleet_attrs_match(attrs, \(sql.operations), \(sql.keys), \(sql.values))
                ORDER BY node_id LIMIT \(Self.maxTargets + 1) FOR SHARE
                """, logger: database.logger)
            targets = try matched.map { try $0.decode(String.self) }
            guard !targets.isEmpty else { throw QueueError.noMatchingNodes(selector: selector.description) }
            guard targets.count <= Self.maxTargets else { throw QueueError.tooManyTargets(limit: Self.maxTargets) }
            resolved.selector = selector.description
        } else {
            targets = try Self.checkedTargets(request.targets)
        }
        let insert = try insertStatement(resolved, targets: targets, deliverWithin: deliverWithin, actor: actor, key: key)
        return try Self.submitted(request, targets: targets, rows: try await connection.rows(insert, logger: database.logger))
    }

    /// The ids without repeats, checked for count and form.
    static func checkedTargets(_ ids: [String]) throws(QueueError) -> [String] {
        var seen = Set<String>()
        let targets = ids.filter { seen.insert($0).inserted }
        guard !targets.isEmpty else { throw .noTargets }
        guard targets.count <= maxTargets else { throw .tooManyTargets(limit: maxTargets) }
        let invalid = targets.filter { !FleetValidation.isValidNodeId($0) }
        guard invalid.isEmpty else { throw .malformedTargets(invalid) }
        return targets
    }

    static func deliveryWindow(_ seconds: Int?) throws(QueueError) -> Int? {
        guard let seconds else { return nil }
        guard (1...maxDeliverWithinSeconds).contains(seconds) else {
            throw .invalidRollout(field: "deliver_within_sec", problem: "must be 1–\(maxDeliverWithinSeconds) seconds, got \(seconds)")
        }
        return seconds
    }

    static func checkLimits(_ request: SubmitCommandRequest) throws(QueueError) {
        if let problem = request.maxConcurrency?.concurrencyProblem { throw .invalidRollout(field: "max_concurrency", problem: problem) }
        if let problem = request.maxErrors?.errorsProblem { throw .invalidRollout(field: "max_errors", problem: problem) }
    }

    /// One statement, so an id-targeted submit costs one round trip: the command, its
    /// invocations, the audit row and the NOTIFYs commit together, or (when a target is unknown
    /// or revoked) nothing does.
    private func insertStatement(
        _ request: SubmitCommandRequest, targets: [String], deliverWithin: Int, actor: String, key: IdempotencyKey?
    ) throws -> PostgresQuery {
        let payloadJSON = String(decoding: try request.payload.bodyJSON(), as: UTF8.self)
        let type = request.commandType.rawValue
        var audit = ["command_type": type, "targets": "\(targets.count)"]
        audit["selector"] = request.selector
        let auditJSON = String(decoding: try FleetJSON.makeEncoder().encode(audit), as: UTF8.self)
        let commandId = UUID()
        let concurrency = request.maxConcurrency.map { $0.concurrency(of: targets.count) }
        let errors = request.maxErrors.map { $0.tolerated(of: targets.count) }
        return """
            WITH known AS (
                SELECT node_id FROM nodes WHERE node_id = ANY(\(targets)::text[]) AND revoked_at IS NULL FOR SHARE
            ), command AS (
                INSERT INTO commands (command_id, command_type, payload, created_by, target_count, selector,
                    max_concurrency, max_concurrency_spec, max_errors, max_errors_spec, deliver_within_sec,
                    idempotency_key, request_sha256)
                SELECT \(commandId), \(type), \(payloadJSON)::jsonb, \(actor), \(targets.count), \(request.selector),
                    \(concurrency), \(request.maxConcurrency?.description), \(errors), \(request.maxErrors?.description), \(deliverWithin),
                    \(key?.text), \(key.map { ByteBuffer(bytes: $0.digest) })
                WHERE (SELECT count(*) FROM known) = \(targets.count)
                RETURNING command_id, created_at
            ), invocations AS (
                INSERT INTO invocations (command_id, node_id, state, created_at, deliver_by)
                SELECT command.command_id, known.node_id, 'queued', now(), now() + make_interval(secs => \(deliverWithin))
                FROM command, known
                RETURNING node_id
            ), audit AS (
                INSERT INTO audit_events (actor, action, subject, detail, address)
                SELECT \(actor), 'submit', \(commandId.uuidString), \(auditJSON)::jsonb, \(AuditLog.clientAddress) FROM command
            )
            SELECT (SELECT command_id FROM command), (SELECT created_at FROM command),
                   (SELECT COALESCE(array_agg(node_id), '{}') FROM known),
                   (SELECT count(*)::int FROM (\(unescaped: Self.wakeTargets(concurrency))) AS notified)
            """
    }

    /// The NOTIFYs of a submit, over its `invocations` CTE: every target, or for a throttled
    /// command only as many as may run at once, online ones first (no sort on the fan-out path).
    private static func wakeTargets(_ concurrency: Int?) -> String {
        guard let concurrency else { return "SELECT pg_notify('\(workChannel)', node_id) FROM invocations" }
        return """
            SELECT pg_notify('\(workChannel)', i.node_id) FROM invocations i JOIN nodes n USING (node_id)
            ORDER BY n.last_seen_at > now() - interval '60 seconds' DESC NULLS LAST, i.node_id LIMIT \(concurrency)
            """
    }

    /// The answer to a submit, or why nothing was queued.
    private static func submitted(_ request: SubmitCommandRequest, targets: [String], rows: [PostgresRow]) throws -> SubmitCommandResponse {
        guard let row = rows.first else {
            throw DatabaseError.unexpected(operation: "submit command", detail: "the statement returned no row")
        }
        let (commandId, created, knownTargets, _) = try row.decode((UUID?, Date?, [String], Int).self)
        guard let commandId, let createdAt = created else {
            let known = Set(knownTargets)
            throw QueueError.unknownTargets(targets.filter { !known.contains($0) })
        }
        return SubmitCommandResponse(commandId: commandId, commandType: request.commandType, targets: targets, createdAt: createdAt)
    }
}
