import FleetClient
import FleetProtocol
import Foundation

/// `fleet logs --raw`: one stream of one node through `GET /v1/commands/{id}/output`, bytes untouched.
struct RawOutput {
    let api: any FleetOperatorAPI
    let context: CLIContext
    /// How often a follower looks whether the invocation has finished.
    var pollInterval: Duration = .milliseconds(500)

    /// Writes the stream to stdout. With `follow`, first waits until the invocation is final and
    /// every byte is stored, so the bytes written are the whole stream, written once.
    func write(_ id: UUID, node: String, stream: LogStream, follow: Bool) async throws(CLIError) -> Int32 {
        if follow { try await waitUntilFinal(id, node: node) }
        let sink = context.output
        while true {
            do {
                let read = try await api.output(id, nodeId: node, stream: stream) { bytes in sink.write(bytes, toError: false) }
                if !read.complete {
                    sink.err("fleet: \(node) is still running: wrote the \(read.bytes) bytes stored so far (add --follow to wait for all)\n")
                }
                return ExitStatus.success
            } catch let error {
                // The node has finished but its last uploads are still on their way: nothing was written yet.
                guard follow, case .server(409, "output_incomplete", _) = error else { throw .api(what: "read output", error) }
                do { try await context.clock.sleep(for: pollInterval) } catch { return ExitStatus.failure }
            }
        }
    }

    private func waitUntilFinal(_ id: UUID, node: String) async throws(CLIError) {
        while true {
            let detail: CommandDetail
            do { detail = try await api.fullCommand(id) } catch { throw .api(what: "read command", error) }
            if detail.invocations.first(where: { $0.nodeId == node })?.state.isTerminal ?? true { return }
            do { try await context.clock.sleep(for: pollInterval) } catch { throw .refused("interrupted") }
        }
    }
}
