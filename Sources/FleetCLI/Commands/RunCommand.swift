import ArgumentParser
import FleetClient
import FleetProtocol
import Foundation

/// `fleet run`: a RunCommand on the targets, followed live.
struct RunCommand: FleetSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a shell command on nodes and print their output, each line prefixed by its node.",
        discussion: """
            The words after -- are quoted for the node's /bin/sh, so each arrives as one argument; \
            use --shell for a pipeline or other shell syntax. stdout lines go to stdout as `node | …`, \
            stderr lines to stderr as `node ! …`, then one summary line per state on stderr.

            Exit status: 0 when every invocation succeeded; the node's exit code with one target; \
            1 otherwise; 2 for a wrong command line. Ctrl-C asks whether to cancel or detach (without \
            a terminal it detaches, exit 130).

            Examples:
              fleet run --targets edge-1,edge-2 -- uname -a
              fleet run --selector role=web --max-concurrency 25% --max-errors 1 -- systemctl restart nginx
              fleet run --selector '*' --shell 'df -h / | tail -1'
              id=$(fleet run --selector region=eu-west --detach -- apt-get update)
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var targets: TargetOptions
    @OptionGroup var follow: FollowOptions

    @Option(name: .customLong("timeout"), help: "Seconds the command may run on a node (default: the agent's).")
    var timeout: Int?

    @Option(name: .customLong("shell"), help: "The command as one shell string, instead of CMD ARGS…")
    var shell: String?

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, after --.")
    var words: [String] = []

    /// The words, without the `--` that separates them from fleet's own options.
    var commandWords: [String] { words.first == "--" ? Array(words.dropFirst()) : words }

    func validate() throws {
        if let timeout, !(1...86_400).contains(timeout) { throw ValidationError("--timeout must be 1…86400 seconds") }
        switch (shell, commandWords.isEmpty) {
        case (nil, true): throw ValidationError("give the command after --, e.g. fleet run --targets edge-1 -- uptime")
        case (.some, false): throw ValidationError("give either --shell or a command after --, not both")
        case (.some(let text), true) where text.trimmingCharacters(in: .whitespaces).isEmpty:
            throw ValidationError("--shell is empty")
        default: break
        }
    }

    /// The one string the node's shell runs.
    var commandLine: String { shell ?? ShellQuoting.join(commandWords) }

    mutating func execute(in context: CLIContext) async throws -> Int32 {
        let api = try connection.api(in: context)
        let payload = CommandPayload.runCommand(RunCommandPayload(cmd: commandLine, timeoutSec: timeout))
        return try await CommandFollower(api: api, context: context, options: follow).submitAndFollow(targets.request(payload))
    }
}
