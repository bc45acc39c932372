import FleetProtocol
import Foundation
import Hummingbird

/// A client-visible failure: one HTTP status, a stable code and a message that names the problem.
///
/// Every error leaving the router becomes one of these (see ``ErrorMiddleware``), so every
/// response body has the shape `{"error":{"code":"…","message":"…"}}`.
public struct HTTPAPIError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = (try? FleetJSON.makeEncoder().encode(ErrorResponse(code: code, message: message))) ?? Data()
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension HTTPAPIError {
    static func badRequest(_ message: String, code: String = "bad_request") -> HTTPAPIError {
        HTTPAPIError(.badRequest, code: code, message: message)
    }
    static func unauthorized(_ message: String) -> HTTPAPIError {
        var error = HTTPAPIError(.unauthorized, code: "unauthorized", message: message)
        error.headers[.wwwAuthenticate] = "Bearer"
        return error
    }
    static func forbidden(_ message: String) -> HTTPAPIError { HTTPAPIError(.forbidden, code: "forbidden", message: message) }
    static func notFound(_ message: String) -> HTTPAPIError { HTTPAPIError(.notFound, code: "not_found", message: message) }
    static func conflict(_ message: String, code: String = "conflict") -> HTTPAPIError {
        HTTPAPIError(.conflict, code: code, message: message)
    }
    static func tooLarge(_ message: String) -> HTTPAPIError {
        HTTPAPIError(.contentTooLarge, code: "payload_too_large", message: message)
    }
    static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: [HTTPRequest.Method]) -> HTTPAPIError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        var error = HTTPAPIError(
            .methodNotAllowed, code: "method_not_allowed", message: "\(method.rawValue) is not served here; use \(list)")
        error.headers[.allow] = list
        return error
    }
    static func requestTimeout(_ message: String) -> HTTPAPIError {
        var error = HTTPAPIError(.requestTimeout, code: "request_timeout", message: message)
        error.headers[.connection] = "close"
        return error
    }
    static func unavailable(_ message: String) -> HTTPAPIError {
        HTTPAPIError(.serviceUnavailable, code: "unavailable", message: message)
    }
}
