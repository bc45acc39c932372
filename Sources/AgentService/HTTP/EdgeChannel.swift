import FleetProtocol
import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOSSL

/// The HTTP/1.1 connection agent-svc serves: Hummingbird's, with a ``RequestGuard`` between
/// the HTTP codec and the application, and a ``FirstByteWatch`` in front of the decoder so the
/// guard knows when a request's headers began to arrive; with a certificate, TLS under both.
struct EdgeChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let limits: EdgeLimits
    /// HTTPS with the certificate current when the connection opened; nil is plain HTTP.
    var certificate: ServerCertificate?

    private var http1: HTTP1Channel {
        let limits = self.limits
        var decoder = HTTP1Channel.Configuration.DecoderConfiguration()
        decoder.maxHeaderFieldSize = limits.maxHeaderFieldBytes
        decoder.maxHeaderListSize = limits.maxHeaderListBytes
        decoder.maxHeaderFieldCount = limits.maxHeaderCount
        return HTTP1Channel(
            responder: responder,
            configuration: .init(
                additionalChannelHandlers: [RequestGuard(limits: limits)], idleTimeout: limits.idleTimeout,
                httpDecoderConfiguration: decoder))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            // The watch sees the raw bytes, so the header timeout runs from the first byte of
            // the TLS handshake: a client that stalls in the handshake is closed like one that
            // stalls in its headers.
            try channel.pipeline.syncOperations.addHandler(FirstByteWatch())
            if let certificate {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: certificate.current))
            }
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

/// A request body that stopped arriving; the route reading it answers 408.
struct RequestBodyStalled: Error, CustomStringConvertible {
    let seconds: Int64
    var description: String { "request body stalled: no byte for \(seconds) s" }
}

/// Sits in front of the HTTP decoder and tells the guard when bytes arrive, which is the only
/// way to see that a request has begun before its headers are complete.
final class FirstByteWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var requestGuard: RequestGuard?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if requestGuard == nil {
            requestGuard = try? context.pipeline.syncOperations.handler(type: RequestGuard.self)
        }
        requestGuard?.bytesArrived()
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requestGuard = nil
    }
}

/// Times each request on one connection and answers what never reaches a route.
///
/// - headers not complete within `headerTimeout` of their first byte: 408 and close;
/// - a body with no byte for `bodyStallTimeout`: the body's reader fails with
///   ``RequestBodyStalled`` (the route answers 408) and the connection closes after it;
/// - an answer sent before its body arrived, or one saying `Connection: close`: the output is
///   closed after it, the rest of the body is read and dropped for `lingerTimeout`, then the
///   connection closes, so a declared gigabyte is never waited for;
/// - a request the parser refuses (headers too large, `Content-Length` with
///   `Transfer-Encoding` …): the JSON error shape instead of Hummingbird's empty 400.
final class RequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: EdgeLimits
    /// Requests whose head arrived and whose answer is not written yet. A client may pipeline
    /// several; Hummingbird answers them in order.
    private var unanswered = 0
    /// The newest request's body is still arriving.
    private var readingBody = false
    /// Bytes of a request arrived, its head has not: the header timer runs.
    private var awaitingHead = false
    /// Output closed after an early answer; input is dropped until the linger ends.
    private var lingering = false
    private var timer: Scheduled<Void>?
    private var lastBodyRead = NIODeadline.now()
    private var closeAfterAnswer = false
    private var context: ChannelHandlerContext?

    init(limits: EdgeLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    /// Called by ``FirstByteWatch`` on every read, before the decoder sees the bytes.
    func bytesArrived() {
        guard unanswered == 0, !readingBody, !awaitingHead, !lingering, let context else { return }
        awaitingHead = true
        schedule(in: limits.headerTimeout, context: context) { guard_, context in guard_.headTimedOut(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !lingering else {
            // The rest of a body already answered: dropped. Its end is the end of the connection.
            if case .end = unwrapInboundIn(data) { context.close(promise: nil) }
            return
        }
        switch unwrapInboundIn(data) {
        case .head:
            if awaitingHead { cancelTimer() }
            awaitingHead = false
            unanswered += 1
            readingBody = true
            lastBodyRead = .now()
            scheduleStallCheck(context: context)
        case .body:
            lastBodyRead = .now()
        case .end:
            if readingBody { cancelTimer() }
            readingBody = false
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            if response.headerFields[.connection]?.lowercased() == "close" { closeAfterAnswer = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            context.writeAndFlush(data, promise: promise)
            answerWritten(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A parse error before a route has the request: nobody else will answer it.
        if let parseError = error as? HTTPParserError, unanswered == 0, !readingBody, !lingering {
            cancelTimer()
            let (status, message) = Self.describe(parseError, limits: limits)
            answerAndClose(context: context, status: status, code: "bad_http_request", message: message)
            return
        }
        context.fireErrorCaught(error)
    }

    // MARK: - Steps

    private func answerWritten(context: ChannelHandlerContext) {
        guard !lingering else { return }
        unanswered = max(unanswered - 1, 0)
        if readingBody, unanswered == 0 {
            // Answered before its body arrived: never wait for the rest of it.
            cancelTimer()
            lingering = true
            context.close(mode: .output, promise: nil)
            schedule(in: limits.lingerTimeout, context: context) { _, context in context.close(promise: nil) }
        } else if closeAfterAnswer, unanswered == 0 {
            context.close(promise: nil)
        }
    }

    private func headTimedOut(context: ChannelHandlerContext) {
        guard awaitingHead else { return }
        answerAndClose(
            context: context, status: .requestTimeout, code: "request_timeout",
            message: "request headers not received within \(limits.headerTimeout.nanoseconds / 1_000_000_000) s")
    }

    private func scheduleStallCheck(context: ChannelHandlerContext) {
        let deadline = lastBodyRead + limits.bodyStallTimeout
        schedule(in: deadline - .now(), context: context) { guard_, context in
            guard guard_.readingBody, !guard_.lingering else { return }
            if NIODeadline.now() >= guard_.lastBodyRead + guard_.limits.bodyStallTimeout {
                guard_.closeAfterAnswer = true
                context.fireErrorCaught(RequestBodyStalled(seconds: guard_.limits.bodyStallTimeout.nanoseconds / 1_000_000_000))
            } else {
                guard_.scheduleStallCheck(context: context)
            }
        }
    }

    private func answerAndClose(context: ChannelHandlerContext, status: HTTPResponse.Status, code: String, message: String) {
        let body = (try? FleetJSON.makeEncoder().encode(ErrorResponse(code: code, message: message))) ?? Data()
        var fields = HTTPFields()
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(body.count)
        fields[.connection] = "close"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        lingering = true
    }

    private func schedule(
        in delay: TimeAmount, context: ChannelHandlerContext, _ fire: @escaping (RequestGuard, ChannelHandlerContext) -> Void
    ) {
        cancelTimer()
        let loop = context.eventLoop.assumeIsolated()
        timer = loop.scheduleTask(in: max(delay, .zero)) { [self] in
            timer = nil
            fire(self, context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    /// The status and message for a request the parser refused.
    static func describe(_ error: HTTPParserError, limits: EdgeLimits) -> (HTTPResponse.Status, String) {
        switch error {
        case .headerOverflow:
            (
                .requestHeaderFieldsTooLarge,
                "request line or headers too large (at most \(limits.maxHeaderFieldBytes) bytes a line, "
                    + "\(limits.maxHeaderListBytes) in all, \(limits.maxHeaderCount) headers)"
            )
        case .unexpectedContentLength:
            (.badRequest, "Content-Length together with Transfer-Encoding (or twice) is ambiguous; send one")
        case .invalidContentLength:
            (.badRequest, "Content-Length is not a valid length")
        case .invalidURL, .invalidPath, .invalidQueryString, .invalidHost, .invalidPort, .invalidFragment:
            (.badRequest, "request target is not a valid URI")
        default:
            (.badRequest, "malformed HTTP request (\(error))")
        }
    }
}
