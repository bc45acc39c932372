import FleetClient
import FleetConsole
import FleetProtocol
import Foundation

/// A server that exists only in memory: `nodeCount` nodes and one command whose output is
/// `outputBytes` of generated lines, for the benchmark.
struct SyntheticFleetAPI: FleetAPI {
    let nodeCount: Int
    let outputBytes: Int64
    let chunkBytes: Int
    let commandId = UUID(uuidString: "00000000-0000-4000-8000-00000000beef") ?? UUID()
    private let block: String
    private let now = Date()

    init(nodeCount: Int, outputBytes: Int64 = 0, chunkBytes: Int = 4096) {
        self.nodeCount = nodeCount
        self.outputBytes = outputBytes
        self.chunkBytes = chunkBytes
        var text = ""
        var n = 0
        while text.utf8.count < chunkBytes {
            let worker = String(n % 97)
            let bytes = String(n * 37)
            text += "2026-11-29T05:00:00Z worker[\(worker)] processed batch \(n) in 12ms status=ok bytes=\(bytes)\n"
            n += 1
        }
        block = String(text.utf8.prefix(chunkBytes)) ?? text
    }

    func listNodes(limit: Int, cursor: String?) async throws(FleetAPIError) -> NodeListResponse {
        let start = cursor.flatMap(Int.init) ?? 0
        let end = min(nodeCount, start + limit)
        let regions = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"]
        var nodes: [NodeInfo] = []
        nodes.reserveCapacity(end - start)
        for i in start..<end {
            let attrs: [String: String] = ["region": regions[i % regions.count], "role": i % 3 == 0 ? "db" : "web", "arch": "x86_64"]
            let status: NodeStatus = i % 500 == 0 ? .revoked : .active
            let seen: Date = now.addingTimeInterval(-Double(i % 120))
            nodes.append(
                NodeInfo(
                    nodeId: String(format: "edge-%05d", i), attrs: attrs, status: status, online: i % 7 != 0,
                    agentVersion: "0.1.\(i % 3)", registeredAt: now.addingTimeInterval(-86_400), lastSeenAt: seen))
        }
        return NodeListResponse(nodes: nodes, nextCursor: end < nodeCount ? String(end) : nil)
    }

    func listCommands(limit: Int, cursor: String?) async throws(FleetAPIError) -> CommandListResponse {
        CommandListResponse(commands: [], nextCursor: nil)
    }

    func command(
        _ id: UUID, limit: Int?, cursor: String?, state: InvocationState?
    ) async throws(FleetAPIError)
        -> CommandDetail
    {
        throw .server(status: 404, code: "not_found", message: "synthetic")
    }

    func logs(_ id: UUID, nodeId: String?, cursor: String?, limit: Int, wait: Int) async throws(FleetAPIError) -> LogPage {
        var offset = cursor.flatMap(Int64.init) ?? 0
        var chunks: [LogChunk] = []
        while chunks.count < limit, offset < outputBytes {
            chunks.append(LogChunk(offset: offset, stream: .stdout, data: block, nodeId: nodeId ?? "edge-00001"))
            offset += Int64(block.utf8.count)
        }
        return LogPage(commandId: id, nodeId: nodeId, chunks: chunks, nextCursor: String(offset), complete: offset >= outputBytes)
    }

    func submit(_ request: SubmitCommandRequest) async throws(FleetAPIError) -> SubmitCommandResponse {
        throw .unreachable("synthetic")
    }
    func cancel(_ id: UUID) async throws(FleetAPIError) -> CancelResponse { throw .unreachable("synthetic") }
    func revoke(_ nodeId: String) async throws(FleetAPIError) -> RevokeResponse { throw .unreachable("synthetic") }
    func artifacts() async throws(FleetAPIError) -> ArtifactList { ArtifactList(artifacts: []) }
}
