import ArgumentParser
import FleetClient
import FleetProtocol
import Foundation

/// `fleet cancel`: stop a command's queued and running invocations.
struct CancelCommand: FleetSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel every queued or running invocation of a command.",
        discussion: """
            Queued invocations end cancelled at once; running ones are stopped by their node \
            (SIGTERM to the process group, SIGKILL after a grace period).

            Example:
              fleet cancel 6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The command id.")
    var id: String

    func validate() throws {
        try CommandIdArgument.validate(id)
    }

    mutating func execute(in context: CLIContext) async throws -> Int32 {
        let api = try connection.api(in: context)
        let commandId = try CommandIdArgument.parse(id)
        let result: CancelResponse
        do { result = try await api.cancel(commandId) } catch { throw CLIError.api(what: "cancel", error) }
        context.output.out("cancelled \(result.cancelled) queued, stopping \(result.cancelling) on their nodes\n")
        return ExitStatus.success
    }
}

/// `fleet revoke`: a node's token stops working at once.
struct RevokeCommand: FleetSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a node: its token stops working at once and its queued work is cancelled.",
        discussion: """
            Example:
              fleet revoke edge-7
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The node id.")
    var node: String

    mutating func execute(in context: CLIContext) async throws -> Int32 {
        let api = try connection.api(in: context)
        let result: RevokeResponse
        do { result = try await api.revoke(node) } catch { throw CLIError.api(what: "revoke \(node)", error) }
        context.output.out("revoked \(result.nodeId) at \(FleetJSON.formatDate(result.revokedAt))\n")
        return ExitStatus.success
    }
}

/// `fleet upload`: an artifact (an agent binary for `update-agent`).
struct UploadCommand: FleetSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload a file as an artifact (an agent binary for update-agent); prints its id and sha256.",
        discussion: """
            Example:
              fleet upload .build/release/node-agent --name node-agent --version 0.2.0
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The file to upload.")
    var file: String

    @Option(name: .customLong("name"), help: "Artifact name, e.g. node-agent.")
    var name: String

    @Option(name: .customLong("version"), help: "The version the file is; for an agent, what its --version prints.")
    var version: String

    @Flag(name: .customLong("json"), help: "Print the stored artifact as JSON.")
    var json = false

    mutating func execute(in context: CLIContext) async throws -> Int32 {
        let api = try connection.api(in: context)
        let info: ArtifactInfo
        do { info = try await api.uploadArtifact(path: file, name: name, version: version) } catch { throw CLIError.api(what: "upload", error) }
        context.output.out(
            json ? try JSONOutput.encode(info) + "\n" : "artifact \(info.artifactId) sha256 \(info.sha256) (\(bytes(info.sizeBytes)))\n")
        return ExitStatus.success
    }
}

/// `fleet update-agent`: roll an uploaded agent binary out to nodes.
struct UpdateAgentCommand: FleetSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "update-agent",
        abstract: "Update node-agent on nodes to an uploaded artifact, and follow the rollout.",
        discussion: """
            Exit status as for run.

            Examples:
              fleet update-agent --selector role=canary --artifact 5d0c9e1a
              fleet update-agent --selector '*' --max-concurrency 10% --max-errors 2 --artifact 5d0c9e1a
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var targets: TargetOptions
    @OptionGroup var follow: FollowOptions

    @Option(name: .customLong("artifact"), help: "The artifact id `fleet upload` printed.")
    var artifact: String

    mutating func execute(in context: CLIContext) async throws -> Int32 {
        let api = try connection.api(in: context)
        let list: ArtifactList
        do { list = try await api.artifacts() } catch { throw CLIError.api(what: "list artifacts", error) }
        guard let info = list.artifacts.first(where: { $0.artifactId == artifact }) else {
            throw CLIError.refused("no artifact '\(artifact)': `fleet upload` prints the id")
        }
        let payload = CommandPayload.updateAgent(UpdateAgentPayload(version: info.version, sha256: info.sha256, artifactId: info.artifactId))
        return try await CommandFollower(api: api, context: context, options: follow).submitAndFollow(targets.request(payload))
    }
}

/// `fleet package install|remove|upgrade`: the node's package manager, non-interactive.
struct PackageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package",
        abstract: "Install, remove or upgrade packages with each node's package manager.",
        subcommands: [Action<Install>.self, Action<Remove>.self, Action<Upgrade>.self])

    protocol Kind: Sendable { static var action: PackageAction { get } }
    enum Install: Kind { static let action = PackageAction.install }
    enum Remove: Kind { static let action = PackageAction.remove }
    enum Upgrade: Kind { static let action = PackageAction.upgrade }

    struct Action<K: Kind>: FleetSubcommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(
                commandName: K.action.rawValue,
                abstract: "\(K.action.rawValue.capitalized) packages on nodes and follow it (exit status as for run).",
                discussion: """
                    Examples:
                      fleet package \(K.action.rawValue) curl jq --selector role=web
                      fleet package \(K.action.rawValue) nginx --targets edge-1 --manager apt
                    """)
        }

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var targets: TargetOptions
        @OptionGroup var follow: FollowOptions

        @Option(name: .customLong("manager"), help: "apt, dnf, yum, apk or zypper (default: what the node has).")
        var manager: PackageManagerKind?

        @Argument(help: "Package names (name or name=version).")
        var packages: [String] = []

        func validate() throws {
            if packages.isEmpty, K.action != .upgrade { throw ValidationError("name at least one package") }
        }

        mutating func execute(in context: CLIContext) async throws -> Int32 {
            let api = try connection.api(in: context)
            let payload = CommandPayload.updatePackage(UpdatePackagePayload(action: K.action, packages: packages, manager: manager))
            return try await CommandFollower(api: api, context: context, options: follow).submitAndFollow(targets.request(payload))
        }
    }
}

extension PackageManagerKind: ExpressibleByArgument {}
