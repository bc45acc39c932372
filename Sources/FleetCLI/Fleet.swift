import ArgumentParser
import FleetClient
import FleetProtocol
import FleetTLS
import Foundation

/// `fleet`: the operator CLI.
struct Fleet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Run commands on a Fleet of nodes from scripts and shells.",
        discussion: """
            Talks to agent-svc at AGENT_SVC_URL (default http://127.0.0.1:8080) with the operator token in \
            FLEET_TOKEN; --agent-svc-url and --token override them (prefer the environment for the token: \
            flags show in the process list).

            Over https the server's certificate is checked against the system trust store, or only against \
            the PEM bundle in FLEET_CA_FILE when it is set. Plain http is for loopback: to any other host it \
            needs ALLOW_INSECURE_HTTP=1.

            Exit status: 0 when every invocation succeeded; the node's exit code when the command had one \
            target; 1 otherwise (or when a call failed); 2 for a wrong command line; 78 for a configuration \
            refused (plain http off loopback, an unusable FLEET_CA_FILE); 130 after Ctrl-C detached.

            Examples:
              fleet nodes --selector region=eu-west
              fleet run --selector role=web -- systemctl is-active nginx
              fleet logs 6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10 --node edge-1 --raw > out.bin
              fleet --generate-completion-script bash > /etc/bash_completion.d/fleet
            """,
        subcommands: [
            NodesCommand.self, RunCommand.self, LogsCommand.self, ShowCommand.self, HistoryCommand.self, CancelCommand.self,
            RevokeCommand.self, UploadCommand.self, UpdateAgentCommand.self, PackageCommand.self, TokensCommand.self,
            AuditCommand.self,
        ])
}

/// Where agent-svc is and who is asking: every subcommand takes these.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("agent-svc-url"), help: "agent-svc base URL (AGENT_SVC_URL, default http://127.0.0.1:8080).")
    var serverURL: String?

    @Option(name: .customLong("token"), help: "Operator token (FLEET_TOKEN).")
    var token: String?

    /// The client for the configured server; a usage error when no token is configured.
    func api(in context: CLIContext) throws(CLIError) -> any FleetOperatorAPI {
        let url = serverURL ?? context.environment["AGENT_SVC_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw .usage("AGENT_SVC_URL must start with http:// or https:// (got '\(url.prefix(80))')")
        }
        let allowInsecure = PlainHTTPPolicy.allowsInsecure(context.environment)
        if let refusal = PlainHTTPPolicy.refusal(url: url, variable: "AGENT_SVC_URL", allowInsecure: allowInsecure) {
            throw .configuration(refusal)
        }
        do {
            _ = try TrustSettings.fromEnvironment(context.environment)
        } catch {
            throw .configuration(error.description)
        }
        guard let token = token ?? context.environment["FLEET_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw .usage("an operator token is required: set FLEET_TOKEN or pass --token (mint one with `agent-svc operator-token --name $USER --role operator`)")
        }
        return context.makeAPI(url, token)
    }
}

/// Which nodes a command goes to and how fast it rolls out.
struct TargetOptions: ParsableArguments {
    @Option(name: .customLong("targets"), help: "Comma-separated node ids.")
    var targets: String?

    @Option(name: .customLong("selector"), help: "A label selector over node attrs (`region=eu-west,role in (web,db)`; `*` = every node).")
    var selector: String?

    @Option(name: .customLong("max-concurrency"), help: "At most N (or N%) of the targets at once.")
    var maxConcurrency: String?

    @Option(name: .customLong("max-errors"), help: "Stop sending after more than N (or N%) failures.")
    var maxErrors: String?

    func validate() throws {
        guard (targets == nil) != (selector == nil) else { throw ValidationError("give exactly one of --targets and --selector") }
        if let targets, Self.ids(targets).isEmpty { throw ValidationError("--targets names no node id") }
        if let text = maxConcurrency, RolloutLimit(text: text) == nil {
            throw ValidationError("--max-concurrency must be a number or a percentage such as 10%")
        }
        if let text = maxErrors, RolloutLimit(text: text) == nil {
            throw ValidationError("--max-errors must be a number or a percentage such as 5%")
        }
    }

    static func ids(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A submit of `payload` to these targets.
    func request(_ payload: CommandPayload) -> SubmitCommandRequest {
        SubmitCommandRequest(
            targets: targets.map(Self.ids) ?? [], selector: selector, payload: payload,
            maxConcurrency: maxConcurrency.flatMap(RolloutLimit.init(text:)), maxErrors: maxErrors.flatMap(RolloutLimit.init(text:)))
    }
}

/// How a submitted command is followed.
struct FollowOptions: ParsableArguments {
    @Flag(name: .customLong("detach"), help: "Print only the command id and return at once.")
    var detach = false

    @Flag(name: .customLong("json"), help: "Print the final command detail as JSON instead of the output.")
    var json = false
}
