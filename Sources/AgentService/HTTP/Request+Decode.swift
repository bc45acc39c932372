import FleetProtocol
import Foundation
import Hummingbird
import Logging
import NIOCore

extension Request {
    /// Decodes the JSON body with the shared coder, turning every failure into a 4xx that
    /// names the field: 413 past `limit`, 400 for malformed JSON or wrong types.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let buffer = try await readBody(limit: limit)
        guard buffer.readableBytes > 0 else { throw HTTPAPIError.badRequest("request body is empty; expected JSON", code: "invalid_json") }
        let problem = JSONBodyCheck.check(buffer.readableBytesView)
        if let problem, !problem.onlyIfUndecodable {
            throw HTTPAPIError.badRequest(problem.message, code: "invalid_body")
        }
        do {
            return try FleetJSON.makeDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw HTTPAPIError.badRequest(problem?.message ?? Self.describe(error), code: "invalid_body")
        }
    }

    /// The whole body, at most `limit` bytes. A declared `Content-Length` over the limit is
    /// refused (413) before a byte is read, so a client cannot make the server wait for, or
    /// buffer, a body it will refuse; a chunked body is cut off at the limit. A body that
    /// stalls fails with the edge's ``RequestBodyStalled`` (408).
    func readBody(limit: Int) async throws -> ByteBuffer {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw HTTPAPIError.tooLarge("request body of \(declared) bytes exceeds \(limit) bytes")
        }
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw HTTPAPIError.tooLarge("request body exceeds \(limit) bytes")
        }
    }

    /// A one-line reason naming the JSON path that failed.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "body" : String(text.drop(while: { $0 == "." }))
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath + [key]))'"
        case .valueNotFound(_, let context):
            return "field '\(path(context.codingPath))' must not be null"
        case .typeMismatch(let type, let context):
            return "field '\(path(context.codingPath))' has the wrong type (expected \(Self.jsonTypeName(type)))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let underlying = context.underlyingError.map { ($0 as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\($0)" }
                let detail = (underlying ?? context.debugDescription).prefix(160)
                return detail.isEmpty ? "body is not valid JSON" : "body is not valid JSON: \(detail)"
            }
            return "field '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "body could not be decoded"
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "string"
        case is Int.Type, is Int64.Type, is Int32.Type: "integer"
        case is Bool.Type: "boolean"
        case is Double.Type: "number"
        default: type is any Collection.Type ? "array" : "object"
        }
    }

    /// The value of a query parameter parsed as an integer in `range`, or nil when absent.
    /// Given twice, or given empty, it is refused: which one was meant is a guess.
    func queryInt(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        let values = uri.queryParameters.getAll(name)
        guard let text = values.first else { return nil }
        guard values.count == 1 else { throw HTTPAPIError.badRequest("query parameter '\(name)' is given \(values.count) times") }
        guard let value = Int(text), range.contains(value) else {
            throw HTTPAPIError.badRequest("query parameter '\(name)' must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }
}

/// A JSON response from any `Encodable`, using the shared coder.
struct JSONBody<Value: Encodable & Sendable>: ResponseGenerator {
    var value: Value
    var status: HTTPResponse.Status = .ok

    init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try FleetJSON.makeEncoder().encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
