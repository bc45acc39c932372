import FleetProtocol
import Foundation
import Hummingbird
import Logging

/// The request context of every route: the body limit and the shared JSON coders.
public struct FleetRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Bodies above this are refused with 413 before they are decoded.
    public var maxUploadSize: Int

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = 8 * 1024 * 1024
    }

    public var requestDecoder: JSONDecoder { FleetJSON.makeDecoder() }
    public var responseEncoder: JSONEncoder { FleetJSON.makeEncoder() }
}

extension FleetRequestContext {
    /// The `{id}` path segment, percent-decoded (`edge%2D1` is `edge-1`); nil when it is absent
    /// or its escapes are malformed.
    var pathId: String? { parameters.get("id")?.removingPercentEncoding }
}
