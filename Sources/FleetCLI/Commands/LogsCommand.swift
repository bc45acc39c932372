import ArgumentParser
import FleetClient
import FleetProtocol
import Foundation

/// `fleet logs`: a command's output, prefixed by node, or one node's raw bytes.
struct LogsCommand: FleetSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print a command's output: prefixed lines, or one node's exact bytes with --raw.",
        discussion: """
            Without --follow it prints what is stored now and returns; with --follow it waits until \
            every invocation has finished and all output is in. --raw writes one stream of one node \
            exactly as produced (binary-safe), so a redirect reproduces it byte for byte.

            Examples:
              fleet logs 6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10
              fleet logs 6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10 --node edge-1 --follow
              fleet logs 6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10 --node edge-1 --raw > out.bin
              fleet logs 6f1c2a9e-3b7d-4c1e-9a55-0d2f4b8e7c10 --node edge-1 --raw --stream stderr
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The command id.")
    var id: String

    @Option(name: .customLong("node"), help: "Only this node's output (required with --raw when the command has several targets).")
    var node: String?

    @Flag(name: .customLong("follow"), help: "Keep printing until the command has finished and all output is in.")
    var follow = false

    @Flag(name: .customLong("raw"), help: "Write the node's bytes exactly as produced, without prefixes.")
    var raw = false

    @Option(name: .customLong("stream"), help: "stdout or stderr: only this stream (with --raw, default stdout).")
    var stream: LogStream?

    func validate() throws {
        try CommandIdArgument.validate(id)
    }

    mutating func execute(in context: CLIContext) async throws -> Int32 {
        let api = try connection.api(in: context)
        let commandId = try CommandIdArgument.parse(id)
        let detail: CommandDetail
        do { detail = try await api.fullCommand(commandId) } catch { throw CLIError.api(what: "read command", error) }
        let targets = detail.invocations.map(\.nodeId)
        if let node, !targets.contains(node) { throw CLIError.refused("command \(id) has no invocation on node '\(node)'") }
        if raw {
            guard let chosen = node ?? (targets.count == 1 ? targets[0] : nil) else {
                throw CLIError.usage("--raw needs --node: the command has \(targets.count) targets")
            }
            return try await RawOutput(api: api, context: context)
                .write(commandId, node: chosen, stream: stream ?? .stdout, follow: follow)
        }
        return try await prefixed(api, commandId, targets: node.map { [$0] } ?? targets, context: context)
    }

    private func prefixed(_ api: any FleetOperatorAPI, _ id: UUID, targets: [String], context: CLIContext) async throws -> Int32 {
        let writer = StatusWriter(sink: context.output, showsProgress: false)
        let printer = NodeLinePrinter(
            nodes: targets, writer: writer, colourOut: context.colours(toError: false), colourErr: context.colours(toError: true))
        var tailer = LogTailer(api: api, commandId: id, nodeId: node, clock: context.clock)
        tailer.stopsWhenCaughtUp = !follow
        tailer.wait = follow ? 10 : 0
        let failure = LastFailure()
        let only = stream
        let single = node
        await tailer.run { event in
            switch event {
            case .page(let page):
                failure.set(nil)
                for chunk in page.chunks where only == nil || chunk.stream == only {
                    printer.append(chunk.decodedBytes() ?? [], node: chunk.nodeId ?? single ?? "?", stream: chunk.stream)
                }
            case .failed(let error): failure.set(error)
            case .finished: break
            }
        }
        printer.flush()
        if let error = failure.get() { throw CLIError.api(what: "read output", error) }
        return ExitStatus.success
    }
}

extension LogStream: ExpressibleByArgument {}
