import FleetAuth
import FleetProtocol
import Foundation
import Hummingbird
import Logging

/// `POST /v1/agents/register`: enrolment with the shared enrollment token.
struct RegistrationController: Sendable {
    let enrollmentToken: String?
    let nodes: NodeStore
    let auth: Authenticator
    let tokens: TokenAuthority
    let tokenTTL: TimeInterval

    func addRoutes(to router: Router<FleetRequestContext>) {
        router.post("/v1/agents/register") { request, context in try await register(request, context) }
    }

    func register(_ request: Request, _ context: FleetRequestContext) async throws -> JSONBody<NodeTokenResponse> {
        guard let expected = enrollmentToken else {
            throw HTTPAPIError.forbidden("registration is disabled: agent-svc has no ENROLLMENT_TOKEN")
        }
        guard let presented = request.headers.first(where: { $0.name.canonicalName == "x-enrollment-token" })?.value else {
            throw HTTPAPIError.unauthorized("missing X-Enrollment-Token header")
        }
        guard Self.constantTimeEquals(presented, expected) else { throw HTTPAPIError.unauthorized("enrollment token is not valid") }
        let body = try await request.decodeJSON(RegisterRequest.self, limit: 64 * 1024)
        guard FleetValidation.isValidNodeId(body.nodeId) else {
            throw HTTPAPIError.badRequest(
                "node_id must be 1-128 characters of letters, digits, '.', '_', '-' and not start with '.' or '-'",
                code: "invalid_node_id")
        }
        guard body.attrs.count <= 64, body.attrs.allSatisfy({ $0.key.utf8.count <= 64 && $0.value.utf8.count <= 1024 }) else {
            throw HTTPAPIError.badRequest("attrs: at most 64 entries, keys up to 64 and values up to 1024 bytes", code: "invalid_attrs")
        }
        switch try await nodes.register(nodeId: body.nodeId, attrs: body.attrs) {
        case .created(let version):
            let issued = try await tokens.issueNodeToken(nodeId: body.nodeId, version: version, ttl: tokenTTL)
            context.logger.info("node registered", metadata: ["node_id": "\(body.nodeId)"])
            return JSONBody(NodeTokenResponse(nodeId: body.nodeId, token: issued.token, expiresAt: issued.expiresAt), status: .created)
        case .exists(let version, let revoked):
            if revoked { throw HTTPAPIError.forbidden("node '\(body.nodeId)' has been revoked") }
            // Only the node itself (holding a current token) may re-register its id.
            guard let caller = try await auth.optionalNode(request), caller.nodeId == body.nodeId else {
                throw HTTPAPIError.conflict("node id '\(body.nodeId)' is already registered", code: "node_exists")
            }
            try await nodes.updateAttrs(nodeId: body.nodeId, attrs: body.attrs)
            let issued = try await tokens.issueNodeToken(nodeId: body.nodeId, version: version, ttl: tokenTTL)
            return JSONBody(NodeTokenResponse(nodeId: body.nodeId, token: issued.token, expiresAt: issued.expiresAt))
        }
    }

    /// Compares without an early exit, so response time does not reveal a matching prefix.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<max(left.count, right.count) {
            difference |= (index < left.count ? left[index] : 0) ^ (index < right.count ? right[index] : 0)
        }
        return difference == 0
    }
}
