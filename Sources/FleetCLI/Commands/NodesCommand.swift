import ArgumentParser
import FleetClient
import FleetProtocol
import Foundation

/// `fleet nodes`: the registered nodes as a table or JSON.
struct NodesCommand: FleetSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "List nodes: id, online, agent version, last seen, attrs.",
        discussion: """
            Examples:
              fleet nodes
              fleet nodes --selector 'region=eu-west,role in (web,api)'
              fleet nodes --json | jq -r '.nodes[] | select(.online) | .node_id'
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("selector"), help: "Only nodes whose attrs match this label selector.")
    var selector: String?

    @Flag(name: .customLong("json"), help: "Print {\"nodes\": [...]} as the API returns them.")
    var json = false

    mutating func execute(in context: CLIContext) async throws -> Int32 {
        let api = try connection.api(in: context)
        let nodes: [NodeInfo]
        do { nodes = try await api.allNodes(selector: selector) } catch { throw CLIError.api(what: "list nodes", error) }
        if json {
            context.output.out(try JSONOutput.encode(NodeListResponse(nodes: nodes, nextCursor: nil)) + "\n")
            return ExitStatus.success
        }
        context.output.out(Self.table(nodes, now: context.now()))
        return ExitStatus.success
    }

    static func table(_ nodes: [NodeInfo], now: Date) -> String {
        var table = TextTable("NODE", "ONLINE", "VERSION", "LAST SEEN", "ATTRS")
        for node in nodes {
            let online = node.status == .revoked ? "revoked" : node.online ? "yes" : "no"
            let attrs = node.attrs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            table.add(node.nodeId, online, node.agentVersion ?? "-", ago(node.lastSeenAt, now: now), attrs)
        }
        return table.text
    }
}
