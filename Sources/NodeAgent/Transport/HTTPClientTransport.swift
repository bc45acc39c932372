import AsyncHTTPClient
import FleetTLS
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ``AgentTransport`` over AsyncHTTPClient, on a client whose sockets notice a dead link.
///
/// An edge link can go silent (a blackhole, not a reset). Without help, a request in flight then
/// waits for its deadline (up to a minute) or for TCP's retransmit backoff after the link is
/// back, and the node stays dark tens of seconds after the heal. So every connection gets TCP
/// keepalive (a silent peer is found within ~11 s, also while a long-poll is held) and
/// `TCP_USER_TIMEOUT` (data unacknowledged for 10 s aborts the connection), connecting gives up
/// after a few seconds, and the next request opens a fresh connection instead of waiting on
/// the stalled one.
public struct HTTPClientTransport: AgentTransport {
    /// Responses larger than this are refused (the API never sends more than a few KiB to agents).
    static let maxResponseBytes = 4 * 1024 * 1024

    /// Socket settings of the agent's connections.
    public struct LinkSettings: Sendable, Hashable {
        /// Idle time before the first keepalive probe.
        public var keepAliveIdle = 5
        /// Time between unanswered probes.
        public var keepAliveInterval = 2
        /// Unanswered probes after which the connection is dead.
        public var keepAliveCount = 3
        /// Longest time sent data may stay unacknowledged before the connection is aborted.
        public var userTimeoutMilliseconds = 10_000
        /// Bound on opening one connection (SYNs lost in a blackhole are retried by the caller).
        public var connectTimeout: Duration = .seconds(3)

        public init() {}
    }

    /// The process's client for agent-svc under `trust` (``SharedHTTPClients``).
    public static func agentClient(trust: TrustSettings) -> HTTPClient {
        SharedHTTPClients.client(.fleetServer, trust: trust) { makeClient(LinkSettings(), tls: trust.forFleetServer) }
    }

    let baseURL: String
    let host: String
    let client: HTTPClient

    /// A transport talking to `baseURL` (scheme, host, port; a trailing slash is ignored).
    public init(baseURL: String, client: HTTPClient? = nil) {
        var trimmed = baseURL
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.baseURL = trimmed
        self.host = URL(string: trimmed)?.host ?? trimmed
        self.client = client ?? Self.agentClient(trust: .system)
    }

    /// A client with `settings` on every connection it opens; the caller owns its shutdown.
    public static func makeClient(_ settings: LinkSettings, tls: TLSConfiguration? = nil) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        configuration.timeout.connect = .milliseconds(Int64(settings.connectTimeout.components.seconds * 1000))
        // Idle pooled connections are probed by keepalive; this only bounds how long one lingers.
        configuration.connectionPool.idleTimeout = .seconds(30)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Void> = { channel in
            Self.applyLinkOptions(settings, to: channel)
        }
        configuration.http1_1ConnectionDebugInitializer = initializer
        configuration.http2ConnectionDebugInitializer = initializer
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sets keepalive and TCP_USER_TIMEOUT on a new connection. A platform that refuses one of
    /// them still gets the others (and the request deadlines still apply).
    static func applyLinkOptions(_ settings: LinkSettings, to channel: any Channel) -> EventLoopFuture<Void> {
        typealias Option = ChannelOptions.Types.SocketOption
        let tcp = NIOBSDSocket.OptionLevel(rawValue: Int32(IPPROTO_TCP))
        var options: [(Option, SocketOptionValue)] = [
            (Option(level: .socket, name: .so_keepalive), 1)
        ]
        #if os(Linux)
        options += [
            (Option(level: tcp, name: NIOBSDSocket.Option(rawValue: TCP_KEEPIDLE)), settings.keepAliveIdle),
            (Option(level: tcp, name: NIOBSDSocket.Option(rawValue: TCP_KEEPINTVL)), settings.keepAliveInterval),
            (Option(level: tcp, name: NIOBSDSocket.Option(rawValue: TCP_KEEPCNT)), settings.keepAliveCount),
            (Option(level: tcp, name: NIOBSDSocket.Option(rawValue: Int32(TCP_USER_TIMEOUT))), settings.userTimeoutMilliseconds),
        ]
        #endif
        let results = options.map { option, value in
            channel.setOption(option, value: value).recover { _ in }
        }
        return EventLoopFuture.andAllComplete(results, on: channel.eventLoop)
    }

    public func send(_ request: TransportRequest, timeout: Duration) async throws -> TransportResponse {
        var httpRequest = HTTPClientRequest(url: baseURL + request.path)
        httpRequest.method = HTTPMethod(rawValue: request.method.rawValue)
        httpRequest.headers.add(name: "User-Agent", value: "node-agent/\(NodeAgentVersion.current)")
        for (name, value) in request.headers {
            httpRequest.headers.replaceOrAdd(name: name, value: value)
        }
        if let body = request.body {
            httpRequest.headers.replaceOrAdd(name: "Content-Type", value: request.contentType)
            httpRequest.body = .bytes(ByteBuffer(bytes: body))
        }
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        let response: HTTPClientResponse
        do {
            response = try await client.execute(httpRequest, timeout: .milliseconds(milliseconds))
        } catch {
            // A certificate that does not verify will not verify on the next try either: the
            // log must say why in words, and the retry loop keeps going (a fixed CA file heals).
            throw TLSFailure.classify(error, host: host) ?? error
        }
        let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
        return TransportResponse(status: Int(response.status.code), body: Data(buffer.readableBytesView))
    }
}
