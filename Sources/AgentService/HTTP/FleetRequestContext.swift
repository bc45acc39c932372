import FleetProtocol
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The request context of every route: the body limit and the shared JSON coders.
public struct FleetRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Bodies above this are refused with 413 before they are decoded.
    public var maxUploadSize: Int
    /// The TCP peer (Kong, when the service runs behind it); the audit trail's fallback address.
    public var remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = 8 * 1024 * 1024
        self.remoteAddress = source.channel.remoteAddress
    }

    public var requestDecoder: JSONDecoder { FleetJSON.makeDecoder() }
    public var responseEncoder: JSONEncoder { FleetJSON.makeEncoder() }
}

extension FleetRequestContext {
    /// The `{id}` path segment, percent-decoded (`edge%2D1` is `edge-1`); nil when it is absent
    /// or its escapes are malformed.
    var pathId: String? { parameters.get("id")?.removingPercentEncoding }
}
