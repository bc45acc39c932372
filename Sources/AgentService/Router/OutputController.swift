import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// Raw output for curl and scripts: one stream of one invocation as the bytes the node produced.
///
/// `curl -o out.bin '…/v1/commands/ID/output?node_id=edge-1&stream=stdout'` gets them exactly,
/// where `/logs` needs paging and base64 decoding.
struct OutputController: Sendable {
    let auth: Authenticator
    let logs: LogChunkStore

    func addRoutes(to router: Router<FleetRequestContext>) {
        router.get("/v1/commands/{id}/output") { request, context in try await output(request, context) }
    }

    /// Streams from Postgres page by page. A complete stream carries `Content-Length`; one still
    /// being produced is sent chunked and ends where the stored bytes ended when the request came.
    func output(_ request: Request, _ context: FleetRequestContext) async throws -> Response {
        _ = try await auth.requireOperator(request, context)
        let id = try OperatorController.commandId(context)
        guard let nodeId = try Self.single("node_id", of: request) else {
            throw HTTPAPIError.badRequest("query parameter 'node_id' is required: whose output to send", code: "invalid_node_id")
        }
        guard FleetValidation.isValidNodeId(nodeId) else {
            throw HTTPAPIError.badRequest("node_id is not a valid node id", code: "invalid_node_id")
        }
        let streamText = try Self.single("stream", of: request) ?? LogStream.stdout.rawValue
        guard let stream = LogStream(rawValue: streamText) else {
            throw HTTPAPIError.badRequest("query parameter 'stream' must be stdout or stderr", code: "invalid_stream")
        }
        guard let extent = try await logs.outputExtent(commandId: id, nodeId: nodeId, stream: stream) else {
            throw HTTPAPIError.notFound("no command \(id.uuidString)")
        }
        let store = logs
        let end = extent.storedBytes
        let produce: @Sendable (inout any ResponseBodyWriter) async throws -> Void = { writer in
            try await store.streamOutput(commandId: id, nodeId: nodeId, stream: stream, upTo: end) { bytes in
                try await writer.write(bytes)
            }
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[Self.completeHeader] = extent.complete ? "true" : "false"
        let body = ResponseBody(contentLength: extent.complete ? Int(end) : nil, produce)
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Tells a script whether it got everything (`true`) or a prefix of output still being produced.
    static let completeHeader = HTTPField.Name("Fleet-Output-Complete")!

    /// The one value of a query parameter, nil when absent; given twice it is refused (which one was meant is a guess).
    static func single(_ name: String, of request: Request) throws -> String? {
        let values = request.uri.queryParameters.getAll(name)
        guard values.count <= 1 else { throw HTTPAPIError.badRequest("query parameter '\(name)' is given \(values.count) times") }
        return values.first
    }
}
