import FleetProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Artifacts: operators upload and list them; nodes download the one an UpdateAgent names.
struct ArtifactController: Sendable {
    let auth: Authenticator
    let artifacts: ArtifactStore

    func addRoutes(to router: Router<FleetRequestContext>) {
        router.post("/v1/artifacts") { request, context in try await upload(request, context) }
        router.get("/v1/artifacts") { request, context in try await list(request, context) }
        router.get("/v1/artifacts/{id}/content") { request, context in try await download(request, context) }
    }

    /// The raw request body is the file: `curl --data-binary @node-agent '…/v1/artifacts?name=node-agent&version=0.2.0'`.
    func upload(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<ArtifactInfo> {
        let actor = try await auth.requireOperator(request, context)
        let query = request.uri.queryParameters
        guard let name = query["name"].map(String.init), FleetValidation.isValidLabel(name) else {
            throw HTTPAPIError.badRequest(
                "query parameter 'name' is required: 1-64 letters, digits, '.', '-', '+', '_'", code: "invalid_artifact")
        }
        guard let version = query["version"].map(String.init), FleetValidation.isValidLabel(version) else {
            throw HTTPAPIError.badRequest(
                "query parameter 'version' is required: 1-64 letters, digits, '.', '-', '+', '_'", code: "invalid_artifact")
        }
        let expected = query["sha256"].map { String($0).lowercased() }
        if let expected, !FleetValidation.isValidSHA256(expected) {
            throw HTTPAPIError.badRequest("query parameter 'sha256' must be 64 hex digits", code: "invalid_artifact")
        }
        if let length = request.headers[.contentLength].flatMap(Int64.init), length > artifacts.maxBytes {
            throw HTTPAPIError.tooLarge("artifact of \(length) bytes exceeds the limit of \(artifacts.maxBytes) bytes")
        }
        let info = try await artifacts.create(
            .init(name: name, version: version, expectedSHA256: expected), body: request.body, actor: actor.name)
        context.logger.notice(
            "artifact uploaded",
            metadata: [
                "artifact_id": "\(info.artifactId)", "name": "\(name)", "version": "\(version)", "size": "\(info.sizeBytes)",
                "sha256": "\(info.sha256)", "by": "\(actor.name)",
            ])
        return JSONBody(info, status: .created)
    }

    func list(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<ArtifactList> {
        _ = try await auth.requireOperator(request, context)
        let limit = try request.queryInt("limit", in: 1...1000) ?? 100
        return JSONBody(ArtifactList(artifacts: try await artifacts.list(limit: limit)))
    }

    /// Streams the content block by block; only to a node with an UpdateAgent for it in flight.
    func download(_ request: Request, _ context: FleetRequestContext) async throws -> Response {
        let node = try await auth.requireNode(request)
        guard let id = context.pathId, FleetValidation.isValidLabel(id) else {
            throw HTTPAPIError.badRequest("artifact id is not valid", code: "invalid_artifact_id")
        }
        guard let info = try await artifacts.info(artifactId: id) else { throw HTTPAPIError.notFound("no artifact '\(id)'") }
        guard try await artifacts.nodeMayDownload(nodeId: node.nodeId, artifactId: id) else {
            throw HTTPAPIError.forbidden("node '\(node.nodeId)' has no UpdateAgent in flight that names artifact '\(id)'")
        }
        let store = artifacts
        let blocks = Int((info.sizeBytes + Int64(ArtifactStore.blockBytes) - 1) / Int64(ArtifactStore.blockBytes))
        let body = ResponseBody(contentLength: Int(info.sizeBytes)) { writer in
            for seq in 0..<blocks {
                guard let block = try await store.block(artifactId: id, seq: seq) else {
                    throw DatabaseError.unexpected(operation: "download artifact", detail: "block \(seq) of \(id) is missing")
                }
                try await writer.write(block)
            }
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[ArtifactController.digestHeader] = info.sha256
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The stored digest, so a client can check what it received without a second request.
    static let digestHeader = HTTPField.Name("X-Artifact-SHA256")!
}
