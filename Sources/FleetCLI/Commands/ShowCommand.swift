import ArgumentParser
import FleetClient
import FleetProtocol
import Foundation

/// `fleet show`: one command and every target's invocation.
struct ShowCommand: FleetSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a command: what it runs, its counts, and each node's state, exit code, duration and bytes.",
        discussion: """
            Examples:
              fleet show 6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10
              fleet show 6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10 --json | jq '.invocations[] | select(.state=="failed")'
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The command id.")
    var id: String

    @Flag(name: .customLong("json"), help: "Print the command detail (every invocation) as JSON.")
    var json = false

    func validate() throws {
        try CommandIdArgument.validate(id)
    }

    mutating func execute(in context: CLIContext) async throws -> Int32 {
        let api = try connection.api(in: context)
        let commandId = try CommandIdArgument.parse(id)
        let detail: CommandDetail
        do { detail = try await api.fullCommand(commandId) } catch { throw CLIError.api(what: "read command", error) }
        context.output.out(json ? try JSONOutput.encode(detail) + "\n" : Self.text(detail))
        return ExitStatus.success
    }

    static func text(_ detail: CommandDetail) -> String {
        let command = detail.command
        var lines = [
            "command  \(command.commandId.uuidString.lowercased())",
            "type     \(command.commandType.rawValue)",
            "payload  \(command.payload.detailText)",
            "by       \(command.createdBy) at \(FleetJSON.formatDate(command.createdAt))",
        ]
        if let selector = command.selector { lines.append("selector \(selector)") }
        lines.append("states   \(HistoryCommand.counts(command.counts))")
        var table = TextTable("NODE", "STATE", "EXIT", "DURATION", "STDOUT", "STDERR", "REASON")
        for invocation in detail.invocations {
            let exit = invocation.exitCode.map(String.init) ?? invocation.signal.map { "sig \($0)" } ?? "-"
            table.add(
                invocation.nodeId, invocation.state.rawValue, exit,
                duration(from: invocation.startedAt, to: invocation.finishedAt), bytes(invocation.stdoutBytes),
                bytes(invocation.stderrBytes), invocation.reason ?? "")
        }
        return lines.joined(separator: "\n") + "\n\n" + table.text
    }
}
