import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Makes the client's address known to the audit statements of the request (``AuditLog``).
///
/// Behind Kong the TCP peer is Kong itself, so the address is the last `X-Forwarded-For` hop:
/// the one the nearest proxy appended, which a client cannot forge (earlier hops it can).
/// Without the header it is the peer.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = FleetRequestContext

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let address = Self.address(forwardedFor: request.headers[values: Self.forwardedFor], peer: context.remoteAddress)
        return try await AuditLog.$clientAddress.withValue(address) { try await next(request, context) }
    }

    static func address(forwardedFor values: [String], peer: SocketAddress?) -> String? {
        let hops = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        if let last = hops.last(where: { !$0.isEmpty }) { return String(last.prefix(64)) }
        return peer?.ipAddress
    }
}
