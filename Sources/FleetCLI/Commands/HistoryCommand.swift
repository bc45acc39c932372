import ArgumentParser
import FleetClient
import FleetProtocol
import Foundation

/// `fleet history`: recent commands, newest first.
struct HistoryCommand: FleetSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List recent commands, newest first, with their per-state counts.",
        discussion: """
            Examples:
              fleet history
              fleet history --limit 5 --json | jq -r '.commands[].command_id'
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("limit"), help: "How many commands (1…500, default 20).")
    var limit = 20

    @Flag(name: .customLong("json"), help: "Print {\"commands\": [...]} as the API returns them.")
    var json = false

    func validate() throws {
        guard (1...500).contains(limit) else { throw ValidationError("--limit must be 1…500") }
    }

    mutating func execute(in context: CLIContext) async throws -> Int32 {
        let api = try connection.api(in: context)
        let page: CommandListResponse
        do { page = try await api.listCommands(limit: limit, cursor: nil) } catch { throw CLIError.api(what: "list commands", error) }
        if json {
            context.output.out(try JSONOutput.encode(page) + "\n")
            return ExitStatus.success
        }
        var table = TextTable("COMMAND", "CREATED", "BY", "TYPE", "TARGETS", "STATES", "WHAT")
        for command in page.commands {
            table.add(
                command.commandId.uuidString.lowercased(), ago(command.createdAt, now: context.now()), command.createdBy,
                command.commandType.rawValue, String(command.targetCount), Self.counts(command.counts), command.payload.historyText)
        }
        context.output.out(table.text)
        return ExitStatus.success
    }

    /// `2 succeeded, 1 failed`: the non-zero counts in lifecycle order.
    static func counts(_ counts: StateCounts) -> String {
        let pairs: [(String, Int)] = [
            ("queued", counts.queued), ("delivered", counts.delivered), ("running", counts.running), ("succeeded", counts.succeeded),
            ("failed", counts.failed), ("timed_out", counts.timedOut), ("cancelled", counts.cancelled), ("expired", counts.expired),
            ("lost", counts.lost),
        ]
        let shown = pairs.filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }
        return shown.isEmpty ? "-" : shown.joined(separator: ", ")
    }
}
