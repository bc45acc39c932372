import ArgumentParser
import FleetClient
import FleetProtocol
import Foundation

/// `fleet tokens list|revoke`: the recorded operator tokens (admin).
struct TokensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "List or revoke operator tokens (needs an admin token).",
        discussion: """
            Tokens are minted on the host with `agent-svc operator-token --name NAME --role admin|operator|viewer`.
            """,
        subcommands: [List.self, Revoke.self])

    /// `fleet tokens list`.
    struct List: FleetSubcommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Every recorded operator token: jti, name, role, issued, expires, revoked.",
            discussion: """
                Examples:
                  fleet tokens list
                  fleet tokens list --json | jq -r '.tokens[] | select(.revoked_at == null) | .jti'
                """)

        @OptionGroup var connection: ConnectionOptions

        @Flag(name: .customLong("json"), help: "Print {\"tokens\": [...]} as the API returns them.")
        var json = false

        mutating func execute(in context: CLIContext) async throws -> Int32 {
            let api = try connection.api(in: context)
            let list: OperatorTokenList
            do { list = try await api.operatorTokens() } catch { throw CLIError.api(what: "list tokens", error) }
            context.output.out(json ? try JSONOutput.encode(list) + "\n" : Self.table(list.tokens, now: context.now()))
            return ExitStatus.success
        }

        static func table(_ tokens: [OperatorTokenInfo], now: Date) -> String {
            var table = TextTable("JTI", "NAME", "ROLE", "ISSUED", "EXPIRES", "STATE")
            for token in tokens {
                let state = token.revokedAt.map { "revoked \(ago($0, now: now))" } ?? (token.expiresAt <= now ? "expired" : "active")
                table.add(
                    token.jti, token.name, token.role.rawValue, FleetJSON.formatDate(token.issuedAt),
                    FleetJSON.formatDate(token.expiresAt), state)
            }
            return table.text
        }
    }

    /// `fleet tokens revoke JTI`.
    struct Revoke: FleetSubcommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke an operator token: it stops working at once on every replica.",
            discussion: """
                Example:
                  fleet tokens revoke 0b6f3c1e-8d2a-4f7b-9c11-5e4d3a2b1c0f
                """)

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "The token's jti, as `fleet tokens list` prints it.")
        var jti: String

        func validate() throws {
            guard UUID(uuidString: jti) != nil else { throw ValidationError("a token jti is a UUID (got '\(jti.prefix(80))')") }
        }

        mutating func execute(in context: CLIContext) async throws -> Int32 {
            let api = try connection.api(in: context)
            let result: OperatorTokenRevokeResponse
            do { result = try await api.revokeOperatorToken(jti) } catch { throw CLIError.api(what: "revoke token", error) }
            let at = result.token.revokedAt.map(FleetJSON.formatDate) ?? "-"
            context.output.out(
                result.revokedNow
                    ? "revoked \(result.token.jti) (\(result.token.name), \(result.token.role.rawValue)) at \(at)\n"
                    : "\(result.token.jti) was already revoked at \(at)\n")
            return ExitStatus.success
        }
    }
}

/// `fleet audit`: who did what, newest first (admin).
struct AuditCommand: FleetSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the audit trail, newest first: when, who, what, subject, from where (needs an admin token).",
        discussion: """
            Examples:
              fleet audit --limit 20
              fleet audit --actor alice --action submit
              fleet audit --json | jq -r '.events[].subject'
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("actor"), help: "Only acts by this actor (an operator name, node:<id>, host:<user>).")
    var actor: String?

    @Option(name: .customLong("action"), help: "Only this action: \(AuditAction.allCases.map(\.rawValue).joined(separator: ", ")).")
    var action: String?

    @Option(name: .customLong("limit"), help: "At most this many events (default 50), following pages as needed.")
    var limit: Int = 50

    @Flag(name: .customLong("json"), help: "Print {\"events\": [...]} as the API returns them.")
    var json = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        if let action, AuditAction(rawValue: action) == nil {
            throw ValidationError("--action must be one of: \(AuditAction.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    mutating func execute(in context: CLIContext) async throws -> Int32 {
        let api = try connection.api(in: context)
        var events: [AuditEvent] = []
        var cursor: String?
        repeat {
            let page: AuditPage
            do {
                page = try await api.audit(limit: min(500, limit - events.count), cursor: cursor, actor: actor, action: action)
            } catch { throw CLIError.api(what: "read audit trail", error) }
            events += page.events
            cursor = page.nextCursor
        } while cursor != nil && events.count < limit
        if json {
            context.output.out(try JSONOutput.encode(AuditPage(events: events, nextCursor: nil)) + "\n")
            return ExitStatus.success
        }
        var table = TextTable("TIME", "ACTOR", "ACTION", "SUBJECT", "ADDRESS")
        for event in events {
            table.add(FleetJSON.formatDate(event.at), event.actor, event.action, event.subject, event.address ?? "-")
        }
        context.output.out(table.text)
        return ExitStatus.success
    }
}
